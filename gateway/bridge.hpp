#pragma once

#include "actors/error.hpp"
#include "gateway/http.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include <atomic>
#include <chrono>
#include <memory>

namespace sbx {

/// Turns an HTTP request into an actor request without blocking the I/O
/// thread: each call spawns a short-lived actor that sends the request and
/// runs a callback with the reply (or an error), then terminates. Callbacks
/// run on a CAF worker and must hand their result to a `responder`, which
/// posts it back onto the connection's I/O thread. The number of requests in
/// flight is bounded so that a slow actor cannot pile up unbounded state.
class bridge {
public:
  bridge(caf::actor_system& sys, std::chrono::milliseconds timeout,
         unsigned max_in_flight);

  /// Sends `xs...` to `dest`. Exactly one of `on_ok` (with the typed reply)
  /// or `on_err` (the handler's error, a timeout, a dead receiver, or too many
  /// requests in flight) runs, on another thread.
  template <class Handle, class OnOk, class OnErr, class... Ts>
  void request(const Handle& dest, OnOk on_ok, OnErr on_err, Ts... xs) {
    if (!dest) {
      on_err(make_error(ec::unavailable, "the component is not running"));
      return;
    }
    if (in_flight_->fetch_add(1) >= max_in_flight_) {
      in_flight_->fetch_sub(1);
      on_err(make_error(ec::unavailable,
                        "the gateway has too many requests in flight"));
      return;
    }
    // Decrements the in-flight count once the request is answered.
    auto release = std::shared_ptr<void>(nullptr, [n = in_flight_](void*) {
      n->fetch_sub(1);
    });
    auto timeout = timeout_;
    sys_.spawn([=](caf::event_based_actor* self) {
      self->request(dest, timeout, xs...)
        .then(on_ok, [on_err, release](caf::error& err) { on_err(err); });
    });
  }

  /// Runs `work` on a thread of its own (it blocks: a password hash), then
  /// `done` with what it returned, on that thread. Counts against the
  /// requests in flight; `busy` runs instead when there are too many.
  template <class Work, class Done, class Busy>
  void blocking(Work work, Done done, Busy busy) {
    if (in_flight_->fetch_add(1) >= max_in_flight_) {
      in_flight_->fetch_sub(1);
      busy(make_error(ec::unavailable,
                      "the gateway has too many requests in flight"));
      return;
    }
    auto n = in_flight_;
    sys_.spawn<caf::detached>([=](caf::event_based_actor* self) {
      done(work());
      n->fetch_sub(1);
      self->quit();
    });
  }

  /// Requests in flight right now.
  unsigned in_flight() const {
    return in_flight_->load();
  }

  /// The HTTP response that reports `err`.
  static http::response to_response(const caf::error& err);

private:
  caf::actor_system& sys_;
  caf::duration timeout_;
  unsigned max_in_flight_;
  std::shared_ptr<std::atomic<unsigned>> in_flight_;
};

} // namespace sbx
