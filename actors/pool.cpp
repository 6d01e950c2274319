#include "actors/pool.hpp"

#include "actors/error.hpp"
#include "runtime/log/log.hpp"

#include <caf/send.hpp>

namespace sbx {

using namespace std::chrono_literals;

namespace {

constexpr auto refill_delay = 50ms;

} // namespace

pool_actor::behavior_type pool(pool_actor::stateful_pointer<pool_state> self,
                               std::string template_id, node_actor node,
                               unsigned size) {
  auto& st = self->state;
  st.template_id = std::move(template_id);
  st.node = std::move(node);
  st.target = size;
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& ready = self->state.ready;
    auto before = ready.size();
    ready.erase(std::remove_if(ready.begin(), ready.end(),
                               [&](const sandbox_actor& s) {
                                 return s.address() == msg.source;
                               }),
                ready.end());
    if (ready.size() != before)
      self->send(self, atom::refill_v);
  });
  self->send(self, atom::refill_v);
  return {
    [self](atom::claim) -> sandbox_actor {
      auto& st = self->state;
      // Refill a moment later: starting a sandbox is CPU-heavy, and the
      // client that just claimed one is about to use it.
      self->delayed_send(self, refill_delay, atom::refill_v);
      if (st.ready.empty()) {
        ++st.misses;
        return {};
      }
      ++st.hits;
      auto sb = std::move(st.ready.front());
      st.ready.pop_front();
      self->demonitor(sb.address());
      return sb;
    },
    [self](atom::size, unsigned n) {
      auto& st = self->state;
      st.target = n;
      // Shrinking kills the surplus, newest first.
      while (st.ready.size() > n) {
        auto sb = std::move(st.ready.back());
        st.ready.pop_back();
        self->demonitor(sb.address());
        caf::anon_send(sb, atom::kill_v, std::string{"pool shrunk"});
      }
      self->send(self, atom::refill_v);
      return atom::ok_v;
    },
    [self](atom::get_atom) {
      return static_cast<unsigned>(self->state.ready.size());
    },
    [self](atom::refill) {
      auto& st = self->state;
      while (st.ready.size() + st.starting < st.target) {
        ++st.starting;
        self->request(st.node, 120s, atom::create_v, st.template_id)
          .then(
            [self](sandbox_actor sb) {
              auto& st = self->state;
              --st.starting;
              if (st.ready.size() >= st.target) {
                caf::anon_send(sb, atom::kill_v, std::string{"pool full"});
                return;
              }
              self->monitor(sb);
              st.ready.push_back(std::move(sb));
            },
            [self](caf::error& err) {
              --self->state.starting;
              log::get("pool")->warn("{}: cannot start a warm sandbox: {}",
                                     self->state.template_id, message_of(err));
              // Try again later rather than spin on a broken template.
              self->delayed_send(self, 2s, atom::refill_v);
            });
      }
    },
  };
}

} // namespace sbx
