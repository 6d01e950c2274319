#pragma once

#include "actors/interfaces.hpp"

#include <caf/actor_cast.hpp>

#include <mutex>
#include <string>

namespace sbx {

/// The actors the gateway's routes talk to. The supervisor replaces one when
/// it restarts it; routes always read the live handle.
class backends {
public:
  /// Records a (re)started component by its supervisor name.
  void set(const std::string& name, const caf::actor& a) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (name == "database")
      database_ = caf::actor_cast<database_actor>(a);
    else if (name == "node")
      node_ = caf::actor_cast<node_actor>(a);
    else if (name == "directory")
      directory_ = caf::actor_cast<directory_actor>(a);
  }

  /// Drops the handles: a detached actor's thread ends only once nothing
  /// refers to it, so call this before the actor system shuts down.
  void clear() {
    std::lock_guard<std::mutex> guard{mtx_};
    database_ = nullptr;
    node_ = nullptr;
    directory_ = nullptr;
  }

  directory_actor directory() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return directory_;
  }

  database_actor database() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return database_;
  }

  node_actor node() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return node_;
  }

private:
  mutable std::mutex mtx_;
  database_actor database_;
  node_actor node_;
  directory_actor directory_;
};

} // namespace sbx
