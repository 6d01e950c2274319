#pragma once

#include "envd.pb.h"

#include "runtime/proto/frame.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace sbx::test {

/// A sandhive-envd started as a plain child process (not in a sandbox), with
/// a socket pair on its fd 3, driven frame by frame.
class envd_harness {
public:
  using to_envd = sandhive::envd::ToEnvd;
  using from_envd = sandhive::envd::FromEnvd;

  /// Starts envd as a plain child process.
  envd_harness();

  /// Talks to an envd that runs elsewhere (in a sandbox) over `fd`, which it
  /// adopts; `pid` is only reported.
  envd_harness(int fd, pid_t pid);

  ~envd_harness();

  pid_t pid() const {
    return pid_;
  }

  void send(const to_envd& msg);

  /// The next message, or nothing after `timeout`.
  std::optional<from_envd> receive(std::chrono::milliseconds timeout
                                   = std::chrono::seconds{5});

  /// Every message for `id` until its `done` or `error` (inclusive), acking
  /// data as it arrives. Messages for other ids are kept for later.
  std::vector<from_envd> until_end(uint64_t id,
                                   std::chrono::milliseconds timeout
                                   = std::chrono::seconds{10});

  /// Sends a request and returns its single reply.
  from_envd call(const to_envd& msg);

  /// A new request id.
  uint64_t next_id() {
    return ++last_id_;
  }

  /// Concatenated stdout/stderr/pty data of a process stream.
  static std::string output(const std::vector<from_envd>& msgs,
                            const char* which = "stdout");

  /// The end event of a process stream, if any.
  static std::optional<process::ProcessEvent::EndEvent>
  end_of(const std::vector<from_envd>& msgs);

private:
  pid_t pid_ = -1;
  bool own_process_ = true;
  int fd_ = -1;
  proto::frame_reader reader_;
  std::vector<from_envd> stash_;
  uint64_t last_id_ = 0;
};

} // namespace sbx::test
