#include "tests/support/envd_harness.hpp"

#include <stdexcept>

#include <csignal>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sbx::test {

envd_harness::envd_harness() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    throw std::runtime_error("socketpair failed");
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(sv[1], 3);
    ::execl(SBX_ENVD_BINARY, "sandhive-envd", nullptr);
    _exit(127);
  }
  ::close(sv[1]);
  fd_ = sv[0];
}

envd_harness::envd_harness(int fd, pid_t pid)
  : pid_(pid), own_process_(false), fd_(fd) {
  // nop
}

envd_harness::~envd_harness() {
  ::close(fd_); // envd exits when the node goes away
  if (!own_process_)
    return;
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_)
      return;
    ::usleep(20'000);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

void envd_harness::send(const to_envd& msg) {
  std::string out;
  proto::append_frame(out, msg);
  size_t off = 0;
  while (off < out.size()) {
    auto n = ::write(fd_, out.data() + off, out.size() - off);
    if (n <= 0)
      throw std::runtime_error("envd socket closed");
    off += static_cast<size_t>(n);
  }
}

std::optional<envd_harness::from_envd>
envd_harness::receive(std::chrono::milliseconds timeout) {
  if (!stash_.empty()) {
    auto m = stash_.front();
    stash_.erase(stash_.begin());
    return m;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    from_envd msg;
    auto r = reader_.take(msg);
    if (r == proto::take_result::ok)
      return msg;
    if (r == proto::take_result::bad)
      throw std::runtime_error("bad frame from envd");
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
    if (left <= 0)
      return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0)
      return std::nullopt;
    char buf[65536];
    auto n = ::read(fd_, buf, sizeof(buf));
    if (n <= 0)
      return std::nullopt;
    reader_.feed(buf, static_cast<size_t>(n));
  }
}

std::vector<envd_harness::from_envd>
envd_harness::until_end(uint64_t id, std::chrono::milliseconds timeout) {
  std::vector<from_envd> result;
  std::vector<from_envd> others;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto m = receive(std::chrono::milliseconds{100});
    if (!m)
      continue;
    if (m->id() != id) {
      others.push_back(std::move(*m));
      continue;
    }
    uint64_t bytes = 0;
    if (m->has_data())
      bytes = m->data().size();
    if (m->has_event() && m->event().has_data()) {
      auto& d = m->event().data();
      bytes = d.stdout().size() + d.stderr().size() + d.pty().size();
    }
    if (bytes > 0) {
      to_envd ack;
      ack.set_id(id);
      ack.mutable_ack()->set_bytes(bytes);
      send(ack);
    }
    auto end = m->has_done() || m->has_error();
    result.push_back(std::move(*m));
    if (end)
      break;
  }
  stash_.insert(stash_.end(), others.begin(), others.end());
  return result;
}

envd_harness::from_envd envd_harness::call(const to_envd& msg) {
  send(msg);
  std::vector<from_envd> others;
  for (;;) {
    auto m = receive();
    if (!m)
      throw std::runtime_error("no reply from envd");
    if (m->id() == msg.id()) {
      // Messages of other streams stay queued for whoever waits for them.
      stash_.insert(stash_.begin(), others.begin(), others.end());
      return *m;
    }
    others.push_back(std::move(*m));
  }
}

std::string envd_harness::output(const std::vector<from_envd>& msgs,
                                 const char* which) {
  std::string result;
  std::string w = which;
  for (auto& m : msgs) {
    if (!m.has_event() || !m.event().has_data())
      continue;
    auto& d = m.event().data();
    result += w == "stdout" ? d.stdout() : w == "stderr" ? d.stderr() : d.pty();
  }
  return result;
}

std::optional<process::ProcessEvent::EndEvent>
envd_harness::end_of(const std::vector<from_envd>& msgs) {
  for (auto& m : msgs)
    if (m.has_event() && m.event().has_end())
      return m.event().end();
  return std::nullopt;
}

} // namespace sbx::test
