// What a team used, per day (UTC), in total, per template and per API key,
// from the usage records the nodes measured: for people with billing.read
// (GET /v1/teams/{team}/usage) and for keys with billing:read
// (GET /v1/usage).

#include "actors/error.hpp"
#include "gateway/auth.hpp"
#include "gateway/backends.hpp"
#include "gateway/bridge.hpp"
#include "gateway/routes/json_body.hpp"
#include "gateway/routes/routes.hpp"

#include <chrono>
#include <ctime>

namespace sbx::routes {

namespace {

/// The first moment of this calendar month (UTC), in Unix ms.
int64_t month_start_ms() {
  auto now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

json totals(const usage_day& d) {
  auto hours = [](uint64_t ms) { return ms / 3'600'000.0; };
  return {{"sandboxHours", hours(d.sandbox_ms)},
          {"vcpuHours", hours(d.vcpu_ms)},
          {"memoryGibHours", hours(d.memory_mib_ms) / 1024},
          {"diskGibHours", hours(d.disk_mib_ms) / 1024},
          {"cpuSeconds", d.cpu_usec / 1e6}};
}

/// Answers the usage of `team` between the query's from and to (this month
/// by default).
void usage_of(api_context& ctx, const http::request& req,
              const http::responder& respond, const std::string& team_id,
              const std::string& slug) {
  int64_t from = month_start_ms();
  int64_t to = now_ms() + 1;
  if (!time_param(req, "from", from, respond)
      || !time_param(req, "to", to, respond))
    return;
  if (to <= from)
    return respond(
      http::response::error(400, "'to' must come after 'from'"));
  if (to - from > int64_t{400} * 86'400'000)
    return respond(
      http::response::error(400, "ask for at most 400 days at a time"));
  ctx.bridge.request(
    ctx.backends.database(),
    [respond, slug, from, to](const std::vector<usage_day>& rows) {
      json days = json::array();
      for (auto& r : rows) {
        if (days.empty() || days.back()["date"] != r.date)
          days.push_back({{"date", r.date},
                          {"byTemplate", json::object()},
                          {"byKey", json::object()}});
        auto& day = days.back();
        if (r.template_id == "*" && r.api_key_id == "*")
          day.update(totals(r));
        else if (r.api_key_id == "*")
          day["byTemplate"][r.template_id] = totals(r);
        else
          day["byKey"][r.api_key_id.empty() ? "none" : r.api_key_id]
            = totals(r);
      }
      respond(json_reply(200, {{"team", slug},
                               {"from", rfc3339(from)},
                               {"to", rfc3339(to)},
                               {"days", days}}));
    },
    error_reply(respond), atom::list_v, atom::usage_v, team_id, from, to);
}

void team_usage(api_context& ctx, http::request& req, http::responder respond) {
  with_team(ctx, req, respond, auth::permission::billing_read,
            [&ctx, req, respond](const user_context&, const team_info& t,
                                 const std::string&) {
              usage_of(ctx, req, respond, t.id, t.slug);
            });
}

void key_usage(api_context& ctx, http::request& req, http::responder respond) {
  ctx.auth.check(req, respond, [&ctx, req, respond](const api_key_info& key) {
    usage_of(ctx, req, respond, key.team_id, key.team_slug);
  });
}

} // namespace

void add_usage(http::router& r, api_context& ctx) {
  r.add("GET", "/v1/teams/{team}/usage", with_context(ctx, team_usage));
  r.add("GET", "/v1/usage", with_context(ctx, key_usage));
}

} // namespace sbx::routes
