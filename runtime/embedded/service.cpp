#include "runtime/embedded/service.hpp"

#include "actors/error.hpp"
#include "runtime/log/log.hpp"

namespace sbx::embedded {

using namespace std::chrono_literals;

service::service(std::string name, spawn_options opts,
                 std::function<bool()> ready, int stop_signal)
  : name_(std::move(name)),
    opts_(std::move(opts)),
    ready_(std::move(ready)),
    stop_signal_(stop_signal) {
  opts_.log_component = name_;
  opts_.death_signal = stop_signal;
}

service::~service() {
  stop();
}

caf::error service::start(std::chrono::milliseconds timeout) {
  auto c = child::spawn(opts_);
  if (!c)
    return std::move(c.error());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if ((*c)->try_wait(status)) {
      std::this_thread::sleep_for(50ms); // let the pump drain the pipe
      return make_error(ec::unavailable, name_ + " exited during start ("
                                           + describe_status(status)
                                           + "): " + (*c)->tail());
    }
    if (ready_())
      break;
    if (std::chrono::steady_clock::now() > deadline) {
      auto tail = (*c)->tail();
      (*c)->signal(SIGKILL);
      return make_error(ec::unavailable, name_ + " did not answer within "
                                           + std::to_string(timeout.count())
                                           + " ms: " + tail);
    }
    std::this_thread::sleep_for(50ms);
  }
  log::get(name_)->info("running as pid {}", (*c)->pid());
  {
    std::lock_guard<std::mutex> guard{mtx_};
    child_ = std::move(*c);
    pid_ = child_->pid();
    stopping_ = false;
    exited_ = false;
  }
  monitor_ = std::thread{[this] { supervise(); }};
  return caf::none;
}

void service::supervise() {
  auto lg = log::get(name_);
  for (;;) {
    // This thread is the only one that waits for the child.
    auto status = child_->wait();
    std::unique_lock<std::mutex> guard{mtx_};
    exited_ = true;
    pid_ = 0;
    cv_.notify_all();
    if (stopping_)
      return;
    std::chrono::milliseconds backoff = 500ms;
    lg->warn("exited unexpectedly ({}); restarting in {} ms",
             describe_status(status), backoff.count());
    for (;;) {
      if (cv_.wait_for(guard, backoff, [this] { return stopping_; }))
        return;
      // Spawning under the lock keeps stop() from missing a new child.
      auto c = child::spawn(opts_);
      if (c) {
        child_ = std::move(*c);
        pid_ = child_->pid();
        exited_ = false;
        ++restarts_;
        lg->info("restarted as pid {} (restart {})", pid_, restarts_);
        break;
      }
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 10s);
      lg->error("restart failed: {}; retrying in {} ms", message_of(c.error()),
                backoff.count());
    }
  }
}

void service::stop(std::chrono::milliseconds grace) {
  std::unique_lock<std::mutex> guard{mtx_};
  if (!monitor_.joinable())
    return;
  stopping_ = true;
  cv_.notify_all();
  if (!exited_) {
    log::get(name_)->info("stopping pid {}", pid_);
    child_->signal(stop_signal_);
    if (!cv_.wait_for(guard, grace, [this] { return exited_; })) {
      log::get(name_)->warn("did not stop within {} ms; killing it",
                            grace.count());
      child_->signal(SIGKILL);
      cv_.wait(guard, [this] { return exited_; });
    }
  }
  guard.unlock();
  monitor_.join();
  log::get(name_)->info("stopped");
}

pid_t service::pid() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return pid_;
}

int service::restarts() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return restarts_;
}

} // namespace sbx::embedded
