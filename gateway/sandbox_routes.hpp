#pragma once

#include "actors/interfaces.hpp"

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include <functional>
#include <memory>
#include <string>

namespace sbx {

class backends;
class bridge;

/// Where a sandbox runs, and what a request to it must match.
struct sandbox_route {
  std::string id;
  sandbox_actor handle;
  /// The owning team's id.
  std::string team;
  /// The envd access token (empty: the sandbox is not secured).
  std::string access_token;
  /// The sandbox as last published by its actor (kept current by its
  /// updates); null until the first one arrives.
  std::shared_ptr<const sandbox_info> info;
};

/// The gateway's cache of sandbox routes: filled when a sandbox is created
/// or first asked for, read by every data-plane request without an actor
/// round trip, and emptied of a sandbox as soon as its actor goes down.
/// Each cached sandbox sends its info after every change (state, timeout),
/// so reads of it need no round trip either.
class sandbox_routes {
public:
  using callback = std::function<void(caf::expected<sandbox_route>)>;

  sandbox_routes(caf::actor_system& sys, bridge& b, const backends& be);

  /// Stops the actor that watches cached sandboxes; call before the actor
  /// system shuts down.
  void stop();

  /// Remembers a sandbox that was just created, connected or looked up, or
  /// a newer info of it (an older revision is ignored).
  void put(const sandbox_actor& handle, const sandbox_info& info);

  /// Runs `fn` with the route of sandbox `id`, from the cache or else from
  /// the directory; ec::not_found when no such sandbox runs.
  void find(const std::string& id, callback fn);

  /// Runs `fn` with the first sandbox that `pred` accepts (signed URLs name
  /// their sandbox only through its token); ec::not_found when none does.
  void find_if(std::function<bool(const sandbox_route&)> pred, callback fn);

  /// Follows the directory's news of sandboxes that ended; call again
  /// whenever the directory handle changes.
  void follow(const directory_actor& dir);

  /// Drops a sandbox known to be gone.
  void forget(const std::string& id);

private:
  struct shared;
  std::shared_ptr<shared> shared_;
  bridge& bridge_;
  const backends& backends_;
};

} // namespace sbx
