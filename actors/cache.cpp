#include "actors/cache.hpp"

#include "actors/error.hpp"
#include "runtime/metrics/metrics.hpp"

namespace sbx {

cache_actor::behavior_type
cache(cache_actor::stateful_pointer<cache_state> self,
      std::shared_ptr<cache_client> client, metrics* stats) {
  self->state.client = std::move(client);
  self->state.stats = stats;
  return {
    [self](atom::ping) -> caf::result<atom::ok_atom> {
      if (auto err = self->state.client->ping()) {
        if (self->state.stats)
          self->state.stats->count_backend_error("redis");
        return err;
      }
      return atom::ok_v;
    },
  };
}

} // namespace sbx
