#pragma once

#include "actors/interfaces.hpp"
#include "gateway/http.hpp"

#include "envd.pb.h"

#include <caf/actor_system.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace sbx {

/// The queue between a stream's actor and the HTTP session writing it. The
/// actor pushes pieces; the session pulls the next one once the previous is
/// written, and taking a piece acknowledges its envd bytes, which lets envd
/// read more of the process's output. So a slow client slows the process
/// down instead of filling the node's memory.
class stream_pipe : public http::body_source {
public:
  /// Adds a piece carrying `ack_bytes` of envd data; `last` ends the body.
  void push(std::string piece, uint64_t ack_bytes, bool last);

  /// Called with the envd bytes of each piece the session takes.
  void on_taken(std::function<void(uint64_t)> f);

  /// Called once if the client goes away before the end.
  void on_cancel(std::function<void()> f);

  /// Ends the body as broken off (see `body_source::failed`).
  void abort();

  bool failed() const override {
    return failed_.load();
  }

  void pull(deliver_fn fn) override;

  bool ready() override;

  void cancel() override;

private:
  /// Largest piece made of several queued ones.
  static constexpr size_t coalesce_limit = 256 * 1024;

  /// Drops the callbacks (with mtx_ held).
  void release();

  struct piece {
    std::string data;
    uint64_t ack_bytes = 0;
    bool last = false;
  };

  std::mutex mtx_;
  std::deque<piece> pieces_;
  deliver_fn waiting_;
  std::function<void(uint64_t)> taken_;
  std::function<void()> cancelled_;
  bool ended_ = false;
  bool canceled_ = false;
  std::atomic<bool> failed_{false};
};

/// How one streamed envd call turns into an HTTP response.
struct stream_spec {
  /// The serialized ToEnvd that starts the stream.
  envd_request request;
  /// The response head of a stream that started (status and headers).
  http::response head;
  /// Answer only with envd's first message, so that an error first becomes
  /// a plain error response (downloads); else answer at once (Connect).
  bool wait_first = false;
  /// A message of the stream as body bytes ("" sends nothing).
  std::function<std::string(const sandhive::envd::FromEnvd&)> piece;
  /// The last bytes of the body: after `done` (no error) or an error.
  std::function<std::string(const sandhive::envd::Error* err)> end;
  /// An error after the head breaks the body off instead of ending it
  /// (a download has no way to report an error in band).
  bool abort_on_error = false;
  /// The error response when `wait_first` and envd's first message fails.
  std::function<http::response(const sandhive::envd::Error& err)> fail;
  /// Sent after `keepalive_every` without other output ("" for none).
  std::string keepalive;
  std::chrono::milliseconds keepalive_every{90'000};
  /// When the stream ends with deadline_exceeded (0: never).
  std::chrono::milliseconds deadline{0};
  /// How long the sandbox may take to accept the stream.
  std::chrono::milliseconds start_timeout{30'000};
  /// How long the head waits for envd's first message, which then goes
  /// out with it (not for `wait_first`, whose head always waits).
  std::chrono::milliseconds head_delay{20};
};

/// Starts a stream on `sandbox` and answers through `respond` with a
/// streamed body; one short-lived actor per stream, which quits (and so
/// cancels the stream in the sandbox) when the client goes away.
void start_envd_stream(caf::actor_system& sys, sandbox_actor sandbox,
                       stream_spec spec, http::responder respond);

/// The envd data bytes a message carries (what envd's flow control counts).
uint64_t envd_data_bytes(const sandhive::envd::FromEnvd& msg);

} // namespace sbx
