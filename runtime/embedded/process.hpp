#pragma once

#include <caf/expected.hpp>

#include <csignal>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

/// Child processes for the embedded PostgreSQL and Redis servers.
namespace sbx::embedded {

/// Where a child sees its bind-mounted directory. The mount exists only in
/// the child's private mount namespace, so any number of children (and
/// sandhive instances) share this one empty host directory. It exists
/// because an unprivileged server user cannot traverse a data dir below,
/// say, /root (mode 0700); the bind mount is made while still root.
constexpr const char* mount_point = "/run/sandhive/mnt";

/// How to start a child.
struct spawn_options {
  /// Program and arguments; argv[0] is an absolute path.
  std::vector<std::string> argv;
  /// Run as this user (and its group); empty keeps ours.
  std::string user;
  /// When set, bind-mounted onto `mount_point` for the child only.
  std::string bind_source;
  /// Sent to the child when sandhive dies, so nothing outlives it.
  int death_signal = SIGTERM;
  /// Logger that receives the child's stdout and stderr, line by line.
  std::string log_component;
  /// Log the output at debug level (chatty tools such as initdb).
  bool quiet = false;
};

/// A running child whose output goes to the log.
class child {
public:
  /// Starts a child; fails with a clear message when it cannot.
  static caf::expected<std::unique_ptr<child>> spawn(const spawn_options& opts);

  ~child();

  pid_t pid() const {
    return pid_;
  }

  /// Returns the wait status if the child has exited, without blocking.
  bool try_wait(int& status);

  /// Blocks until the child exits and returns its wait status.
  int wait();

  /// Sends `sig` while the child runs.
  void signal(int sig);

  /// The last lines the child printed, for error messages.
  std::string tail() const;

  /// The output lines kept for `tail()`, shared with the reader thread.
  struct output;

private:
  child(pid_t pid, std::shared_ptr<output> out);

  pid_t pid_;
  bool reaped_ = false;
  std::shared_ptr<output> out_;
};

/// Runs a child to completion; fails with its last output lines when it
/// exits with anything but 0.
caf::error run(const spawn_options& opts);

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
uint16_t pick_free_port();

/// Describes a wait status ("exit code 1", "signal 9").
std::string describe_status(int status);

/// Makes `dir` (and parents), then gives it to `user` with mode 0700.
caf::error make_private_dir(const std::string& dir, const std::string& user);

} // namespace sbx::embedded
