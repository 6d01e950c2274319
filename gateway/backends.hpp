#pragma once

#include "actors/interfaces.hpp"

#include <caf/actor_cast.hpp>

#include <mutex>
#include <string>

namespace sbx {

/// The actors the gateway's routes talk to: the control's database,
/// scheduler and directory (and, in the control, the admin actor). The supervisor replaces one when it restarts
/// it, a gateway process when it joins the control again; routes always
/// read the live handle.
class backends {
public:
  /// Records a (re)started component by its supervisor name.
  void set(const std::string& name, const caf::actor& a) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (name == "database")
      database_ = caf::actor_cast<database_actor>(a);
    else if (name == "scheduler")
      scheduler_ = caf::actor_cast<scheduler_actor>(a);
    else if (name == "directory")
      directory_ = caf::actor_cast<directory_actor>(a);
    else if (name == "admin")
      admin_ = caf::actor_cast<admin_actor>(a);
    else if (name == "billing")
      billing_ = caf::actor_cast<billing_actor>(a);
  }

  /// Drops the handles: a detached actor's thread ends only once nothing
  /// refers to it, so call this before the actor system shuts down.
  void clear() {
    std::lock_guard<std::mutex> guard{mtx_};
    database_ = nullptr;
    scheduler_ = nullptr;
    directory_ = nullptr;
    admin_ = nullptr;
    billing_ = nullptr;
  }

  directory_actor directory() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return directory_;
  }

  database_actor database() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return database_;
  }

  scheduler_actor scheduler() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return scheduler_;
  }

  admin_actor admin() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return admin_;
  }

  billing_actor billing() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return billing_;
  }

  /// Takes the control's actors as a gateway gets them on joining (all
  /// null when it lost the control).
  void set(const cluster_handles& x) {
    std::lock_guard<std::mutex> guard{mtx_};
    database_ = x.database;
    scheduler_ = x.scheduler;
    directory_ = x.directory;
    billing_ = x.billing;
  }

private:
  mutable std::mutex mtx_;
  database_actor database_;
  scheduler_actor scheduler_;
  directory_actor directory_;
  admin_actor admin_;
  billing_actor billing_;
};

} // namespace sbx
