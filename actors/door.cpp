#include "actors/door.hpp"

#include "actors/error.hpp"
#include "runtime/auth/api_key.hpp"
#include "runtime/log/log.hpp"

#include <caf/node_id.hpp>

#include <algorithm>

#include <arpa/inet.h>

namespace sbx {

std::string join_proof(const std::string& secret, const std::string& nonce,
                       const std::string& role, const std::string& name) {
  return auth::hmac_sha256_hex(secret, nonce + "|" + role + "|" + name);
}

std::string admin_proof(const std::string& token, const std::string& nonce,
                        const std::string& name) {
  return auth::hmac_sha256_hex(token, nonce + "|" + name);
}

namespace {

using self_ptr = door_actor::stateful_pointer<door_state>;

/// `host` when it is an IP address (the audit log stores inet), else "".
std::string ip_or_empty(const std::string& host) {
  unsigned char buf[16];
  if (::inet_pton(AF_INET, host.c_str(), buf) == 1
      || ::inet_pton(AF_INET6, host.c_str(), buf) == 1)
    return host;
  return "";
}

/// Opens an admin session for an operator at `address`.
void open_session(self_ptr self,
                  caf::typed_response_promise<cluster_handles> rp,
                  const std::string& name, const std::string& address) {
  auto h = self->state.cfg.handles();
  if (!h.admin) {
    rp.deliver(make_error(ec::unavailable, "the admin actor is not running"));
    return;
  }
  self->request(h.admin, std::chrono::seconds{5}, atom::open_v, name, address)
    .then(
      [rp, admin = h.admin](std::string& session) mutable {
        cluster_handles out;
        out.admin = admin;
        out.session = std::move(session);
        rp.deliver(std::move(out));
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

} // namespace

door_actor::behavior_type door(door_actor::stateful_pointer<door_state> self,
                               door_config cfg) {
  self->state.cfg = std::move(cfg);
  auto lg = log::get("door");
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& ms = self->state.members;
    ms.erase(std::remove_if(ms.begin(), ms.end(),
                            [&](const caf::actor& a) {
                              return a.address() == msg.source;
                            }),
             ms.end());
  });
  return {
    [self](atom::hello) -> caf::result<std::string> {
      auto& nonces = self->state.nonces;
      // Enough for many joins at once; a flood only evicts old nonces.
      if (nonces.size() >= 4096)
        nonces.pop_front();
      nonces.push_back(auth::random_hex(16));
      return nonces.back();
    },
    [self, lg](atom::join,
               const join_request& req) -> caf::result<cluster_handles> {
      auto& st = self->state;
      auto sender = self->current_sender();
      auto remote = sender && sender->node() != self->system().node();
      auto from = !sender  ? std::string{"?"}
                  : remote ? caf::to_string(sender->node())
                           : std::string{"this process"};
      auto refuse = [&](const std::string& why) {
        lg->warn("refused {} '{}' (from {}): {}", req.role, req.name,
                 from, why);
        return make_error(ec::permission_denied, "refused: " + why);
      };
      if (req.role != "node" && req.role != "gateway" && req.role != "admin")
        return refuse("unknown role '" + req.role + "'");
      auto n = std::find(st.nonces.begin(), st.nonces.end(), req.nonce);
      if (n == st.nonces.end())
        return refuse("unknown or used nonce");
      st.nonces.erase(n);
      if (!auth::equal_constant_time(req.proof, join_proof(st.cfg.secret,
                                                           req.nonce, req.role,
                                                           req.name)))
        return refuse("wrong cluster secret");
      if (req.role != "admin") {
        lg->info("admitted {} '{}' (from {})", req.role, req.name, from);
        if (sender) {
          auto member = caf::actor_cast<caf::actor>(sender);
          self->monitor(member);
          st.members.push_back(std::move(member));
        }
        return st.cfg.handles();
      }
      if (st.cfg.admin_token.empty())
        return refuse("operators are not admitted (no admin token is set)");
      if (!auth::equal_constant_time(req.token_proof,
                                     admin_proof(st.cfg.admin_token, req.nonce,
                                                 req.name)))
        return refuse("wrong admin token");
      auto rp = self->make_response_promise<cluster_handles>();
      if (!remote || !st.cfg.middleman) {
        lg->info("admitted operator '{}' (from {})", req.name, from);
        open_session(self, rp, req.name, remote ? "" : "127.0.0.1");
        return rp;
      }
      // The operator's host, for the audit log.
      self->request(st.cfg.middleman, std::chrono::seconds{2}, caf::get_atom::value,
                    sender->node())
        .then(
          [self, rp, lg, name = req.name](const caf::node_id&,
                                          const std::string& host,
                                          uint16_t) mutable {
            lg->info("admitted operator '{}' (from {})", name, host);
            open_session(self, rp, name, ip_or_empty(host));
          },
          [self, rp, lg, name = req.name, from](caf::error&) mutable {
            lg->info("admitted operator '{}' (from {})", name, from);
            open_session(self, rp, name, "");
          });
      return rp;
    },
    [self](atom::list, atom::members) -> caf::result<std::vector<caf::actor>> {
      return self->state.members;
    },
  };
}

} // namespace sbx
