#pragma once

#include "actors/interfaces.hpp"

#include <functional>
#include <map>
#include <string>

namespace sbx {

struct directory_state {
  static inline const char* name = "directory";

  struct entry {
    std::string node;
    sandbox_actor handle;
    sandbox_info info;
  };

  std::map<std::string, entry> sandboxes;
  /// The live database actor (the supervisor may have restarted it).
  std::function<database_actor()> database;
};

/// Knows every claimed sandbox: it watches each one (`atom::watch`), keeps
/// its last info, and records its life in the sandboxes table: created,
/// every state change, and its end with the reason ("lost" when its actor
/// died without saying). The scheduler's routing table in a cluster; in
/// `sandhive up` the gateway registers what it creates.
directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self,
          std::function<database_actor()> database);

} // namespace sbx
