#include "actors/door.hpp"

#include "actors/error.hpp"
#include "runtime/auth/api_key.hpp"
#include "runtime/log/log.hpp"

#include <caf/node_id.hpp>

#include <algorithm>

namespace sbx {

std::string join_proof(const std::string& secret, const std::string& nonce,
                       const std::string& role, const std::string& name) {
  return auth::hmac_sha256_hex(secret, nonce + "|" + role + "|" + name);
}

door_actor::behavior_type door(door_actor::stateful_pointer<door_state> self,
                               std::string secret,
                               std::function<cluster_handles()> handles) {
  self->state.secret = std::move(secret);
  self->state.handles = std::move(handles);
  auto lg = log::get("door");
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
      auto& sender = self->current_sender();
      auto from = !sender ? std::string{"?"}
                  : sender->node() == self->system().node()
                    ? std::string{"this process"}
                    : caf::to_string(sender->node());
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
      if (!auth::equal_constant_time(
            req.proof, join_proof(st.secret, req.nonce, req.role, req.name)))
        return refuse("wrong cluster secret");
      lg->info("admitted {} '{}' (from {})", req.role, req.name, from);
      return st.handles();
    },
  };
}

} // namespace sbx
