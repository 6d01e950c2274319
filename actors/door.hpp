#pragma once

#include "actors/error.hpp"
#include "actors/interfaces.hpp"

#include <caf/io/middleman_actor.hpp>

#include <chrono>
#include <deque>
#include <set>
#include <functional>
#include <string>

namespace sbx {

struct door_config {
  std::string secret;
  /// What operators prove besides the secret; empty admits no operator.
  std::string admin_token;
  /// The control's live actors.
  std::function<cluster_handles()> handles;
  /// Tells the address of a remote process (for the audit log); may be
  /// null.
  caf::io::middleman_actor middleman;
};

struct door_state {
  static inline const char* name = "door";
  door_config cfg;
  /// Nonces handed out and not used yet, oldest first (bounded).
  std::deque<std::string> nonces;
  /// The nodes' and gateways' member actors admitted, while connected.
  std::vector<caf::actor> members;
};

/// The proof a process sends to join: HMAC-SHA256(secret, nonce|role|name).
std::string join_proof(const std::string& secret, const std::string& nonce,
                       const std::string& role, const std::string& name);

/// The proof an operator adds: HMAC-SHA256(admin token, nonce|name).
std::string admin_proof(const std::string& token, const std::string& nonce,
                        const std::string& name);

// -- joining, from the other side of the door ----------------------------------

/// Connects through `middleman` to the door published at host:port; `f`
/// gets the door (monitored by `self`) or why it cannot be reached.
template <class Self, class F>
void reach_door(Self* self, const caf::io::middleman_actor& middleman,
                const std::string& host, uint16_t port, F f) {
  self
    ->request(middleman, std::chrono::seconds{5}, caf::connect_atom::value,
              host, port)
    .then(
      [self, f](const caf::node_id&, caf::strong_actor_ptr& ptr,
                const std::set<std::string>&) mutable {
        if (!ptr) {
          f(caf::expected<door_actor>{
            make_error(ec::unavailable, "nothing is published at the "
                                        "cluster port")});
          return;
        }
        auto door = caf::actor_cast<door_actor>(std::move(ptr));
        self->monitor(door);
        f(caf::expected<door_actor>{std::move(door)});
      },
      [f](caf::error& err) mutable {
        f(caf::expected<door_actor>{std::move(err)});
      });
}

/// Asks the door for a nonce, sends the join request `make(nonce)` builds,
/// and gives `f` the control's handles or the refusal.
template <class Self, class Make, class F>
void knock(Self* self, const door_actor& door, Make make, F f) {
  self->request(door, std::chrono::seconds{5}, atom::hello_v)
    .then(
      [self, door, make, f](const std::string& nonce) mutable {
        self->request(door, std::chrono::seconds{10}, atom::join_v, make(nonce))
          .then(
            [f](cluster_handles& h) mutable {
              f(caf::expected<cluster_handles>{std::move(h)});
            },
            [f](caf::error& err) mutable {
              f(caf::expected<cluster_handles>{std::move(err)});
            });
      },
      [f](caf::error& err) mutable {
        f(caf::expected<cluster_handles>{std::move(err)});
      });
}

/// Admits the processes that prove they know the cluster secret (see
/// door_actor) and hands them the control's live actors; operators, who
/// also prove the admin token, get a session with the admin actor only.
door_actor::behavior_type door(door_actor::stateful_pointer<door_state> self,
                               door_config cfg);

} // namespace sbx
