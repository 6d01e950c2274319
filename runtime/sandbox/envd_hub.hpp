#pragma once

#include "envd.pb.h"

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace sbx {

/// One node's connections to the envds of its sandboxes, served by a single
/// epoll thread: frames in, frames out, without an actor ever blocking on a
/// socket. Callbacks run on the hub's thread and must not block (they hand
/// the message to an actor).
class envd_hub {
public:
  /// A serialized sandhive.envd.FromEnvd, passed on unparsed.
  using on_message = std::function<void(std::string&&)>;
  using on_closed = std::function<void()>;
  /// Called when the bytes queued towards envd drop below `low_water`.
  using on_drained = std::function<void()>;

  /// Queued bytes towards one envd above which senders should wait for
  /// `on_drained`.
  static constexpr size_t high_water = 1 << 20;
  static constexpr size_t low_water = 256 << 10;

  /// One envd connection; thread-safe.
  class connection {
  public:
    virtual ~connection() = default;

    /// Queues a frame; never blocks.
    virtual void send(const sandhive::envd::ToEnvd& msg) = 0;

    /// Bytes queued and not yet written to the socket.
    virtual size_t pending() const = 0;

    /// True when more than `high_water` bytes are queued; `on_drained` then
    /// runs once they drop below `low_water`.
    virtual bool congested() = 0;

    /// Closes the socket (envd then exits). Callbacks stop.
    virtual void close() = 0;
  };

  using connection_ptr = std::shared_ptr<connection>;

  virtual ~envd_hub() = default;

  /// Adopts `fd`. `closed` runs once when envd goes away (EOF or error).
  virtual connection_ptr attach(int fd, on_message msg, on_closed closed,
                                on_drained drained = {})
    = 0;
};

using envd_hub_ptr = std::shared_ptr<envd_hub>;

/// Starts the hub's thread; it stops when the hub is destroyed.
envd_hub_ptr make_envd_hub();

} // namespace sbx
