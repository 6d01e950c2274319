#include "actors/sandbox.hpp"

#include "actors/error.hpp"
#include "runtime/log/log.hpp"

#include "envd.pb.h"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include <unistd.h>

namespace sbx {

using namespace std::chrono_literals;
using sandhive::envd::FromEnvd;
using sandhive::envd::ToEnvd;

namespace {

/// Deadline of a driver call made for a sandbox.
constexpr auto driver_timeout = 60s;

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

envd_reply error_reply(uint64_t id, sandhive::envd::Code code,
                       const std::string& message) {
  FromEnvd msg;
  msg.set_id(id);
  msg.mutable_error()->set_code(code);
  msg.mutable_error()->set_message(message);
  return envd_reply{msg.SerializeAsString()};
}

} // namespace

sandbox_impl::sandbox_impl(caf::actor_config& cfg, sandbox_config sc)
  : sandbox_actor::base(cfg), cfg_(std::move(sc)) {
  info_.id = cfg_.spec.id;
  info_.template_id = cfg_.template_id;
  info_.node = cfg_.node_name;
  info_.state = "starting";
  info_.vcpu = cfg_.spec.limits.vcpu;
  info_.memory_mb = cfg_.spec.limits.memory_bytes >> 20;
  info_.disk_mb = cfg_.spec.disk_bytes >> 20;
  info_.started_at_ms = now_ms();
}

caf::error sandbox_impl::not_running() const {
  switch (phase_) {
    case phase::paused:
      return make_error(ec::conflict, "sandbox " + info_.id + " is paused");
    case phase::killed:
      return make_error(ec::not_found,
                        "sandbox " + info_.id + " was killed: " + end_reason_);
    default:
      return make_error(ec::unavailable,
                        "sandbox " + info_.id + " is not running");
  }
}

void sandbox_impl::when_stable(std::function<void()> f) {
  if (phase_ == phase::starting || phase_ == phase::pausing
      || phase_ == phase::resuming)
    waiting_.push_back(std::move(f));
  else
    f();
}

void sandbox_impl::emit(const std::string& reason) {
  sandbox_event ev{info_.id, info_.state, reason, now_ms()};
  for (auto& s : subscribers_)
    caf::anon_send(s, atom::event_v, ev);
  publish();
}

void sandbox_impl::publish() {
  ++info_.revision;
  for (auto& w : watchers_)
    caf::anon_send(w, atom::update_v, info_);
}

// -- envd ---------------------------------------------------------------------

uint64_t sandbox_impl::send_envd(ToEnvd& msg) {
  if (msg.id() == 0)
    msg.set_id(++next_id_);
  conn_->send(msg);
  return msg.id();
}

caf::expected<uint64_t> sandbox_impl::forward(const envd_request& req,
                                              caf::actor sink) {
  if (phase_ != phase::running)
    return not_running();
  ToEnvd msg;
  if (!msg.ParseFromString(req.bytes))
    return make_error(ec::invalid_argument, "malformed envd request");
  msg.set_id(++next_id_);
  if (sink)
    routes_->add(msg.id(), std::move(sink));
  return send_envd(msg);
}

void sandbox_impl::send_init(
  std::function<void(const sandhive::envd::FromEnvd&)> on_reply) {
  ToEnvd init;
  auto i = init.mutable_init();
  i->set_default_user(cfg_.default_user);
  i->set_default_workdir(cfg_.workdir);
  for (auto& [k, v] : cfg_.template_env)
    (*i->mutable_envs())[k] = v;
  internal_[send_envd(init)] = std::move(on_reply);
}

void sandbox_impl::cancel_envd(uint64_t id) {
  if (!conn_)
    return;
  ToEnvd cancel;
  cancel.set_id(id);
  cancel.mutable_cancel();
  conn_->send(cancel);
}

void sandbox_impl::start_envd(sandbox_process p) {
  auto me = caf::actor_cast<caf::actor_addr>(this);
  auto deliver = [me](auto... xs) {
    if (auto self = caf::actor_cast<caf::actor>(me))
      caf::anon_send(self, xs...);
  };
  conn_ = cfg_.hub->attach(
    p.envd_fd,
    [deliver, routes = routes_](std::string&& bytes) {
      // Stream events go straight to their sink; the actor hears only of a
      // stream's end (to forget it) and of everything else.
      FromEnvd msg;
      if (msg.ParseFromString(bytes) && msg.id() != 0) {
        caf::actor sink;
        auto end = msg.has_done() || msg.has_error();
        {
          std::lock_guard<std::mutex> guard{routes->mtx};
          if (auto i = routes->sinks.find(msg.id()); i != routes->sinks.end()) {
            sink = i->second;
            if (end)
              routes->sinks.erase(i);
          }
        }
        if (sink) {
          caf::anon_send(sink, atom::event_v, msg.id(), envd_reply{bytes});
          if (end)
            deliver(atom::envd_v, envd_reply{std::move(bytes)});
          return;
        }
      }
      deliver(atom::envd_v, envd_reply{std::move(bytes)});
    },
    [deliver] {
      deliver(atom::closed_v);
    },
    [deliver] {
      deliver(atom::drained_v);
    });
  // envd says hello (a pong with id 0) when it is ready.
  on_hello_ = [this] {
    send_init([this](const FromEnvd& r) {
      if (r.has_error())
        return do_kill("envd refused its settings: " + r.error().message());
      became_running();
    });
  };
  delayed_send(this, cfg_.start_timeout, atom::tick_v);
}

void sandbox_impl::on_envd(const envd_reply& reply) {
  FromEnvd msg;
  if (!msg.ParseFromString(reply.bytes))
    return do_kill("envd sent garbage");
  auto id = msg.id();
  if (id == 0 && msg.has_pong()) {
    if (on_hello_) {
      auto f = std::move(on_hello_);
      on_hello_ = nullptr;
      f();
    }
    return;
  }
  if (auto i = internal_.find(id); i != internal_.end()) {
    auto f = std::move(i->second);
    internal_.erase(i);
    f(msg);
    return;
  }
  if (auto i = unary_.find(id); i != unary_.end()) {
    i->second.deliver(reply);
    unary_.erase(i);
    return;
  }
  if (auto i = streams_.find(id); i != streams_.end()) {
    // The hub delivered it to the sink already; an end closes the stream.
    if (msg.has_done() || msg.has_error())
      streams_.erase(i);
    return;
  }
  if (auto i = uploads_.find(id); i != uploads_.end()) {
    auto& up = i->second;
    if (up.last.pending()) {
      up.last.deliver(id, reply);
      uploads_.erase(i);
    } else if (msg.has_error()) {
      up.failed = reply; // answered with the next chunk
    }
  }
}

void sandbox_impl::fail_streams(const std::string& why) {
  for (auto& [id, sink] : streams_)
    if (routes_->remove(id)) // else its end is on the way already
      caf::anon_send(sink, atom::event_v, id,
                     error_reply(id, sandhive::envd::CODE_UNAVAILABLE, why));
  streams_.clear();
  for (auto& [id, rp] : unary_)
    rp.deliver(make_error(ec::unavailable, why));
  unary_.clear();
  for (auto& [id, up] : uploads_)
    if (up.last.pending())
      up.last.deliver(make_error(ec::unavailable, why));
  uploads_.clear();
  for (auto& [rp, id] : blocked_writes_)
    rp.deliver(make_error(ec::unavailable, why));
  blocked_writes_.clear();
  internal_.clear();
}

// -- lifecycle ----------------------------------------------------------------

void sandbox_impl::became_running() {
  phase_ = phase::running;
  info_.state = "running";
  emit();
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& f : waiting)
    f();
}

void sandbox_impl::rearm_timeout() {
  // A tick that fired while paused was dropped: schedule the next one.
  if (end_at_ms_ > 0)
    delayed_send(
      this,
      std::chrono::milliseconds{std::max<int64_t>(0, end_at_ms_ - now_ms())},
      atom::tick_v);
}

void sandbox_impl::set_timeout(int64_t ms) {
  end_at_ms_ = ms > 0 ? now_ms() + ms : 0;
  info_.end_at_ms = end_at_ms_;
  publish();
  if (ms > 0)
    delayed_send(this, std::chrono::milliseconds{ms}, atom::tick_v);
}

void sandbox_impl::do_pause(bool keep_memory, info_promise rp) {
  phase_ = phase::pausing;
  keep_memory_ = keep_memory;
  auto paused = [this, rp](caf::error err) mutable {
    if (phase_ == phase::killed) { // killed meanwhile
      rp.deliver(not_running());
      return;
    }
    if (err) {
      rp.deliver(err);
      return do_kill("pause failed: " + message_of(err));
    }
    phase_ = phase::paused;
    info_.state = "paused";
    emit();
    rp.deliver(info_);
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& f : waiting)
      f();
  };
  if (keep_memory) {
    request(cfg_.worker, driver_timeout, atom::pause_v, info_.id, true)
      .then(
        [paused](atom::ok_atom) mutable {
          paused({});
        },
        [paused](caf::error& err) mutable {
          paused(err);
        });
    return;
  }
  // Without memory: end the processes, keep the files.
  fail_streams("sandbox " + info_.id + " was paused");
  if (conn_) {
    conn_->close();
    conn_ = nullptr;
  }
  request(cfg_.worker, driver_timeout, atom::shutdown_v, info_.id)
    .then(
      [paused](atom::ok_atom) mutable {
        paused({});
      },
      [paused](caf::error& err) mutable {
        paused(err);
      });
}

void sandbox_impl::do_resume(info_promise rp) {
  phase_ = phase::resuming;
  if (keep_memory_) {
    request(cfg_.worker, driver_timeout, atom::pause_v, info_.id, false)
      .then(
        [this, rp](atom::ok_atom) mutable {
          if (phase_ == phase::killed) {
            rp.deliver(not_running());
            return;
          }
          if (envd_lost_) {
            rp.deliver(
              make_error(ec::unavailable, "sandbox " + info_.id
                                            + " lost its envd while paused"));
            do_kill("envd exited");
            return;
          }
          became_running();
          rearm_timeout();
          rp.deliver(info_);
        },
        [this, rp](caf::error& err) mutable {
          rp.deliver(err);
          do_kill("resume failed: " + message_of(err));
        });
    return;
  }
  request(cfg_.worker, driver_timeout, atom::restart_v, info_.id)
    .then(
      [this, rp](sandbox_process p) mutable {
        if (phase_ == phase::killed) {
          ::close(p.envd_fd);
          rp.deliver(not_running());
          return;
        }
        waiting_.insert(waiting_.begin(), [this, rp]() mutable {
          rearm_timeout();
          if (phase_ == phase::running)
            rp.deliver(info_);
          else
            rp.deliver(not_running());
        });
        start_envd(p);
      },
      [this, rp](caf::error& err) mutable {
        rp.deliver(err);
        do_kill("resume failed: " + message_of(err));
      });
}

void sandbox_impl::do_kill(const std::string& reason) {
  if (phase_ == phase::killed)
    return;
  auto lg = log::get("sandbox");
  lg->info("{} killed: {}", info_.id, reason);
  phase_ = phase::killed;
  end_reason_ = reason;
  info_.state = "killed";
  info_.end_reason = reason;
  fail_streams("sandbox " + info_.id + " was killed: " + reason);
  if (conn_) {
    conn_->close();
    conn_ = nullptr;
  }
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& f : waiting)
    f();
  auto finish = [this, reason] {
    emit(reason);
    send(cfg_.node, atom::ended_v, info_.id, reason);
    for (auto& rp : kill_promises_)
      rp.deliver(atom::ok_v);
    kill_promises_.clear();
    quit();
  };
  request(cfg_.worker, driver_timeout, atom::destroy_v, info_.id)
    .then(
      [finish](atom::ok_atom) {
        finish();
      },
      [finish, lg, id = info_.id](caf::error& err) {
        lg->error("{}: cleanup failed: {}", id, message_of(err));
        finish();
      });
}

sandbox_impl::behavior_type sandbox_impl::make_behavior() {
  set_down_handler([this](caf::down_msg& msg) {
    for (auto i = streams_.begin(); i != streams_.end();) {
      if (i->second.address() == msg.source) {
        routes_->remove(i->first);
        cancel_envd(i->first);
        i = streams_.erase(i);
      } else {
        ++i;
      }
    }
    auto gone = [&](const caf::actor& a) { return a.address() == msg.source; };
    subscribers_.erase(std::remove_if(subscribers_.begin(), subscribers_.end(),
                                      gone),
                       subscribers_.end());
    watchers_.erase(std::remove_if(watchers_.begin(), watchers_.end(), gone),
                    watchers_.end());
  });
  request(cfg_.worker, driver_timeout, atom::create_v, cfg_.spec)
    .then(
      [this](sandbox_process p) {
        if (phase_ == phase::killed) // killed while starting
          ::close(p.envd_fd);
        else
          start_envd(p);
      },
      [this](caf::error& err) {
        do_kill("start failed: " + message_of(err));
      });
  return {
    [this](atom::get_atom) -> caf::result<sandbox_info> {
      if (phase_ != phase::starting)
        return info_;
      auto rp = make_response_promise<sandbox_info>();
      when_stable([this, rp]() mutable {
        if (phase_ == phase::killed)
          rp.deliver(not_running());
        else
          rp.deliver(info_);
      });
      return rp;
    },
    [this](atom::claim, sandbox_request& req) -> caf::result<sandbox_info> {
      auto rp = make_response_promise<sandbox_info>();
      when_stable([this, rp, req]() mutable {
        if (phase_ != phase::running) {
          rp.deliver(not_running());
          return;
        }
        info_.team = req.team;
        info_.metadata = req.metadata;
        info_.api_key_id = req.api_key_id;
        // A warm sandbox's life, as its client sees it, starts now.
        info_.started_at_ms = now_ms();
        info_.access_token = req.access_token;
        auto_pause_ = req.auto_pause;
        // Kept for a restart after a pause without memory.
        for (auto& [k, v] : req.envs)
          cfg_.template_env[k] = v;
        // envd handles requests in the order they arrive, so everything the
        // client sends after this reply sees the new settings: no need to
        // wait for envd's answer. The settings were checked at start (the
        // same user and workdir); an error would still end the sandbox.
        send_init([this](const FromEnvd& r) {
          if (r.has_error())
            do_kill("envd refused the claim: " + r.error().message());
        });
        set_timeout(req.timeout_ms);
        rp.deliver(info_);
      });
      return rp;
    },
    [this](atom::timeout, int64_t ms) -> caf::result<sandbox_info> {
      if (phase_ == phase::killed)
        return not_running();
      set_timeout(ms);
      return info_;
    },
    [this](atom::pause, bool keep_memory) -> caf::result<sandbox_info> {
      auto rp = make_response_promise<sandbox_info>();
      when_stable([this, rp, keep_memory]() mutable {
        if (phase_ == phase::paused) {
          rp.deliver(make_error(ec::conflict,
                                "sandbox " + info_.id + " is already paused"));
          return;
        }
        if (phase_ != phase::running) {
          rp.deliver(not_running());
          return;
        }
        do_pause(keep_memory, rp);
      });
      return rp;
    },
    [this](atom::resume) -> caf::result<sandbox_info> {
      auto rp = make_response_promise<sandbox_info>();
      when_stable([this, rp]() mutable {
        if (phase_ == phase::running) {
          rp.deliver(info_);
          return;
        }
        if (phase_ != phase::paused) {
          rp.deliver(not_running());
          return;
        }
        do_resume(rp);
      });
      return rp;
    },
    [this](atom::kill,
           const std::string& reason) -> caf::result<atom::ok_atom> {
      auto rp = make_response_promise<atom::ok_atom>();
      kill_promises_.push_back(rp);
      do_kill(reason);
      return rp;
    },
    [this](atom::stats) -> caf::result<sandbox_stats> {
      if (phase_ == phase::killed)
        return not_running();
      return delegate(cfg_.worker, atom::stats_v, info_.id);
    },
    [this](atom::request, const envd_request& req) -> caf::result<envd_reply> {
      auto rp = make_response_promise<envd_reply>();
      when_stable([this, rp, req]() mutable {
        auto id = forward(req);
        if (!id)
          rp.deliver(std::move(id.error()));
        else
          unary_.emplace(*id, rp);
      });
      return rp;
    },
    [this](atom::stream, const envd_request& req,
           caf::actor sink) -> caf::result<uint64_t> {
      auto rp = make_response_promise<uint64_t>();
      when_stable([this, rp, req, sink]() mutable {
        // The route must exist before envd can answer.
        auto id = forward(req, sink);
        if (!id) {
          rp.deliver(std::move(id.error()));
          return;
        }
        streams_.emplace(*id, sink);
        monitor(sink);
        rp.deliver(*id);
      });
      return rp;
    },
    [this](atom::ack, uint64_t id, uint64_t bytes) {
      if (phase_ != phase::running || !streams_.count(id))
        return;
      ToEnvd msg;
      msg.set_id(id);
      msg.mutable_ack()->set_bytes(bytes);
      conn_->send(msg);
    },
    [this](atom::cancel, uint64_t id) {
      // A stream whose client left, or an upload abandoned half-way (envd
      // then removes the partial file).
      routes_->remove(id);
      auto known = streams_.erase(id) > 0;
      known = uploads_.erase(id) > 0 || known;
      if (known && phase_ == phase::running)
        cancel_envd(id);
    },
    [this](atom::write, uint64_t upload_id,
           const envd_request& chunk) -> caf::result<uint64_t, envd_reply> {
      auto rp = make_response_promise<uint64_t, envd_reply>();
      when_stable([this, rp, upload_id, chunk]() mutable {
        if (phase_ != phase::running) {
          rp.deliver(not_running());
          return;
        }
        ToEnvd msg;
        if (!msg.ParseFromString(chunk.bytes) || !msg.has_write()) {
          rp.deliver(
            make_error(ec::invalid_argument, "malformed upload chunk"));
          return;
        }
        auto id = upload_id;
        if (id == 0) {
          id = ++next_id_;
          uploads_[id];
        }
        auto up = uploads_.find(id);
        if (up == uploads_.end()) {
          rp.deliver(
            make_error(ec::not_found, "no upload " + std::to_string(id)));
          return;
        }
        if (up->second.failed) {
          rp.deliver(id, *up->second.failed);
          uploads_.erase(up);
          cancel_envd(id); // envd forgets the upload too
          return;
        }
        auto last = msg.write().last();
        msg.set_id(id);
        conn_->send(msg);
        if (last)
          up->second.last = rp;
        else if (conn_->congested())
          blocked_writes_.emplace_back(rp, id);
        else
          rp.deliver(id, envd_reply{});
      });
      return rp;
    },
    [this](atom::subscribe, caf::actor sub) {
      monitor(sub);
      subscribers_.push_back(std::move(sub));
    },
    [this](atom::watch, caf::actor w) {
      monitor(w);
      caf::anon_send(w, atom::update_v, info_);
      watchers_.push_back(std::move(w));
    },
    [this](atom::envd, const envd_reply& reply) {
      on_envd(reply);
    },
    [this](atom::closed) {
      // Expected while pausing without memory; otherwise envd died. While
      // paused with memory, the resume notices.
      if (phase_ == phase::pausing || phase_ == phase::paused) {
        if (keep_memory_)
          envd_lost_ = true;
        return;
      }
      if (phase_ != phase::killed)
        do_kill("envd exited");
    },
    [this](atom::drained) {
      auto blocked = std::move(blocked_writes_);
      blocked_writes_.clear();
      for (auto& [rp, id] : blocked)
        rp.deliver(id, envd_reply{});
    },
    [this](atom::tick) {
      if ((phase_ == phase::starting || phase_ == phase::resuming)
          && on_hello_) {
        do_kill("envd did not answer within "
                + std::to_string(cfg_.start_timeout.count()) + " ms");
        return;
      }
      if (phase_ != phase::running || end_at_ms_ == 0 || now_ms() < end_at_ms_)
        return;
      if (auto_pause_) {
        do_pause(true, info_promise{}); // nobody waits for this reply
      } else {
        do_kill("timeout");
      }
    },
  };
}

} // namespace sbx
