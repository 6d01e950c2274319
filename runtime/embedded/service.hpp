#pragma once

#include "runtime/embedded/process.hpp"

#include <caf/error.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace sbx::embedded {

/// A supervised server process: started and waited for until it answers,
/// restarted (and logged) whenever it dies, stopped on request.
class service {
public:
  /// `ready` probes whether the server answers; called repeatedly at start.
  service(std::string name, spawn_options opts, std::function<bool()> ready,
          int stop_signal);

  ~service();

  /// Starts the process and waits up to `timeout` until it answers. Fails
  /// with the server's last output when it exits or never answers.
  caf::error start(std::chrono::milliseconds timeout);

  /// Stops the process: `stop_signal`, then SIGKILL after `grace`.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds{8});

  /// The current process id (0 when not running).
  pid_t pid() const;

  /// How often the process was restarted after dying.
  int restarts() const;

private:
  void supervise();

  std::string name_;
  spawn_options opts_;
  std::function<bool()> ready_;
  int stop_signal_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::unique_ptr<child> child_;
  pid_t pid_ = 0;
  bool stopping_ = false;
  bool exited_ = true;
  int restarts_ = 0;
  std::thread monitor_;
};

} // namespace sbx::embedded
