#include "actors/database.hpp"

#include "actors/error.hpp"
#include "runtime/metrics/metrics.hpp"

namespace sbx {

database_actor::behavior_type
database(database_actor::stateful_pointer<database_state> self,
         std::shared_ptr<store> db, metrics* stats) {
  self->state.db = std::move(db);
  self->state.stats = stats;
  return {
    [self](atom::ping) -> caf::result<atom::ok_atom> {
      if (auto err = self->state.db->ping()) {
        if (self->state.stats)
          self->state.stats->count_backend_error("postgres");
        return err;
      }
      return atom::ok_v;
    },
  };
}

} // namespace sbx
