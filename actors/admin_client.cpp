#include "actors/admin_client.hpp"

#include "actors/door.hpp"
#include "actors/error.hpp"

#include <caf/send.hpp>

namespace sbx {

namespace {

using namespace std::chrono_literals;
using self_ptr = admin_client_actor::stateful_pointer<admin_client_state>;

std::string control_of(self_ptr self) {
  return self->state.cfg.host + ":" + std::to_string(self->state.cfg.port);
}

void joined(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  st.joining = false;
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  for (auto& f : waiting)
    f(err);
}

void fail_join(self_ptr self, const caf::error& err) {
  // A refusal says why itself; anything else is about reaching the control.
  if (err == ec::permission_denied)
    joined(self, err);
  else
    joined(self, make_error(ec::unavailable, "cannot reach the control at "
                                               + control_of(self) + ": "
                                               + message_of(err)));
}

/// Proves the cluster secret and the admin token to the door.
void enter(self_ptr self) {
  knock(
    self, self->state.door,
    [self](const std::string& nonce) {
      auto& c = self->state.cfg;
      return join_request{"admin", c.name, nonce,
                          join_proof(c.secret, nonce, "admin", c.name),
                          admin_proof(c.admin_token, nonce, c.name)};
    },
    [self](caf::expected<cluster_handles> h) {
      if (!h) {
        fail_join(self, h.error());
        return;
      }
      auto& st = self->state;
      st.admin = std::move(h->admin);
      st.session = std::move(h->session);
      if (!st.admin) {
        fail_join(self, make_error(ec::unavailable,
                                   "the control sent no admin actor"));
        return;
      }
      self->monitor(st.admin);
      joined(self, caf::none);
    });
}

/// Runs `f` once joined (at once when already), or with why joining failed.
void with_control(self_ptr self, std::function<void(const caf::error&)> f) {
  auto& st = self->state;
  if (st.admin && !st.session.empty()) {
    f(caf::none);
    return;
  }
  st.waiting.push_back(std::move(f));
  if (st.joining)
    return;
  st.joining = true;
  if (st.door) {
    enter(self);
    return;
  }
  reach_door(self, st.cfg.middleman, st.cfg.host, st.cfg.port,
             [self](caf::expected<door_actor> door) {
               if (!door) {
                 fail_join(self, door.error());
                 return;
               }
               self->state.door = std::move(*door);
               enter(self);
             });
}

void lost(self_ptr self, const std::string& why) {
  auto& st = self->state;
  st.admin = nullptr;
  st.session.clear();
  auto err = make_error(ec::unavailable, "lost the control at "
                                           + control_of(self) + " (" + why
                                           + "); the next command joins "
                                             "again");
  for (auto& [id, rp] : st.in_flight)
    rp.deliver(err);
  st.in_flight.clear();
  for (auto& sink : st.sinks)
    caf::anon_send(sink, atom::lost_v, message_of(err));
  st.sinks.clear();
}

void send(self_ptr self, std::vector<std::string> words,
          caf::typed_response_promise<std::string> rp, bool again) {
  auto& st = self->state;
  auto id = ++st.next_id;
  st.in_flight.emplace(id, rp);
  self->request(st.admin, st.cfg.timeout, atom::run_v,
                admin_command{st.session, words})
    .then(
      [self, id](std::string& result) {
        auto i = self->state.in_flight.find(id);
        if (i == self->state.in_flight.end())
          return; // failed already: the control went away meanwhile
        i->second.deliver(std::move(result));
        self->state.in_flight.erase(i);
      },
      [self, id, words, again](caf::error& err) {
        auto& st = self->state;
        auto i = st.in_flight.find(id);
        if (i == st.in_flight.end())
          return;
        auto rp = i->second;
        st.in_flight.erase(i);
        // The control restarted and forgot the session: join again, once.
        if (err == ec::unauthenticated && !again) {
          st.admin = nullptr;
          st.session.clear();
          with_control(self, [self, rp, words](const caf::error& err) mutable {
            if (err)
              rp.deliver(err);
            else
              send(self, words, rp, true);
          });
          return;
        }
        if (err == caf::sec::request_timeout)
          err = make_error(ec::timeout, "the control did not answer within "
                                          + std::to_string(
                                            st.cfg.timeout.count() / 1000)
                                          + " s");
        rp.deliver(std::move(err));
      });
}

} // namespace

admin_client_actor::behavior_type
admin_client(admin_client_actor::stateful_pointer<admin_client_state> self,
             admin_client_config cfg) {
  self->state.cfg = std::move(cfg);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.door && msg.source == st.door.address()) {
      st.door = nullptr;
      lost(self, "its connection closed");
    } else if (st.admin && msg.source == st.admin.address()) {
      lost(self, "its admin actor stopped");
    }
  });
  return {
    [self](atom::run,
           std::vector<std::string>& words) -> caf::result<std::string> {
      auto rp = self->make_response_promise<std::string>();
      with_control(self, [self, rp,
                          words = std::move(words)](const caf::error& err) mutable {
        if (err)
          rp.deliver(err);
        else
          send(self, std::move(words), rp, false);
      });
      return rp;
    },
    [self](atom::subscribe, caf::actor& sink) -> caf::result<atom::ok_atom> {
      auto rp = self->make_response_promise<atom::ok_atom>();
      with_control(self, [self, rp, sink](const caf::error& err) mutable {
        if (err) {
          rp.deliver(err);
          return;
        }
        self->request(self->state.admin, 10s, atom::subscribe_v,
                      self->state.session, sink)
          .then(
            [self, rp, sink](atom::ok_atom) mutable {
              self->state.sinks.push_back(sink);
              rp.deliver(atom::ok_v);
            },
            [rp](caf::error& err) mutable { rp.deliver(err); });
      });
      return rp;
    },
  };
}

} // namespace sbx
