#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <string>

/// Logging: one line per event on stderr, the component name first, as text
/// or JSON. Every component (actor, server, embedded service) has its own
/// named logger sharing one sink.
namespace sbx::log {

/// Sets the threshold (trace … off) and format (text or json) of every logger,
/// present and future.
void init(const std::string& level, const std::string& format);

/// Returns the logger of `component`, creating it on first use.
std::shared_ptr<spdlog::logger> get(const std::string& component);

/// Changes the threshold of one component ("all": every one, and the
/// default for new ones) at runtime; false if `level` is not a level name.
bool set_level(const std::string& component, const std::string& level);

} // namespace sbx::log
