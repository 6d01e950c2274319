#include "cmd/admin_render.hpp"

#include "runtime/billing/money.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <sstream>
#include <vector>

namespace sbx::ops {

namespace {

using row = std::vector<std::string>;

/// Columns padded to their widest cell, two spaces apart.
std::string table(const row& header, const std::vector<row>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i)
    width[i] = header[i].size();
  for (auto& r : rows)
    for (size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  std::ostringstream out;
  auto line = [&](const row& r) {
    std::string text;
    for (size_t i = 0; i < r.size(); ++i) {
      text += r[i];
      if (i + 1 < r.size())
        text += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out << text << "\n";
  };
  line(header);
  for (auto& r : rows)
    line(r);
  return out.str();
}

std::string str(const json& x) {
  if (x.is_string())
    return x.get<std::string>();
  if (x.is_null())
    return "-";
  if (x.is_number_float()) {
    std::ostringstream out;
    out.precision(x.get<double>() < 10 ? 2 : 1);
    out << std::fixed << x.get<double>();
    return out.str();
  }
  return x.dump();
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// "used/capacity".
std::string of(const json& used, const json& cap) {
  return str(used) + "/" + str(cap);
}

/// {"base": 2} with targets {"base": 2} as "base 2/2".
std::string pools(const json& ready, const json& target) {
  std::string out;
  auto add = [&](const std::string& tpl) {
    out += (out.empty() ? "" : ", ") + tpl + " " + str(ready.value(tpl, 0))
           + "/" + str(target.value(tpl, 0));
  };
  for (auto& [tpl, n] : target.items())
    add(tpl);
  for (auto& [tpl, n] : ready.items())
    if (!target.contains(tpl))
      add(tpl);
  return out.empty() ? "-" : out;
}

std::string clock_time(int64_t ms) {
  auto t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
  return buf;
}

std::string warning_of(const json& x) {
  if (x.is_object() && x.contains("warning"))
    return "warning: " + str(x["warning"]) + "\n";
  return "";
}

std::string nodes(const json& xs) {
  std::vector<row> rows;
  for (auto& n : xs) {
    auto age = n.value("heartbeat_age_ms", int64_t{-1});
    rows.push_back({str(n["name"]), str(n["state"]), str(n["address"]),
                    of(n["vcpu_used"], n["vcpu_capacity"]),
                    of(n["memory_used_mb"], n["memory_capacity_mb"]),
                    of(n["sandboxes"], n["max_sandboxes"]),
                    pools(n["warm"], n["pool_size"]),
                    age < 0 ? "-" : ago(age) + " ago"});
  }
  return table({"NAME", "STATE", "ADDRESS", "VCPU", "MEMORY_MB", "SANDBOXES",
                "WARM", "HEARTBEAT"},
               rows);
}

std::string sandboxes(const json& xs) {
  std::vector<row> rows;
  auto now = now_ms();
  for (auto& x : xs) {
    auto end = x.value("end_at_ms", int64_t{0});
    rows.push_back({str(x["id"]), str(x["team"]), str(x["template"]),
                    str(x["node"]), str(x["state"]), str(x["vcpu"]),
                    str(x["memory_mb"]),
                    ago(now - x.value("started_at_ms", now)),
                    end > now ? "in " + ago(end - now) : "-"});
  }
  return table({"ID", "TEAM", "TEMPLATE", "NODE", "STATE", "VCPU",
                "MEMORY_MB", "AGE", "TIMEOUT"},
               rows)
         + std::to_string(xs.size()) + " sandbox(es)\n";
}

std::string fields(const json& x, const std::string& indent = "") {
  std::ostringstream out;
  for (auto& [k, v] : x.items()) {
    if (v.is_object()) {
      if (v.empty()) {
        out << indent << k << ": -\n";
        continue;
      }
      out << indent << k << ":\n" << fields(v, indent + "  ");
    } else if (v.is_array() && !v.empty() && v.front().is_object()) {
      continue; // tables, shown after the fields
    } else {
      out << indent << k << ": " << str(v) << "\n";
    }
  }
  return out.str();
}

std::string sandbox(const json& x) {
  auto copy = x;
  copy.erase("processes");
  auto out = fields(copy);
  auto procs = x.value("processes", json::array());
  if (procs.is_object() && procs.contains("error"))
    return out + "processes: " + str(procs["error"]) + "\n";
  std::vector<row> rows;
  for (auto& p : procs) {
    std::string cmd = str(p["cmd"]);
    for (auto& a : p.value("args", json::array()))
      cmd += " " + str(a);
    rows.push_back({str(p["pid"]), p.value("tag", ""), cmd});
  }
  return out + "\nprocesses:\n" + table({"PID", "TAG", "COMMAND"}, rows);
}

std::string teams(const json& xs) {
  std::vector<row> rows;
  for (auto& t : xs)
    rows.push_back({str(t["slug"]), str(t["plan"]),
                    of(t["sandboxes"], t["max_sandboxes"]), str(t["vcpu"]),
                    str(t["memory_mb"]),
                    money(t.value("balance_micros", int64_t{0})),
                    str(t["name"])});
  return table({"TEAM", "PLAN", "SANDBOXES", "VCPU", "MEMORY_MB", "BALANCE",
                "NAME"},
               rows);
}

std::string team(const json& t) {
  auto copy = t;
  if (copy.contains("balance_micros")) {
    copy["balance"] = money(copy["balance_micros"].get<int64_t>());
    copy.erase("balance_micros");
  }
  if (copy.contains("created_at_ms")) {
    copy.erase("created_at_ms");
  }
  return fields(copy) + warning_of(t);
}

std::string pools_table(const json& xs) {
  std::vector<row> rows;
  for (auto& p : xs)
    rows.push_back({str(p["node"]), str(p["template"]), str(p["ready"]),
                    str(p["target"]), str(p["state"])});
  return table({"NODE", "TEMPLATE", "READY", "TARGET", "STATE"}, rows);
}

std::string pool_set(const json& xs) {
  std::ostringstream out;
  for (auto& p : xs) {
    if (p.contains("error"))
      out << str(p["node"]) << ": " << str(p["error"]) << "\n";
    else
      out << str(p["node"]) << ": " << str(p["template"]) << " pool keeps "
          << str(p["target"]) << " warm\n";
  }
  return out.str();
}

} // namespace

std::string money(int64_t micros) {
  return sbx::money::format(micros);
}

std::string ago(int64_t ms) {
  if (ms < 0)
    ms = 0;
  if (ms < 1000)
    return std::to_string(ms) + "ms";
  auto s = ms / 1000;
  if (s < 60)
    return std::to_string(s) + "s";
  if (s < 3600)
    return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  if (s < 86400)
    return std::to_string(s / 3600) + "h" + std::to_string(s / 60 % 60) + "m";
  return std::to_string(s / 86400) + "d" + std::to_string(s / 3600 % 24) + "h";
}

std::string render(const std::string& command, const json& x) {
  if (command == "nodes")
    return nodes(x);
  if (command == "sandboxes")
    return sandboxes(x);
  if (command == "sandbox")
    return sandbox(x);
  if (command == "teams")
    return teams(x);
  if (command == "team" || command == "quota set")
    return team(x);
  if (command == "pools")
    return pools_table(x);
  if (command == "pool set")
    return pool_set(x) + warning_of(x);
  if (command == "credit")
    return "credited " + money(x.value("credited_micros", int64_t{0}))
           + " to " + str(x["team"]) + "; balance "
           + money(x.value("balance_micros", int64_t{0}))
           + (x.value("frozen", false) ? " (still used up)" : "") + "\n"
           + warning_of(x);
  if (command == "kill")
    return "killed " + str(x["killed"]) + "\n" + warning_of(x);
  if (command == "node cordon" || command == "node uncordon")
    return "node " + str(x["node"]) + ": " + str(x["state"]) + "\n"
           + warning_of(x);
  if (command == "node drain")
    return "node " + str(x["node"]) + ": draining; what still runs at "
           + clock_time(x.value("deadline_ms", int64_t{0}))
           + " is killed\n" + warning_of(x);
  if (command == "log-level") {
    auto out = "log level of " + str(x["component"]) + " set to "
               + str(x["level"]) + " in " + str(x["processes"])
               + " process(es)\n";
    if (x.contains("failures"))
      for (auto& f : x["failures"])
        out += "  not changed: " + str(f) + "\n";
    return out + warning_of(x);
  }
  if (x.is_object())
    return fields(x);
  return x.dump(2) + "\n";
}

std::string render_top(const json& now, const json& before) {
  std::ostringstream out;
  double rate = 0;
  if (!before.is_null()) {
    auto dt = (now.value("at_ms", int64_t{0}) - before.value("at_ms", int64_t{0}))
              / 1000.0;
    if (dt > 0)
      rate = (now.value("creates_total", 0.0)
              - before.value("creates_total", 0.0))
             / dt;
  }
  auto& s = now["sandboxes"];
  out << "sandhive top  " << clock_time(now.value("at_ms", int64_t{0}))
      << "  (q to quit)\n\n"
      << "nodes      " << str(now["nodes"]["ready"]) << " ready of "
      << str(now["nodes"]["total"]) << "\n"
      << "sandboxes  " << s.value("running", 0) << " running, "
      << s.value("paused", 0) << " paused, " << s.value("starting", 0)
      << " starting\n"
      << "vcpu       " << of(now["vcpu"]["used"], now["vcpu"]["capacity"])
      << "\n"
      << "memory_mb  "
      << of(now["memory_mb"]["used"], now["memory_mb"]["capacity"]) << "\n";
  std::ostringstream rate_text;
  rate_text.precision(1);
  rate_text << std::fixed << rate;
  out << "creates/s  " << (before.is_null() ? "…" : rate_text.str())
      << "   (total " << str(now["creates_total"]) << ", failed "
      << str(now["create_failures_total"]) << ", over quota "
      << str(now["quota_rejections_total"]) << ")\n\n";
  std::vector<row> rows;
  for (auto& n : now["busiest_nodes"])
    rows.push_back({str(n["name"]), str(n["state"]), str(n["sandboxes"]),
                    str(n["vcpu_used"]), str(n["memory_used_mb"])});
  out << table({"NODE", "STATE", "SANDBOXES", "VCPU", "MEMORY_MB"}, rows)
      << "\n";
  rows.clear();
  for (auto& t : now["busiest_teams"])
    rows.push_back({str(t["team"]), str(t["sandboxes"]), str(t["vcpu"])});
  out << table({"TEAM", "SANDBOXES", "VCPU"}, rows);
  return out.str();
}

std::string render_event(const json& e) {
  auto line = clock_time(e.value("at_ms", int64_t{0})) + "  "
              + str(e["id"]) + "  " + str(e["state"]);
  auto reason = e.value("reason", "");
  if (!reason.empty() && reason != e.value("state", ""))
    line += " (" + reason + ")";
  return line + "  team " + str(e["team"]) + "  node " + str(e["node"])
         + "  template " + str(e["template"]) + "\n";
}

} // namespace sbx::ops
