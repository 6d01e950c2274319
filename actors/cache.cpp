#include "actors/cache.hpp"

#include "actors/error.hpp"
#include "runtime/metrics/metrics.hpp"

#include <chrono>

namespace sbx {

cache_actor::behavior_type
cache(cache_actor::stateful_pointer<cache_state> self,
      std::shared_ptr<cache_client> client, metrics* stats) {
  self->state.client = std::move(client);
  self->state.stats = stats;
  if (stats)
    stats->track_backend("redis");
  return {
    [self](atom::ping) -> caf::result<atom::ok_atom> {
      auto start = std::chrono::steady_clock::now();
      auto err = self->state.client->ping();
      if (auto stats = self->state.stats) {
        stats->observe_backend("redis",
                               std::chrono::duration<double>(
                                 std::chrono::steady_clock::now() - start)
                                 .count());
        if (err)
          stats->count_backend_error("redis");
      }
      if (err)
        return err;
      return atom::ok_v;
    },
  };
}

} // namespace sbx
