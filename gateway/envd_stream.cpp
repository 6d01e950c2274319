#include "gateway/envd_stream.hpp"

#include "actors/error.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

namespace sbx {

using sandhive::envd::FromEnvd;

// -- stream_pipe ---------------------------------------------------------------

void stream_pipe::push(std::string data, uint64_t ack_bytes, bool last) {
  deliver_fn fn;
  std::function<void(uint64_t)> taken;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (ended_ || canceled_)
      return;
    ended_ = last;
    if (!waiting_) {
      pieces_.push_back({std::move(data), ack_bytes, last});
      return;
    }
    fn = std::move(waiting_);
    waiting_ = nullptr;
    taken = taken_;
    if (last)
      release();
  }
  if (ack_bytes > 0 && taken)
    taken(ack_bytes);
  fn(std::move(data), last);
}

void stream_pipe::release() {
  // The callbacks hold actor handles; a finished pipe must not keep those
  // actors alive for as long as its connection lives.
  taken_ = nullptr;
  cancelled_ = nullptr;
}

void stream_pipe::abort() {
  failed_ = true;
  push({}, 0, true);
}

void stream_pipe::on_taken(std::function<void(uint64_t)> f) {
  std::lock_guard<std::mutex> guard{mtx_};
  taken_ = std::move(f);
}

void stream_pipe::on_cancel(std::function<void()> f) {
  std::lock_guard<std::mutex> guard{mtx_};
  cancelled_ = std::move(f);
}

void stream_pipe::pull(deliver_fn fn) {
  piece p;
  std::function<void(uint64_t)> taken;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (pieces_.empty()) {
      waiting_ = std::move(fn);
      return;
    }
    p = std::move(pieces_.front());
    pieces_.pop_front();
    // What queued up meanwhile goes out in one write (a command's end event
    // and the end of the stream, say).
    while (!p.last && !pieces_.empty()
           && p.data.size() + pieces_.front().data.size() <= coalesce_limit) {
      p.data += pieces_.front().data;
      p.ack_bytes += pieces_.front().ack_bytes;
      p.last = pieces_.front().last;
      pieces_.pop_front();
    }
    taken = taken_;
    if (p.last)
      release();
  }
  if (p.ack_bytes > 0 && taken)
    taken(p.ack_bytes);
  fn(std::move(p.data), p.last);
}

bool stream_pipe::ready() {
  std::lock_guard<std::mutex> guard{mtx_};
  return !pieces_.empty();
}

void stream_pipe::cancel() {
  std::function<void()> f;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (canceled_)
      return;
    canceled_ = true;
    pieces_.clear();
    waiting_ = nullptr;
    if (!ended_)
      f = std::move(cancelled_);
    release();
  }
  if (f)
    f();
}

// -- the stream actor ---------------------------------------------------------

uint64_t envd_data_bytes(const FromEnvd& msg) {
  if (msg.has_data())
    return msg.data().size();
  if (msg.has_event() && msg.event().has_data()) {
    auto& d = msg.event().data();
    return d.stdout().size() + d.stderr().size() + d.pty().size();
  }
  return 0;
}

namespace {

struct stream_state {
  stream_state(stream_spec s, sandbox_actor sb, http::responder r)
    : spec(std::move(s)), sandbox(std::move(sb)), respond(std::move(r)) {
    // nop
  }

  stream_spec spec;
  sandbox_actor sandbox;
  http::responder respond;
  std::shared_ptr<stream_pipe> pipe = std::make_shared<stream_pipe>();
  uint64_t id = 0;
  bool answered = false;
  bool ended = false;
  /// Output since the last keepalive tick.
  bool quiet = true;
  /// A process's end event: envd ends the stream right after it, and both
  /// go out in one write.
  std::string held;
};

/// Queues body bytes behind anything held.
void push(stream_state& st, std::string bytes, uint64_t acked, bool last) {
  if (!st.held.empty()) {
    bytes.insert(0, st.held);
    st.held.clear();
  }
  if (!bytes.empty() || acked > 0 || last)
    st.pipe->push(std::move(bytes), acked, last);
}

void answer(stream_state& st) {
  if (st.answered)
    return;
  st.answered = true;
  auto res = st.spec.head;
  res.stream = st.pipe;
  st.respond(std::move(res));
}

sandhive::envd::Error envd_error(sandhive::envd::Code code,
                                std::string message) {
  sandhive::envd::Error e;
  e.set_code(code);
  e.set_message(std::move(message));
  return e;
}

/// Ends the stream: with its end-of-body, or broken off, or, when nothing
/// was answered yet and the spec waits for the first message, with the
/// spec's error response instead of a body.
void finish(caf::event_based_actor* self, stream_state& st,
            const sandhive::envd::Error* err) {
  if (st.ended)
    return;
  st.ended = true;
  if (err != nullptr && st.spec.wait_first && !st.answered) {
    st.answered = true;
    st.respond(st.spec.fail(*err));
    self->quit();
    return;
  }
  // The end is queued before the head is sent, so both leave in one write
  // (a broken-off body still gets its head and what came before).
  if (err != nullptr && st.spec.abort_on_error)
    st.pipe->abort();
  else
    push(st, st.spec.end(err), 0, true);
  answer(st);
  self->quit();
}

void set_id(stream_state& st, uint64_t id) {
  if (st.id != 0 || id == 0)
    return;
  st.id = id;
  st.pipe->on_taken([sb = st.sandbox, id](uint64_t bytes) {
    caf::anon_send(sb, atom::ack_v, id, bytes);
  });
}

} // namespace

void start_envd_stream(caf::actor_system& sys, sandbox_actor sandbox,
                       stream_spec spec, http::responder respond) {
  sys.spawn([sandbox, spec = std::move(spec),
             respond = std::move(respond)](caf::event_based_actor* self) {
    auto st = std::make_shared<stream_state>(spec, sandbox, respond);
    auto me = caf::actor_cast<caf::actor>(self);
    st->pipe->on_cancel([me] { caf::anon_send_exit(me, caf::exit_reason::user_shutdown); });
    self->request(sandbox, st->spec.start_timeout, atom::stream_v,
                  st->spec.request, me)
      .then([st](uint64_t id) { set_id(*st, id); },
            [self, st](caf::error& err) {
              auto e = envd_error(
                err == ec::not_found          ? sandhive::envd::CODE_NOT_FOUND
                : err == ec::invalid_argument ? sandhive::envd::CODE_INVALID_ARGUMENT
                                              : sandhive::envd::CODE_UNAVAILABLE,
                message_of(err));
              finish(self, *st, &e);
            });
    // A sandbox that dies without a word still ends the stream.
    self->monitor(sandbox);
    self->set_down_handler([self, st](caf::down_msg&) {
      auto e = envd_error(sandhive::envd::CODE_UNAVAILABLE,
                          "the sandbox is gone");
      finish(self, *st, &e);
    });
    if (!st->spec.wait_first)
      self->delayed_send(self, st->spec.head_delay, atom::ready_v);
    if (!st->spec.keepalive.empty())
      self->delayed_send(self, st->spec.keepalive_every, atom::tick_v);
    if (st->spec.deadline.count() > 0)
      self->delayed_send(self, st->spec.deadline, atom::timeout_v);
    return caf::behavior{
      [self, st](atom::event, uint64_t id, const envd_reply& reply) {
        if (st->ended)
          return;
        set_id(*st, id);
        FromEnvd msg;
        if (!msg.ParseFromString(reply.bytes)) {
          auto e = envd_error(sandhive::envd::CODE_INTERNAL,
                              "the sandbox sent a malformed message");
          return finish(self, *st, &e);
        }
        if (msg.has_error())
          return finish(self, *st, &msg.error());
        if (msg.has_done())
          return finish(self, *st, nullptr);
        st->quiet = false;
        auto bytes = st->spec.piece(msg);
        if (msg.has_event() && msg.event().has_end())
          st->held += bytes;
        else
          push(*st, std::move(bytes), envd_data_bytes(msg), false);
        // Queued first: the head then leaves with this message.
        answer(*st);
      },
      [st](atom::ready) {
        if (!st->ended)
          answer(*st);
      },
      [self, st](atom::tick) {
        if (st->ended)
          return;
        if (st->quiet && st->answered)
          push(*st, st->spec.keepalive, 0, false);
        st->quiet = true;
        self->delayed_send(self, st->spec.keepalive_every, atom::tick_v);
      },
      [self, st](atom::timeout) {
        auto e = envd_error(sandhive::envd::CODE_DEADLINE_EXCEEDED,
                            "the deadline passed (Connect-Timeout-Ms)");
        finish(self, *st, &e);
      },
    };
  });
}

} // namespace sbx
