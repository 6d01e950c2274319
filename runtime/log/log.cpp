#include "runtime/log/log.hpp"

#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <mutex>

namespace sbx::log {

namespace {

/// Writes {"ts":…,"level":…,"component":…,"msg":…} per event.
class json_formatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto t = system_clock::to_time_t(msg.time);
    auto ms = duration_cast<milliseconds>(msg.time.time_since_epoch()) % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[40];
    auto n = std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(ts + n, sizeof(ts) - n, ".%03dZ", static_cast<int>(ms.count()));
    append(dest, "{\"ts\":\"");
    append(dest, ts);
    append(dest, "\",\"level\":\"");
    auto lvl = spdlog::level::to_string_view(msg.level);
    dest.append(lvl.data(), lvl.data() + lvl.size());
    append(dest, "\",\"component\":");
    escaped(dest, msg.logger_name);
    append(dest, ",\"msg\":");
    escaped(dest, msg.payload);
    append(dest, "}\n");
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }

private:
  static void append(spdlog::memory_buf_t& dest, const char* x) {
    dest.append(x, x + std::strlen(x));
  }

  static void escaped(spdlog::memory_buf_t& dest, spdlog::string_view_t x) {
    dest.push_back('"');
    for (unsigned char c : x) {
      switch (c) {
        case '"':
          append(dest, "\\\"");
          break;
        case '\\':
          append(dest, "\\\\");
          break;
        case '\n':
          append(dest, "\\n");
          break;
        case '\r':
          append(dest, "\\r");
          break;
        case '\t':
          append(dest, "\\t");
          break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", c);
            append(dest, buf);
          } else {
            dest.push_back(static_cast<char>(c));
          }
      }
    }
    dest.push_back('"');
  }
};

struct registry {
  std::mutex mtx;
  std::shared_ptr<spdlog::sinks::stderr_sink_mt> sink
    = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  spdlog::level::level_enum level = spdlog::level::info;
  bool json = false;

  void style(spdlog::logger& lg) {
    if (json)
      lg.set_formatter(std::make_unique<json_formatter>());
    else
      lg.set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%-9n %Y-%m-%dT%H:%M:%S.%eZ %-5l %v",
        spdlog::pattern_time_type::utc));
  }
};

registry& reg() {
  static registry instance;
  return instance;
}

} // namespace

void init(const std::string& level, const std::string& format) {
  auto& r = reg();
  std::lock_guard<std::mutex> guard{r.mtx};
  r.level = spdlog::level::from_str(level);
  r.json = format == "json";
  spdlog::apply_all([&](std::shared_ptr<spdlog::logger> lg) {
    lg->set_level(r.level);
    r.style(*lg);
  });
}

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  auto& r = reg();
  std::lock_guard<std::mutex> guard{r.mtx};
  if (auto lg = spdlog::get(component))
    return lg;
  auto lg = std::make_shared<spdlog::logger>(component, r.sink);
  lg->set_level(r.level);
  lg->flush_on(spdlog::level::trace);
  r.style(*lg);
  spdlog::register_logger(lg);
  return lg;
}

bool set_level(const std::string& component, const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    return false;
  if (component == "all") {
    auto& r = reg();
    std::lock_guard<std::mutex> guard{r.mtx};
    r.level = lvl;
    spdlog::apply_all(
      [&](std::shared_ptr<spdlog::logger> lg) { lg->set_level(lvl); });
    return true;
  }
  get(component)->set_level(lvl);
  return true;
}

} // namespace sbx::log
