#include "gateway/bridge.hpp"
#include "gateway/routes/routes.hpp"

#include <nlohmann/json.hpp>

namespace sbx::routes {

void add_health(http::router& r, bridge& b, supervisor_actor sup,
                http::handler for_sandbox) {
  r.add("GET", "/health", [for_sandbox](http::request& req,
                                        http::responder respond) {
    if (for_sandbox && !req.header("E2b-Sandbox-Id").empty())
      return for_sandbox(req, std::move(respond));
    respond(http::response::empty(204));
  });
  r.add("GET", "/ready", [&b, sup](http::request&, http::responder respond) {
    b.request(
      sup,
      [respond](const readiness& x) {
        auto checks = nlohmann::json::object();
        std::string reasons;
        for (auto& c : x.checks) {
          checks[c.name] = c.ok ? nlohmann::json{{"ok", true}}
                                : nlohmann::json{{"ok", false},
                                                 {"message", c.message}};
          if (!c.ok)
            reasons += (reasons.empty() ? "" : "; ") + c.name + ": "
                       + c.message;
        }
        auto status = x.ready ? 200u : 503u;
        nlohmann::json body = {{"code", status},
                               {"message", x.ready ? "ready" : reasons},
                               {"checks", checks}};
        respond(http::response::json(
          status, body.dump(-1, ' ', false,
                            nlohmann::json::error_handler_t::replace)));
      },
      [respond](const caf::error& err) {
        respond(http::response::error(503, "readiness unknown: "
                                             + message_of(err)));
      },
      atom::get_v, atom::ready_v);
  });
}

} // namespace sbx::routes
