// Billing for teams. Invoices: a month's usage per sandbox, priced at the
// team's plan, in integer micro-units; final once the month is over, a
// draft before. JSON, or CSV with ?format=csv (or Accept: text/csv). For
// people with billing.read (/v1/teams/{team}/invoices) and keys with
// billing:read (/v1/invoices). Credits are granted by operators only.

#include "actors/error.hpp"
#include "gateway/auth.hpp"
#include "gateway/backends.hpp"
#include "gateway/bridge.hpp"
#include "gateway/routes/json_body.hpp"
#include "gateway/routes/routes.hpp"
#include "runtime/billing/money.hpp"

#include <regex>
#include <sstream>

namespace sbx::routes {

namespace {

json summary(const invoice& x) {
  return {{"month", x.month},
          {"status", x.status},
          {"totalMicros", x.total_micros},
          {"total", money::format(x.total_micros)}};
}

json full(const invoice& x, const std::string& slug) {
  auto j = summary(x);
  j["team"] = slug;
  j["prices"] = {{"vcpuHourMicros", x.prices.vcpu_hour},
                 {"memoryGibHourMicros", x.prices.memory_gib_hour},
                 {"diskGibMonthMicros", x.prices.disk_gib_month}};
  j["lines"] = json::array();
  for (auto& l : x.lines)
    j["lines"].push_back({{"sandboxId", l.sandbox_id},
                          {"template", l.template_id},
                          {"sandboxMs", l.sandbox_ms},
                          {"vcpuMs", l.vcpu_ms},
                          {"memoryMibMs", l.memory_mib_ms},
                          {"diskMibMs", l.disk_mib_ms},
                          {"vcpuMicros", l.vcpu_micros},
                          {"memoryMicros", l.memory_micros},
                          {"diskMicros", l.disk_micros},
                          {"amountMicros", l.amount_micros}});
  return j;
}

/// Integers only: a spreadsheet adds them up to the total exactly.
std::string csv(const invoice& x, const std::string& slug) {
  std::ostringstream out;
  out << "team,month,status,sandbox_id,template,sandbox_ms,vcpu_ms,"
         "memory_mib_ms,disk_mib_ms,vcpu_micros,memory_micros,disk_micros,"
         "amount_micros\r\n";
  for (auto& l : x.lines)
    out << slug << ',' << x.month << ',' << x.status << ',' << l.sandbox_id
        << ',' << l.template_id << ',' << l.sandbox_ms << ',' << l.vcpu_ms
        << ',' << l.memory_mib_ms << ',' << l.disk_mib_ms << ','
        << l.vcpu_micros << ',' << l.memory_micros << ',' << l.disk_micros
        << ',' << l.amount_micros << "\r\n";
  out << slug << ',' << x.month << ',' << x.status << ",TOTAL,,,,,,,,,"
      << x.total_micros << "\r\n";
  return out.str();
}

void list_of(api_context& ctx, const http::responder& respond,
             const std::string& team_id) {
  ctx.bridge.request(
    ctx.backends.billing(),
    [respond](const std::vector<invoice>& xs) {
      auto out = json::array();
      for (auto& x : xs)
        out.push_back(summary(x));
      respond(json_reply(200, out));
    },
    error_reply(respond), atom::list_v, atom::invoices_v, team_id);
}

void one_of(api_context& ctx, const http::request& req,
            const http::responder& respond, const std::string& team_id,
            const std::string& slug) {
  static const std::regex month_re{"[0-9]{4}-(0[1-9]|1[0-2])"};
  auto month = req.params.at("month");
  if (!std::regex_match(month, month_re))
    return respond(http::response::error(
      400, "an invoice is named by its month, as 2026-12"));
  auto want_csv = req.query_param("format").value_or("") == "csv"
                  || req.header("Accept").find("text/csv") != std::string::npos;
  ctx.bridge.request(
    ctx.backends.billing(),
    [respond, slug, want_csv](const invoice& x) {
      if (want_csv) {
        auto r = http::response::text(200, csv(x, slug),
                                      "text/csv; charset=utf-8");
        r.headers.emplace_back("Content-Disposition",
                               "attachment; filename=\"invoice-" + slug + "-"
                                 + x.month + ".csv\"");
        respond(std::move(r));
      } else {
        respond(json_reply(200, full(x, slug)));
      }
    },
    error_reply(respond), atom::get_v, atom::invoice_v, team_id, month);
}

void team_list(api_context& ctx, http::request& req, http::responder respond) {
  with_team(ctx, req, respond, auth::permission::billing_read,
            [&ctx, respond](const user_context&, const team_info& t,
                            const std::string&) {
              list_of(ctx, respond, t.id);
            });
}

void team_one(api_context& ctx, http::request& req, http::responder respond) {
  with_team(ctx, req, respond, auth::permission::billing_read,
            [&ctx, req, respond](const user_context&, const team_info& t,
                                 const std::string&) {
              one_of(ctx, req, respond, t.id, t.slug);
            });
}

void key_list(api_context& ctx, http::request& req, http::responder respond) {
  ctx.auth.check(req, respond, [&ctx, respond](const api_key_info& key) {
    list_of(ctx, respond, key.team_id);
  });
}

void key_one(api_context& ctx, http::request& req, http::responder respond) {
  ctx.auth.check(req, respond, [&ctx, req, respond](const api_key_info& key) {
    one_of(ctx, req, respond, key.team_id, key.team_slug);
  });
}

/// No role of a team may grant it money: that is the operators' (the admin
/// shell's `credit`), so a member learns where to ask, and nothing changes.
void team_credit(api_context& ctx, http::request& req,
                 http::responder respond) {
  with_team(ctx, req, respond, auth::permission::read,
            [respond](const user_context&, const team_info&,
                      const std::string&) {
              respond(http::response::error(
                403, "credits are granted by the operators of this sandhive "
                     "(sandhive admin: credit TEAM AMOUNT), not by the "
                     "team's members"));
            });
}

} // namespace

void add_billing(http::router& r, api_context& ctx) {
  r.add("GET", "/v1/teams/{team}/invoices", with_context(ctx, team_list));
  r.add("GET", "/v1/teams/{team}/invoices/{month}", with_context(ctx, team_one));
  r.add("POST", "/v1/teams/{team}/credits", with_context(ctx, team_credit));
  r.add("GET", "/v1/invoices", with_context(ctx, key_list));
  r.add("GET", "/v1/invoices/{month}", with_context(ctx, key_one));
}

} // namespace sbx::routes
