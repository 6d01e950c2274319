#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

/// How `sandhive admin` shows what the control answered (the JSON of
/// actors/admin.cpp) to a person: tables and key/value lines. `--json`
/// prints the JSON itself instead. No actors here.
namespace sbx::ops {

using json = nlohmann::ordered_json;

/// The text for the result of `command` (its spec name: "nodes",
/// "node drain", …).
std::string render(const std::string& command, const json& result);

/// One frame of `top`: `before` is the previous frame (null for the first),
/// so that creates per second can be computed.
std::string render_top(const json& now, const json& before);

/// One lifecycle event as a line: time, sandbox, state, team, node.
std::string render_event(const json& event);

/// 12345678 micro-units as "12.345678".
std::string money(int64_t micros);

/// A duration in milliseconds as "850ms", "12s", "5m3s", "2h4m", "3d1h".
std::string ago(int64_t ms);

} // namespace sbx::ops
