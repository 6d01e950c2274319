#include "runtime/envd/agent.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

namespace sbx::envd {

using sandhive::envd::Code;

namespace {

constexpr size_t chunk_size = 64 * 1024;
constexpr const char* default_path
  = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/// Go's ProcessState.String() for a signal: "signal: killed".
std::string signal_status(int sig) {
  std::string name = ::strsignal(sig);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return "signal: " + name;
}

std::string describe(const process::ProcessSelector& sel) {
  return sel.has_tag() ? "tag '" + sel.tag() + "'"
                       : "pid " + std::to_string(sel.pid());
}

/// What a new process needs, prepared by envd before the clone.
struct spawn_args {
  bool pty;
  const char* slave;
  bool want_stdin;
  int in, out, err, devnull;
  uid_t uid;
  gid_t gid;
  const char* cwd;
  char** argv;
  char** envp;
  /// Set by a child that fails before its exec: which step ('p' the PTY,
  /// 'u' the user, 'c' the directory, 'e' the exec) and its errno. The
  /// child runs in envd's memory, so the parent reads them directly once
  /// the clone returns, as glibc's posix_spawn does (no report pipe).
  char failed_step;
  int failed_errno;
};

/// The child side of a spawn: system calls only, on prepared data (it runs
/// in envd's memory until exec).
int spawn_child(void* arg) {
  auto& a = *static_cast<spawn_args*>(arg);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  ::setsid();
  auto fail = [&](char what) {
    a.failed_errno = errno;
    a.failed_step = what;
    _exit(127);
  };
  if (a.pty) {
    int slave = ::open(a.slave, O_RDWR);
    if (slave < 0)
      fail('p');
    ::ioctl(slave, TIOCSCTTY, 0);
    ::dup2(slave, 0);
    ::dup2(slave, 1);
    ::dup2(slave, 2);
    if (slave > 2)
      ::close(slave);
  } else {
    if (a.want_stdin)
      ::dup2(a.in, 0);
    else
      ::dup2(a.devnull >= 0 ? a.devnull : ::open("/dev/null", O_RDONLY), 0);
    ::dup2(a.out, 1);
    ::dup2(a.err, 2);
  }
  if (::setgroups(0, nullptr) != 0 && a.uid != 0)
    fail('u');
  if (::setgid(a.gid) != 0 || ::setuid(a.uid) != 0)
    fail('u');
  if (::chdir(a.cwd) != 0)
    fail('c');
  ::execvpe(a.argv[0], a.argv, a.envp);
  fail('e');
  return 127;
}

} // namespace

agent::agent(int fd) : sock_(fd) {
  set_nonblocking(sock_);
  // The node's socket must not reach the processes envd starts: they could
  // read its frames or forge envd's.
  ::fcntl(sock_, F_SETFD, FD_CLOEXEC);
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGPIPE);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigfd_ = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  devnull_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull_ >= 0 && devnull_ < 3) {
    // Not one of 0–2: a child's dup2 onto the same number would keep its
    // close-on-exec flag and leave the process without stdin.
    auto high = ::fcntl(devnull_, F_DUPFD_CLOEXEC, 3);
    ::close(devnull_);
    devnull_ = high;
  }
  handlers_[sock_] = [this](uint32_t ev) { on_socket(ev); };
  handlers_[sigfd_] = [this](uint32_t) {
    signalfd_siginfo info;
    while (::read(sigfd_, &info, sizeof(info)) == sizeof(info))
      ; // drain; reap() collects every child
    reap();
  };
  for (int fd : {sock_, sigfd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  }
  // Tell the node we are ready.
  from_envd hello;
  hello.mutable_pong()->set_version(SBX_VERSION);
  send(hello);
}

agent::~agent() {
  if (spawn_stack_ != nullptr)
    ::munmap(spawn_stack_, spawn_stack_size_ + ::sysconf(_SC_PAGESIZE));
  ::close(epfd_);
  ::close(sigfd_);
  if (devnull_ >= 0)
    ::close(devnull_);
}

int agent::run() {
  std::vector<epoll_event> events(64);
  while (!closing_) {
    // What this round queued for the node goes out in one write before
    // envd sleeps (a process's end event and its stream's end, say).
    if (!out_.empty() && !socket_full_)
      flush();
    int timeout = -1;
    auto now = clock::now();
    for (auto& [pid, p] : procs_)
      if (p.deadline && !p.timed_out && !p.ended) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    *p.deadline - now)
                    .count();
        auto t = static_cast<int>(std::max<long long>(0, ms + 1));
        timeout = timeout < 0 ? t : std::min(timeout, t);
      }
    // Poll at once only if a download may send now; one waiting for acks
    // must not spin.
    if (!congested())
      for (auto& [id, fd] : downloads_)
        if (unacked_[id] < stream_window) {
          timeout = 0;
          break;
        }
    auto n = ::epoll_wait(epfd_, events.data(), static_cast<int>(events.size()),
                          timeout);
    if (n < 0 && errno != EINTR)
      return 1;
    for (int i = 0; i < n; ++i) {
      auto h = handlers_.find(events[i].data.fd);
      if (h != handlers_.end()) {
        auto fn = h->second; // the handler may erase itself
        fn(events[i].events);
      }
    }
    check_deadlines();
    pump_downloads();
    refresh_interest();
  }
  return 0;
}

// -- I/O with the node --------------------------------------------------------

void agent::on_socket(uint32_t events) {
  if (events & EPOLLOUT)
    flush();
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
    return;
  char buf[64 * 1024];
  for (;;) {
    auto n = ::read(sock_, buf, sizeof(buf));
    if (n > 0) {
      in_.feed(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      break;
    closing_ = true; // the node is gone: so is the sandbox
    return;
  }
  to_envd msg;
  for (;;) {
    auto r = in_.take(msg);
    if (r == proto::take_result::incomplete)
      break;
    if (r == proto::take_result::bad) {
      closing_ = true;
      return;
    }
    handle(msg);
    msg.Clear();
  }
}

void agent::send(from_envd& msg) {
  proto::append_frame(out_, msg);
  // Written at the end of the loop's round, or now once there is plenty.
  if (out_.size() >= flush_threshold && !socket_full_)
    flush();
}

void agent::send_error(uint64_t id, const failure& f) {
  from_envd msg;
  msg.set_id(id);
  msg.mutable_error()->set_code(f.code);
  msg.mutable_error()->set_message(f.message);
  send(msg);
}

void agent::send_done(uint64_t id) {
  from_envd msg;
  msg.set_id(id);
  msg.mutable_done();
  send(msg);
}

void agent::flush() {
  size_t off = 0;
  while (off < out_.size()) {
    auto n = ::write(sock_, out_.data() + off, out_.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno != EAGAIN)
      closing_ = true;
    break;
  }
  out_.erase(0, off);
  // Ask for EPOLLOUT only while the socket is full, and say so to the
  // kernel only when that changes (not once per message).
  bool full = !out_.empty();
  if (full != socket_full_) {
    socket_full_ = full;
    set_interest(sock_, full ? EPOLLIN | EPOLLOUT : EPOLLIN);
  }
}

void agent::set_interest(int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  ::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
}

// -- requests -------------------------------------------------------------------

void agent::handle(to_envd& msg) {
  auto id = msg.id();
  switch (msg.msg_case()) {
    case to_envd::kInit:
      return do_init(id, msg.init());
    case to_envd::kStart:
      return do_start(id, msg.start());
    case to_envd::kConnect:
      return do_connect(id, msg.connect());
    case to_envd::kList:
      return do_list(id);
    case to_envd::kSendInput:
      return do_send_input(id, msg.send_input());
    case to_envd::kSendSignal:
      return do_signal(id, msg.send_signal());
    case to_envd::kUpdate:
      return do_update(id, msg.update());
    case to_envd::kCloseStdin:
      return do_close_stdin(id, msg.close_stdin());
    case to_envd::kFs:
      return do_fs(id, msg.fs());
    case to_envd::kWrite:
      return do_write(id, msg.write());
    case to_envd::kRead:
      return do_read(id, msg.read());
    case to_envd::kAck:
      return do_ack(id, msg.ack().bytes());
    case to_envd::kCancel:
      return do_cancel(id);
    case to_envd::kPing: {
      from_envd pong;
      pong.set_id(id);
      pong.mutable_pong()->set_processes(static_cast<uint32_t>(procs_.size()));
      pong.mutable_pong()->set_version(SBX_VERSION);
      return send(pong);
    }
    case to_envd::MSG_NOT_SET:
      return send_error(id, {Code::CODE_INVALID_ARGUMENT, "empty request"});
  }
}

std::optional<user_info> agent::user_of(const std::string& name,
                                        std::optional<failure>& f) const {
  auto n = name.empty() ? default_user_ : name;
  auto u = find_user(n);
  if (!u)
    f = failure{Code::CODE_UNAUTHENTICATED, "invalid username: '" + n + "'"};
  return u;
}

void agent::do_init(uint64_t id, const sandhive::envd::Init& x) {
  if (!x.default_user().empty() && !find_user(x.default_user()))
    return send_error(id, {Code::CODE_INVALID_ARGUMENT,
                           "unknown user '" + x.default_user() + "'"});
  envs_ = {x.envs().begin(), x.envs().end()};
  if (!x.default_user().empty())
    default_user_ = x.default_user();
  default_workdir_ = x.default_workdir();
  send_done(id);
}

void agent::do_start(uint64_t id, const sandhive::envd::Start& x) {
  std::optional<failure> f;
  auto u = user_of(x.user(), f);
  if (!u)
    return send_error(id, *f);
  auto& req = x.request();
  auto& cfg = req.process();
  if (cfg.cmd().empty())
    return send_error(id, {Code::CODE_INVALID_ARGUMENT, "process.cmd is empty"});
  std::string cwd;
  auto wanted = cfg.has_cwd() && !cfg.cwd().empty()
                  ? cfg.cwd()
                  : (default_workdir_.empty() ? u->home : default_workdir_);
  if (auto bad = resolve(wanted, *u, default_workdir_, cwd))
    return send_error(id, *bad);
  // Environment: PATH, HOME, USER, LOGNAME < sandbox envs < request envs.
  std::map<std::string, std::string> env{{"PATH", default_path},
                                         {"HOME", u->home},
                                         {"USER", u->name},
                                         {"LOGNAME", u->name}};
  for (auto& [k, v] : envs_)
    env[k] = v;
  for (auto& [k, v] : cfg.envs())
    env[k] = v;
  std::vector<std::string> env_strs;
  for (auto& [k, v] : env)
    env_strs.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strs)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args{cfg.cmd()};
  args.insert(args.end(), cfg.args().begin(), cfg.args().end());
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  bool pty = req.has_pty();
  bool want_stdin = req.has_stdin() ? req.stdin() : true;
  int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1};
  int master = -1;
  std::string slave_name;
  if (pty) {
    master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0)
      return send_error(id, {Code::CODE_RESOURCE_EXHAUSTED,
                             std::string{"cannot open a pty: "}
                               + std::strerror(errno)});
    slave_name = ::ptsname(master);
    winsize ws{};
    ws.ws_col = static_cast<unsigned short>(
      req.pty().size().cols() ? req.pty().size().cols() : 80);
    ws.ws_row = static_cast<unsigned short>(
      req.pty().size().rows() ? req.pty().size().rows() : 24);
    ::ioctl(master, TIOCSWINSZ, &ws);
  } else {
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0
        || (want_stdin && ::pipe2(in, O_CLOEXEC) != 0))
      return send_error(id, {Code::CODE_RESOURCE_EXHAUSTED,
                             std::string{"cannot make pipes: "}
                               + std::strerror(errno)});
  }
  spawn_args sa;
  sa.pty = pty;
  sa.slave = slave_name.c_str();
  sa.want_stdin = want_stdin;
  sa.in = in[0];
  sa.out = out[1];
  sa.err = err[1];
  sa.devnull = devnull_;
  sa.failed_step = 0;
  sa.failed_errno = 0;
  sa.uid = u->uid;
  sa.gid = u->gid;
  sa.cwd = cwd.c_str();
  sa.argv = argv.data();
  sa.envp = envp.data();
  // Like posix_spawn: the child shares envd's memory (no page tables to
  // copy) and envd waits until it has exec'd or failed, so one stack serves
  // every start. It is sized as glibc sizes posix_spawn's (execvpe may copy
  // argv onto it) and has a guard page, so an overrun faults instead of
  // corrupting envd.
  auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  auto stack_size = ((argv.size() + 2) * sizeof(char*) + 32 * 1024 + page - 1)
                    / page * page;
  if (stack_size > spawn_stack_size_) {
    if (spawn_stack_ != nullptr)
      ::munmap(spawn_stack_, spawn_stack_size_ + page);
    auto m = ::mmap(nullptr, stack_size + page, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    spawn_stack_ = m == MAP_FAILED ? nullptr : static_cast<char*>(m);
    spawn_stack_size_ = m == MAP_FAILED ? 0 : stack_size;
    if (spawn_stack_ != nullptr)
      ::mprotect(spawn_stack_, page, PROT_NONE);
  }
  pid_t pid = -1;
  if (spawn_stack_ != nullptr)
    pid = ::clone(spawn_child, spawn_stack_ + page + spawn_stack_size_,
                  CLONE_VM | CLONE_VFORK | SIGCHLD, &sa);
  else
    errno = ENOMEM;
  int e = pid < 0 ? errno : sa.failed_errno;
  for (int fd : {out[1], err[1], in[0]})
    if (fd >= 0)
      ::close(fd);
  if (pid < 0 || sa.failed_step != 0) {
    if (pid > 0)
      ::waitpid(pid, nullptr, 0);
    for (int fd : {out[0], err[0], in[1], master})
      if (fd >= 0)
        ::close(fd);
    if (pid < 0)
      return send_error(id, {Code::CODE_RESOURCE_EXHAUSTED,
                             std::string{"cannot fork: "} + std::strerror(e)});
    switch (sa.failed_step) {
      case 'c':
        return send_error(id, {Code::CODE_INVALID_ARGUMENT,
                               "cannot use working directory '" + cwd
                                 + "': " + std::strerror(e)});
      case 'e':
        return send_error(id, {e == ENOENT ? Code::CODE_NOT_FOUND
                                           : Code::CODE_INVALID_ARGUMENT,
                               "cannot run '" + cfg.cmd()
                                 + "': " + std::strerror(e)});
      default:
        return send_error(id, {Code::CODE_INTERNAL,
                               std::string{"cannot start the process: "}
                                 + std::strerror(e)});
    }
  }
  proc p;
  p.pid = pid;
  p.config = cfg;
  if (req.has_tag())
    p.tag = req.tag();
  p.pty = pty;
  if (pty) {
    p.out = master;
    p.in = master;
  } else {
    p.out = out[0];
    p.err = err[0];
    p.in = want_stdin ? in[1] : -1;
  }
  p.subs.insert(id);
  if (x.timeout_ms() > 0)
    p.deadline = clock::now() + std::chrono::milliseconds{x.timeout_ms()};
  for (int fd : {p.out, p.err}) {
    if (fd < 0)
      continue;
    set_nonblocking(fd);
    bool is_err = fd == p.err;
    handlers_[fd] = [this, pid, fd, is_err](uint32_t ev) {
      // A PTY master is also where input waits to be written.
      if (ev & EPOLLOUT)
        on_input_writable(pid);
      if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
        on_output(pid, fd, is_err);
    };
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  }
  if (p.in >= 0 && !pty)
    set_nonblocking(p.in);
  // A new process may reuse the pid of a finished one we still remember.
  finished_.erase(std::remove(finished_.begin(), finished_.end(), pid),
                  finished_.end());
  procs_[pid] = std::move(p);
  from_envd start;
  start.set_id(id);
  start.mutable_event()->mutable_start()->set_pid(static_cast<uint32_t>(pid));
  send(start);
}

agent::proc* agent::find(const process::ProcessSelector& sel) {
  for (auto& [pid, p] : procs_) {
    if (sel.has_tag() ? (p.tag && *p.tag == sel.tag())
                      : static_cast<uint32_t>(pid) == sel.pid())
      return &p;
  }
  return nullptr;
}

agent::proc* agent::find_or_report(uint64_t id,
                                   const process::ProcessSelector& sel,
                                   bool include_ended) {
  auto p = find(sel);
  if (p != nullptr && (include_ended || !p->ended))
    return p;
  send_error(id, {Code::CODE_NOT_FOUND,
                  "process with " + describe(sel) + " not found"});
  return nullptr;
}

void agent::do_connect(uint64_t id, const process::ConnectRequest& x) {
  auto p = find_or_report(id, x.process(), true);
  if (p == nullptr)
    return;
  from_envd start;
  start.set_id(id);
  start.mutable_event()->mutable_start()->set_pid(static_cast<uint32_t>(p->pid));
  send(start);
  if (p->ended) {
    from_envd end;
    end.set_id(id);
    *end.mutable_event() = p->end_event;
    send(end);
    return send_done(id);
  }
  p->subs.insert(id);
}

void agent::do_list(uint64_t id) {
  from_envd msg;
  msg.set_id(id);
  auto list = msg.mutable_processes();
  for (auto& [pid, p] : procs_) {
    if (p.ended)
      continue;
    auto info = list->add_processes();
    *info->mutable_config() = p.config;
    info->set_pid(static_cast<uint32_t>(pid));
    if (p.tag)
      info->set_tag(*p.tag);
  }
  send(msg);
}

void agent::do_send_input(uint64_t id, const process::SendInputRequest& x) {
  auto p = find_or_report(id, x.process());
  if (p == nullptr)
    return;
  auto& input = x.input();
  if (input.has_pty() != p->pty && (input.has_pty() || input.has_stdin()))
    return send_error(id, {Code::CODE_INVALID_ARGUMENT,
                           p->pty ? "the process has a pty: send input.pty"
                                  : "the process has no pty: send input.stdin"});
  if (p->in < 0 || p->close_in_after_flush)
    return send_error(id, {Code::CODE_FAILED_PRECONDITION,
                           "stdin of the process is closed"});
  p->in_buf += p->pty ? input.pty() : input.stdin();
  write_input(*p);
  send_done(id);
}

void agent::write_input(proc& p) {
  while (!p.in_buf.empty()) {
    auto n = ::write(p.in, p.in_buf.data(), p.in_buf.size());
    if (n > 0) {
      p.in_buf.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN && p.pty) {
      // The terminal's input queue is full: keep the rest and wait for the
      // master to become writable (it is registered already, for output).
      set_interest(p.in, output_interest(p) | EPOLLOUT);
      return;
    }
    if (n < 0 && errno == EAGAIN && !p.pty) {
      // Wait until the process reads; the pipe tells us via EPOLLOUT.
      auto pid = p.pid;
      if (!handlers_.count(p.in)) {
        handlers_[p.in] = [this, pid](uint32_t) { on_input_writable(pid); };
        epoll_event ev{};
        ev.events = EPOLLOUT;
        ev.data.fd = p.in;
        ::epoll_ctl(epfd_, EPOLL_CTL_ADD, p.in, &ev);
      }
      return;
    }
    p.in_buf.clear(); // the reader is gone
    break;
  }
  if (p.pty && p.in >= 0)
    set_interest(p.in, output_interest(p));
  if (!p.pty && handlers_.count(p.in)) {
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, p.in, nullptr);
    handlers_.erase(p.in);
  }
  if (p.close_in_after_flush && !p.pty && p.in >= 0) {
    ::close(p.in);
    p.in = -1;
  }
}

void agent::on_input_writable(pid_t pid) {
  auto i = procs_.find(pid);
  if (i != procs_.end())
    write_input(i->second);
}

void agent::do_signal(uint64_t id, const process::SendSignalRequest& x) {
  auto p = find_or_report(id, x.process());
  if (p == nullptr)
    return;
  int sig;
  switch (x.signal()) {
    case process::SIGNAL_SIGKILL:
      sig = SIGKILL;
      break;
    case process::SIGNAL_SIGTERM:
      sig = SIGTERM;
      break;
    default:
      return send_error(id, {Code::CODE_INVALID_ARGUMENT,
                             "unsupported signal " + std::to_string(x.signal())});
  }
  // The process leads its own session: the signal reaches its whole tree.
  if (::kill(-p->pid, sig) != 0)
    ::kill(p->pid, sig);
  send_done(id);
}

void agent::do_update(uint64_t id, const process::UpdateRequest& x) {
  auto p = find_or_report(id, x.process());
  if (p == nullptr)
    return;
  if (x.has_pty()) {
    if (!p->pty)
      return send_error(id, {Code::CODE_INVALID_ARGUMENT,
                             "the process has no pty to resize"});
    winsize ws{};
    ws.ws_col = static_cast<unsigned short>(x.pty().size().cols());
    ws.ws_row = static_cast<unsigned short>(x.pty().size().rows());
    if (ws.ws_col == 0 || ws.ws_row == 0)
      return send_error(id, {Code::CODE_INVALID_ARGUMENT,
                             "pty size needs cols and rows above 0"});
    ::ioctl(p->out, TIOCSWINSZ, &ws);
  }
  send_done(id);
}

void agent::do_close_stdin(uint64_t id, const process::CloseStdinRequest& x) {
  auto p = find_or_report(id, x.process());
  if (p == nullptr)
    return;
  if (p->pty)
    return send_error(id, {Code::CODE_INVALID_ARGUMENT,
                           "a pty has no stdin to close"});
  p->close_in_after_flush = true;
  write_input(*p);
  send_done(id);
}

void agent::do_fs(uint64_t id, const sandhive::envd::Fs& x) {
  std::optional<failure> f;
  auto u = user_of(x.user(), f);
  if (!u)
    return send_error(id, *f);
  as_user creds{*u};
  from_envd reply;
  reply.set_id(id);
  std::string path, dest;
  using op = sandhive::envd::Fs;
  switch (x.op_case()) {
    case op::kStat:
      if (!(f = resolve(x.stat().path(), *u, default_workdir_, path)))
        f = stat_entry(path, *reply.mutable_entry());
      break;
    case op::kMakeDir:
      if (!(f = resolve(x.make_dir().path(), *u, default_workdir_, path)))
        f = make_dir(path, *reply.mutable_entry());
      break;
    case op::kMove:
      if (!(f = resolve(x.move().source(), *u, default_workdir_, path))
          && !(f = resolve(x.move().destination(), *u, default_workdir_, dest)))
        f = move(path, dest, *reply.mutable_entry());
      break;
    case op::kListDir:
      if (!(f = resolve(x.list_dir().path(), *u, default_workdir_, path)))
        f = list_dir(path, x.list_dir().depth(), *reply.mutable_entries());
      break;
    case op::kRemove:
      if (!(f = resolve(x.remove().path(), *u, default_workdir_, path))) {
        if (path == "/")
          f = failure{Code::CODE_INVALID_ARGUMENT, "refusing to remove '/'"};
        else if (!(f = remove_all(path)))
          reply.mutable_done();
      }
      break;
    case op::kWatch: {
      auto& req = x.watch();
      if ((f = resolve(req.path(), *u, default_workdir_, path)))
        break;
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) {
        f = from_errno(errno, path);
        break;
      }
      if (!S_ISDIR(st.st_mode)) {
        f = failure{Code::CODE_INVALID_ARGUMENT,
                    "path '" + path + "' is not a directory"};
        break;
      }
      watch w;
      w.fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
      if (w.fd < 0) {
        f = failure{Code::CODE_RESOURCE_EXHAUSTED,
                    std::string{"cannot watch: "} + std::strerror(errno)};
        break;
      }
      w.recursive = req.recursive();
      w.include_entry = req.include_entry();
      w.root = path;
      add_watch_dir(w, "");
      handlers_[w.fd] = [this, id](uint32_t) { on_watch(id); };
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = w.fd;
      ::epoll_ctl(epfd_, EPOLL_CTL_ADD, w.fd, &ev);
      watches_[id] = std::move(w);
      reply.mutable_watch_started();
      break;
    }
    case op::OP_NOT_SET:
      f = failure{Code::CODE_INVALID_ARGUMENT, "empty filesystem request"};
  }
  if (f)
    return send_error(id, *f);
  send(reply);
}

void agent::add_watch_dir(watch& w, const std::string& rel) {
  auto dir = rel.empty() ? w.root : w.root + "/" + rel;
  auto wd = ::inotify_add_watch(w.fd, dir.c_str(),
                                IN_CREATE | IN_MODIFY | IN_DELETE | IN_MOVED_FROM
                                  | IN_MOVED_TO | IN_ATTRIB | IN_ONLYDIR);
  if (wd < 0)
    return;
  w.dirs[wd] = rel;
  if (!w.recursive)
    return;
  auto d = ::opendir(dir.c_str());
  if (d == nullptr)
    return;
  std::vector<std::string> subs;
  while (auto e = ::readdir(d)) {
    std::string name = e->d_name;
    if (e->d_type == DT_DIR && name != "." && name != "..")
      subs.push_back(rel.empty() ? name : rel + "/" + name);
  }
  ::closedir(d);
  for (auto& s : subs)
    add_watch_dir(w, s);
}

void agent::on_watch(uint64_t id) {
  auto i = watches_.find(id);
  if (i == watches_.end())
    return;
  auto& w = i->second;
  alignas(inotify_event) char buf[16 * 1024];
  for (;;) {
    auto n = ::read(w.fd, buf, sizeof(buf));
    if (n <= 0)
      return;
    for (char* p = buf; p < buf + n;) {
      auto ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      auto dir = w.dirs.find(ev->wd);
      if (dir == w.dirs.end() || ev->len == 0)
        continue;
      std::string name = ev->name;
      auto rel = dir->second.empty() ? name : dir->second + "/" + name;
      filesystem::EventType type;
      if (ev->mask & (IN_CREATE | IN_MOVED_TO))
        type = filesystem::EVENT_TYPE_CREATE;
      else if (ev->mask & IN_MODIFY)
        type = filesystem::EVENT_TYPE_WRITE;
      else if (ev->mask & IN_DELETE)
        type = filesystem::EVENT_TYPE_REMOVE;
      else if (ev->mask & IN_MOVED_FROM)
        type = filesystem::EVENT_TYPE_RENAME;
      else if (ev->mask & IN_ATTRIB)
        type = filesystem::EVENT_TYPE_CHMOD;
      else
        continue;
      if (w.recursive && (ev->mask & IN_ISDIR)
          && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
        add_watch_dir(w, rel);
      from_envd msg;
      msg.set_id(id);
      auto fe = msg.mutable_fs_event();
      fe->set_name(rel);
      fe->set_type(type);
      if (w.include_entry && type != filesystem::EVENT_TYPE_REMOVE
          && type != filesystem::EVENT_TYPE_RENAME)
        if (stat_entry(w.root + "/" + rel, *fe->mutable_entry()))
          fe->clear_entry();
      send(msg);
    }
  }
}

void agent::do_write(uint64_t id, const sandhive::envd::WriteChunk& x) {
  auto i = uploads_.find(id);
  if (i == uploads_.end()) {
    upload up;
    std::optional<failure> f;
    auto u = user_of(x.user(), f);
    std::string path;
    if (u)
      f = resolve(x.path(), *u, default_workdir_, path);
    if (!f) {
      as_user creds{*u};
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        f = not_a_file(path, st);
      else if (!(f = make_parents(path))) {
        // Non-blocking: a FIFO put there meanwhile must not stop envd.
        up.fd = ::open(path.c_str(),
                       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK,
                       0644);
        if (up.fd < 0)
          f = from_errno(errno, path);
        else if (::fstat(up.fd, &st) != 0 || !S_ISREG(st.st_mode))
          f = not_a_file(path, st);
        else
          f = set_metadata(up.fd, {x.metadata().begin(), x.metadata().end()});
      }
    }
    up.path = path;
    if (f) {
      if (up.fd >= 0) {
        ::close(up.fd);
        up.fd = -1;
        ::unlink(path.c_str());
      }
      send_error(id, *f);
      up.failed = true;
    }
    i = uploads_.emplace(id, std::move(up)).first;
  }
  auto& up = i->second;
  if (!up.failed) {
    auto& data = x.data();
    size_t off = 0;
    while (off < data.size()) {
      auto n = ::write(up.fd, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        auto f = from_errno(n < 0 ? errno : ENOSPC, up.path);
        // Leave nothing half-written behind, and no descriptor open.
        ::close(up.fd);
        up.fd = -1;
        ::unlink(up.path.c_str());
        send_error(id, f);
        up.failed = true;
        break;
      }
      off += static_cast<size_t>(n);
    }
  }
  if (!x.last())
    return;
  if (up.fd >= 0)
    ::close(up.fd);
  if (!up.failed) {
    from_envd reply;
    reply.set_id(id);
    if (auto f = stat_entry(up.path, *reply.mutable_entry()))
      send_error(id, *f);
    else
      send(reply);
  }
  uploads_.erase(id);
}

void agent::do_read(uint64_t id, const sandhive::envd::ReadFile& x) {
  std::optional<failure> f;
  auto u = user_of(x.user(), f);
  if (!u)
    return send_error(id, *f);
  std::string path;
  if ((f = resolve(x.path(), *u, default_workdir_, path)))
    return send_error(id, *f);
  as_user creds{*u};
  // Non-blocking: opening a FIFO without a writer would stop envd, and with
  // it every process and file of the sandbox.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return send_error(id, from_errno(errno, path));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return send_error(id, not_a_file(path, st));
  }
  downloads_[id] = fd;
}

void agent::pump_downloads() {
  std::string chunk;
  for (auto i = downloads_.begin(); i != downloads_.end();) {
    auto id = i->first;
    auto done = false;
    while (!congested() && unacked_[id] < stream_window) {
      chunk.resize(chunk_size);
      auto n = ::read(i->second, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        send_error(id, from_errno(errno, "file"));
        done = true;
        break;
      }
      if (n == 0) {
        send_done(id);
        done = true;
        break;
      }
      chunk.resize(static_cast<size_t>(n));
      from_envd msg;
      msg.set_id(id);
      msg.set_data(chunk);
      unacked_[id] += static_cast<uint64_t>(n);
      send(msg);
    }
    if (done) {
      ::close(i->second);
      unacked_.erase(id);
      i = downloads_.erase(i);
    } else {
      ++i;
    }
  }
}

void agent::do_ack(uint64_t id, uint64_t bytes) {
  auto i = unacked_.find(id);
  if (i == unacked_.end())
    return;
  i->second = bytes >= i->second ? 0 : i->second - bytes;
}

void agent::do_cancel(uint64_t id) {
  for (auto& [pid, p] : procs_)
    p.subs.erase(id);
  unacked_.erase(id);
  if (auto w = watches_.find(id); w != watches_.end()) {
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, w->second.fd, nullptr);
    handlers_.erase(w->second.fd);
    ::close(w->second.fd);
    watches_.erase(w);
  }
  if (auto d = downloads_.find(id); d != downloads_.end()) {
    ::close(d->second);
    downloads_.erase(d);
  }
  if (auto up = uploads_.find(id); up != uploads_.end()) {
    if (up->second.fd >= 0) {
      ::close(up->second.fd);
      ::unlink(up->second.path.c_str());
    }
    uploads_.erase(up);
  }
}

// -- processes ------------------------------------------------------------------

void agent::on_output(pid_t pid, int fd, bool is_err) {
  auto i = procs_.find(pid);
  if (i == procs_.end())
    return;
  auto& p = i->second;
  char buf[32 * 1024];
  auto n = ::read(fd, buf, sizeof(buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) {
    // EOF, or EIO on a PTY master whose last slave closed.
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    handlers_.erase(fd);
    if (fd != p.in)
      ::close(fd);
    else
      p.in = -1, ::close(fd);
    (is_err ? p.err : p.out) = -1;
    return maybe_end(p);
  }
  std::string data{buf, static_cast<size_t>(n)};
  for (auto sub : p.subs) {
    from_envd msg;
    msg.set_id(sub);
    auto d = msg.mutable_event()->mutable_data();
    if (p.pty)
      d->set_pty(data);
    else if (is_err)
      d->set_stderr(data);
    else
      d->set_stdout(data);
    unacked_[sub] += static_cast<uint64_t>(n);
    send(msg);
  }
  // With no subscriber the output is dropped: a background process must not
  // block on a full pipe.
}

bool agent::stream_blocked(const std::set<uint64_t>& ids) const {
  for (auto id : ids) {
    auto i = unacked_.find(id);
    if (i != unacked_.end() && i->second >= stream_window)
      return true;
  }
  return false;
}

uint32_t agent::output_interest(const proc& p) const {
  return p.paused ? 0u : uint32_t{EPOLLIN};
}

void agent::refresh_interest() {
  auto congested_now = congested();
  for (auto& [pid, p] : procs_) {
    auto pause = congested_now || stream_blocked(p.subs);
    if (pause == p.paused)
      continue;
    p.paused = pause;
    for (int fd : {p.out, p.err})
      if (fd >= 0)
        set_interest(fd, output_interest(p)
                           | (p.pty && !p.in_buf.empty() ? EPOLLOUT : 0u));
  }
  for (auto& [id, w] : watches_) {
    if (congested_now == w.paused)
      continue;
    w.paused = congested_now;
    set_interest(w.fd, congested_now ? 0u : uint32_t{EPOLLIN});
  }
}

void agent::reap() {
  for (;;) {
    int status = 0;
    auto pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0)
      return;
    auto i = procs_.find(pid);
    if (i == procs_.end())
      continue; // an orphan adopted by PID 1
    i->second.exited = true;
    i->second.status = status;
    maybe_end(i->second);
  }
}

void agent::maybe_end(proc& p) {
  if (p.ended || !p.exited || p.out >= 0 || p.err >= 0)
    return;
  p.ended = true;
  auto end = p.end_event.mutable_end();
  if (WIFEXITED(p.status)) {
    end->set_exit_code(WEXITSTATUS(p.status));
    end->set_exited(true);
    end->set_status("exit status " + std::to_string(WEXITSTATUS(p.status)));
  } else {
    auto sig = WIFSIGNALED(p.status) ? WTERMSIG(p.status) : 0;
    end->set_exit_code(-1);
    end->set_exited(false);
    end->set_status(signal_status(sig));
  }
  if (p.timed_out)
    end->set_error("context deadline exceeded");
  if (p.in >= 0 && !p.pty)
    ::close(p.in);
  if (p.in >= 0 && handlers_.count(p.in)) {
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, p.in, nullptr);
    handlers_.erase(p.in);
  }
  p.in = -1;
  for (auto sub : p.subs) {
    from_envd msg;
    msg.set_id(sub);
    *msg.mutable_event() = p.end_event;
    send(msg);
    send_done(sub);
    unacked_.erase(sub);
  }
  p.subs.clear();
  finished_.push_back(p.pid);
  while (finished_.size() > finished_kept) {
    procs_.erase(finished_.front());
    finished_.pop_front();
  }
}

void agent::check_deadlines() {
  auto now = clock::now();
  for (auto& [pid, p] : procs_)
    if (p.deadline && !p.timed_out && !p.ended && now >= *p.deadline) {
      p.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
    }
}

} // namespace sbx::envd
