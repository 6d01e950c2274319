#include "runtime/sandbox/envd_hub.hpp"

#include "runtime/proto/frame.hpp"

#include <atomic>
#include <cerrno>
#include <map>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sbx {

namespace {

class hub;

class conn final : public envd_hub::connection,
                   public std::enable_shared_from_this<conn> {
public:
  conn(hub& h, int fd, envd_hub::on_message m, envd_hub::on_closed c,
       envd_hub::on_drained d)
    : hub_(h), fd_(fd), on_msg_(std::move(m)), on_closed_(std::move(c)),
      on_drained_(std::move(d)) {
    // nop
  }

  void send(const sandhive::envd::ToEnvd& msg) override;
  size_t pending() const override {
    std::lock_guard<std::mutex> guard{mtx_};
    return out_.size();
  }
  bool congested() override {
    std::lock_guard<std::mutex> guard{mtx_};
    if (out_.size() <= envd_hub::high_water)
      return false;
    want_drain_ = true;
    return true;
  }

  void close() override;

  /// Hub thread: the socket is readable.
  void on_readable();
  /// Hub thread: closes the socket once (idempotent).
  void close_fd();
  /// Hub thread: write what is queued; returns true while bytes remain.
  bool flush();
  void shutdown();

  int fd() const {
    return fd_;
  }

  /// Whether the socket is still open.
  bool fd_open() const {
    return !fd_closed_;
  }

private:
  /// Writes as much of `out_` as the socket takes now (mtx_ held).
  void write_out();

  hub& hub_;
  int fd_;
  envd_hub::on_message on_msg_;
  envd_hub::on_closed on_closed_;
  envd_hub::on_drained on_drained_;
  mutable std::mutex mtx_;
  std::string out_;
  bool want_drain_ = false;
  proto::frame_reader in_;
  std::atomic<bool> closed_{false};
  /// Set by the hub thread under mtx_, which senders hold while they write:
  /// nobody writes to a descriptor number that may have been reused.
  std::atomic<bool> fd_closed_{false};
};

class hub final : public envd_hub {
public:
  hub() {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, wake_, &ev);
    thread_ = std::thread{[this] { loop(); }};
  }

  ~hub() override {
    stop_ = true;
    wake();
    thread_.join();
    for (auto& [fd, c] : conns_)
      ::close(fd);
    ::close(ep_);
    ::close(wake_);
  }

  connection_ptr attach(int fd, on_message msg, on_closed closed,
                        on_drained drained) override {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    auto c = std::make_shared<conn>(*this, fd, std::move(msg),
                                    std::move(closed), std::move(drained));
    {
      std::lock_guard<std::mutex> guard{mtx_};
      conns_[fd] = c;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
    return c;
  }

  /// Any thread: asks the hub thread to flush `c`. Connections, never bare
  /// descriptor numbers, are queued: a number may already belong to a newer
  /// connection by the time the hub thread gets to it.
  void want_flush(std::shared_ptr<conn> c) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      dirty_.push_back(std::move(c));
    }
    wake();
  }

  /// Any thread: asks the hub thread to close `c`.
  void want_close(std::shared_ptr<conn> c) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      closing_.push_back(std::move(c));
    }
    wake();
  }

  void forget(int fd) {
    ::epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
    std::lock_guard<std::mutex> guard{mtx_};
    conns_.erase(fd);
  }

  void watch_writable(conn& c, bool on) {
    if (!c.fd_open())
      return;
    watch_writable(c.fd(), on);
  }

  void watch_writable(int fd, bool on) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    ::epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &ev);
  }

private:
  void wake() {
    uint64_t one = 1;
    (void) !::write(wake_, &one, sizeof(one));
  }

  std::shared_ptr<conn> find(int fd) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = conns_.find(fd);
    return i == conns_.end() ? nullptr : i->second;
  }

  void loop() {
    epoll_event events[64];
    while (!stop_) {
      auto n = ::epoll_wait(ep_, events, 64, -1);
      for (int i = 0; i < n; ++i) {
        auto fd = events[i].data.fd;
        if (fd == wake_) {
          uint64_t v;
          (void) !::read(wake_, &v, sizeof(v));
          std::vector<std::shared_ptr<conn>> dirty;
          std::vector<std::shared_ptr<conn>> closing;
          {
            std::lock_guard<std::mutex> guard{mtx_};
            dirty.swap(dirty_);
            closing.swap(closing_);
          }
          for (auto& c : closing)
            c->close_fd();
          for (auto& c : dirty)
            if (c->fd_open())
              watch_writable(*c, c->flush());
          continue;
        }
        auto c = find(fd);
        if (!c)
          continue;
        if (events[i].events & EPOLLOUT)
          watch_writable(fd, c->flush());
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
          c->on_readable();
      }
    }
  }

  int ep_ = -1;
  int wake_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mtx_;
  std::map<int, std::shared_ptr<conn>> conns_;
  std::vector<std::shared_ptr<conn>> dirty_;
  std::vector<std::shared_ptr<conn>> closing_;
  std::thread thread_;
};

void conn::send(const sandhive::envd::ToEnvd& msg) {
  if (closed_)
    return;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (fd_closed_)
      return;
    auto queued = !out_.empty();
    proto::append_frame(out_, msg);
    if (!queued) {
      // Nothing waits before it: write at once from this thread (the socket
      // does not block) instead of waking the hub thread to do it, which
      // costs every request to envd a thread wake-up.
      write_out();
      if (out_.empty())
        return;
    }
  }
  hub_.want_flush(shared_from_this());
}

void conn::write_out() {
  size_t off = 0;
  while (off < out_.size()) {
    // MSG_NOSIGNAL: an envd that stopped reading must not SIGPIPE the node.
    auto n = ::send(fd_, out_.data() + off, out_.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    break; // EAGAIN: wait for EPOLLOUT; errors show up as EOF on read
  }
  out_.erase(0, off);
}

bool conn::flush() {
  std::unique_lock<std::mutex> guard{mtx_};
  write_out();
  auto remaining = !out_.empty();
  auto drained = want_drain_ && out_.size() < envd_hub::low_water;
  if (drained)
    want_drain_ = false;
  guard.unlock();
  if (drained && on_drained_)
    on_drained_();
  return remaining;
}

void conn::on_readable() {
  char buf[64 * 1024];
  for (;;) {
    auto n = ::read(fd_, buf, sizeof(buf));
    if (n > 0) {
      in_.feed(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      break;
    // EOF or error: envd is gone.
    shutdown();
    return;
  }
  for (;;) {
    std::string payload;
    auto r = in_.take_raw(payload);
    if (r == proto::take_result::incomplete)
      break;
    if (r == proto::take_result::bad) {
      shutdown();
      return;
    }
    if (!closed_)
      on_msg_(std::move(payload));
  }
}

void conn::close_fd() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (fd_closed_)
      return;
    fd_closed_ = true;
  }
  hub_.forget(fd_);
  ::close(fd_);
}

void conn::shutdown() {
  auto self = shared_from_this(); // outlive forget()
  close_fd();
  if (!closed_.exchange(true) && on_closed_)
    on_closed_();
}

void conn::close() {
  // The hub thread closes the socket: closing it here could race with a read
  // there and hit a reused descriptor.
  if (!closed_.exchange(true))
    hub_.want_close(shared_from_this());
}

} // namespace

envd_hub_ptr make_envd_hub() {
  return std::make_shared<hub>();
}

} // namespace sbx
