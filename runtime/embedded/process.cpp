#include "runtime/embedded/process.hpp"

#include "actors/error.hpp"
#include "runtime/log/log.hpp"

#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sbx::embedded {

namespace fs = std::filesystem;

/// The child's output, shared with the thread that reads it.
struct child::output {
  mutable std::mutex mtx;
  std::deque<std::string> lines;

  void add(std::string line) {
    std::lock_guard<std::mutex> guard{mtx};
    lines.push_back(std::move(line));
    if (lines.size() > 20)
      lines.pop_front();
  }
};

namespace {

struct user_ids {
  uid_t uid;
  gid_t gid;
};

caf::expected<user_ids> lookup_user(const std::string& name) {
  auto pw = getpwnam(name.c_str());
  if (pw == nullptr)
    return make_error(ec::system_error,
                      "user '" + name
                        + "' does not exist; run deploy/install-deps.sh");
  return user_ids{pw->pw_uid, pw->pw_gid};
}

/// Reads lines from `fd` until EOF; detached, so a grandchild that keeps the
/// pipe open can never block a shutdown.
void pump(int fd, std::shared_ptr<child::output> out,
          std::shared_ptr<spdlog::logger> lg, bool quiet) {
  auto level = quiet ? spdlog::level::debug : spdlog::level::info;
  std::thread{[fd, out, lg, level] {
    std::string buf;
    char chunk[4096];
    for (;;) {
      auto n = ::read(fd, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      buf.append(chunk, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        auto line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        if (line.empty())
          continue;
        lg->log(level, "{}", line);
        out->add(std::move(line));
      }
    }
    if (!buf.empty()) {
      lg->log(level, "{}", buf);
      out->add(std::move(buf));
    }
    ::close(fd);
  }}.detach();
}

[[noreturn]] void die(int fd, const char* what) {
  // Only async-signal-safe calls between fork and exec.
  auto err = errno;
  ::write(fd, what, strlen(what));
  ::write(fd, ": ", 2);
  auto msg = strerror(err);
  ::write(fd, msg, strlen(msg));
  ::write(fd, "\n", 1);
  _exit(127);
}

} // namespace

child::child(pid_t pid, std::shared_ptr<output> out)
  : pid_(pid), out_(std::move(out)) {
  // nop
}

child::~child() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    wait();
  }
}

caf::expected<std::unique_ptr<child>> child::spawn(const spawn_options& opts) {
  if (opts.argv.empty() || ::access(opts.argv[0].c_str(), X_OK) != 0)
    return make_error(ec::system_error,
                      "cannot run " + (opts.argv.empty() ? "?" : opts.argv[0])
                        + ": not an executable; run deploy/install-deps.sh");
  user_ids ids{::getuid(), ::getgid()};
  if (!opts.user.empty()) {
    auto x = lookup_user(opts.user);
    if (!x)
      return std::move(x.error());
    ids = *x;
  }
  if (!opts.bind_source.empty()) {
    std::error_code ec;
    fs::create_directories(mount_point, ec);
    if (ec)
      return make_error(ec::system_error, std::string{"cannot create "}
                                            + mount_point + ": "
                                            + ec.message());
  }
  std::vector<char*> argv;
  for (auto& a : opts.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return make_error(ec::system_error, "pipe failed");
  auto parent_pid = ::getpid();
  auto pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return make_error(ec::system_error, "fork failed");
  }
  if (pid == 0) {
    int out = fds[1];
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, STDIN_FILENO);
    ::setsid();
    // sandhive blocks SIGINT/SIGTERM in every thread to wait for them; the
    // mask survives exec, so clear it or the server could not be stopped.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Nothing of ours (listening sockets, database connections) may leak
    // into a server that can outlive a restart of ours.
    if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
      for (int fd = 3; fd < 1024; ++fd)
        ::close(fd);
    if (!opts.bind_source.empty()) {
      if (::unshare(CLONE_NEWNS) != 0)
        die(STDERR_FILENO, "unshare(CLONE_NEWNS)");
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        die(STDERR_FILENO, "mount private /");
      if (::mount(opts.bind_source.c_str(), mount_point, nullptr, MS_BIND,
                  nullptr)
          != 0)
        die(STDERR_FILENO, "bind mount");
    }
    if (!opts.user.empty()) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(ids.gid) != 0
          || ::setuid(ids.uid) != 0)
        die(STDERR_FILENO, "dropping privileges");
    }
    // After setuid: a credential change clears the parent-death signal.
    ::prctl(PR_SET_PDEATHSIG, opts.death_signal);
    if (::getppid() != parent_pid)
      _exit(1);
    if (!opts.bind_source.empty() && ::chdir(mount_point) != 0)
      die(STDERR_FILENO, "chdir");
    ::execv(argv[0], argv.data());
    die(STDERR_FILENO, "exec");
  }
  ::close(fds[1]);
  auto out = std::make_shared<output>();
  pump(fds[0], out, log::get(opts.log_component.empty() ? "child"
                                                          : opts.log_component),
       opts.quiet);
  return std::unique_ptr<child>{new child(pid, std::move(out))};
}

bool child::try_wait(int& status) {
  if (reaped_)
    return true;
  auto r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    return true;
  }
  return false;
}

int child::wait() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR)
    ; // again
  reaped_ = true;
  return status;
}

void child::signal(int sig) {
  if (!reaped_)
    ::kill(pid_, sig);
}

std::string child::tail() const {
  std::lock_guard<std::mutex> guard{out_->mtx};
  std::string result;
  for (auto& line : out_->lines)
    result += (result.empty() ? "" : " | ") + line;
  return result;
}

caf::error run(const spawn_options& opts) {
  auto c = child::spawn(opts);
  if (!c)
    return std::move(c.error());
  auto status = (*c)->wait();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return caf::none;
  // Give the output pump a moment to drain the pipe.
  std::this_thread::sleep_for(std::chrono::milliseconds{50});
  return make_error(ec::system_error, opts.argv[0] + " failed ("
                                        + describe_status(status)
                                        + "): " + (*c)->tail());
}

uint16_t pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0
      && ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  if (fd >= 0)
    ::close(fd);
  return port;
}

std::string describe_status(int status) {
  if (WIFEXITED(status))
    return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

caf::error make_private_dir(const std::string& dir, const std::string& user) {
  auto ids = lookup_user(user);
  if (!ids)
    return std::move(ids.error());
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return make_error(ec::system_error,
                      "cannot create " + dir + ": " + ec.message());
  if (::chown(dir.c_str(), ids->uid, ids->gid) != 0
      || ::chmod(dir.c_str(), 0700) != 0)
    return make_error(ec::system_error, "cannot give " + dir + " to " + user
                                          + ": " + std::strerror(errno));
  return caf::none;
}

} // namespace sbx::embedded
