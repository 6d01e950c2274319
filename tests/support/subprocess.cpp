#include "tests/support/subprocess.hpp"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sbx::test {

namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

} // namespace

subprocess::subprocess(std::vector<std::string> argv,
                       std::vector<std::pair<std::string, std::string>> env) {
  char tmpl[] = "/tmp/sbx-proc-XXXXXX";
  auto dir = std::string{::mkdtemp(tmpl)};
  out_file_ = dir + "/stdout";
  err_file_ = dir + "/stderr";
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    int out = ::open(out_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, STDIN_FILENO);
    for (auto& [k, v] : env)
      ::setenv(k.c_str(), v.c_str(), 1);
    ::execv(args[0], args.data());
    std::perror("exec");
    _exit(127);
  }
}

terminal_process::terminal_process(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  winsize ws{};
  ws.ws_col = 120;
  ws.ws_row = 40;
  pid_ = ::forkpty(&fd_, nullptr, nullptr, &ws);
  if (pid_ == 0) {
    ::setenv("TERM", "xterm", 1);
    ::execv(args[0], args.data());
    std::perror("exec");
    _exit(127);
  }
}

terminal_process::~terminal_process() {
  if (!status_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    exit_code(std::chrono::seconds{5});
  }
  if (fd_ >= 0)
    ::close(fd_);
}

void terminal_process::type(const std::string& keys) {
  // One key at a time, as typed: line editors read them so.
  for (auto c : keys) {
    if (::write(fd_, &c, 1) != 1)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
}

void terminal_process::read_some(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0)
    return;
  char buf[4096];
  auto n = ::read(fd_, buf, sizeof(buf));
  if (n > 0)
    out_.append(buf, static_cast<size_t>(n));
}

bool terminal_process::wait_for_text(const std::string& what,
                                     std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out_.find(what) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    read_some(std::chrono::milliseconds{50});
  }
  return true;
}

int terminal_process::exit_code(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!status_) {
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = st;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline)
      return -1;
    read_some(std::chrono::milliseconds{20});
  }
  return WIFEXITED(*status_) ? WEXITSTATUS(*status_) : -1;
}

subprocess::~subprocess() {
  // Asked to stop first: a sandhive stopped so removes its sandboxes and
  // cgroups, where a killed one leaves them on the machine.
  if (running()) {
    ::kill(pid_, SIGTERM);
    wait_for(std::chrono::seconds{5});
  }
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait_for(std::chrono::seconds{5});
  }
  std::error_code ignored;
  fs::remove_all(fs::path{out_file_}.parent_path(), ignored);
}

std::optional<int> subprocess::wait_for(std::chrono::milliseconds timeout) {
  if (status_)
    return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = st;
      return status_;
    }
    if (std::chrono::steady_clock::now() > deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

int subprocess::exit_code(std::chrono::milliseconds timeout) {
  auto st = wait_for(timeout);
  if (!st || !WIFEXITED(*st))
    return -1;
  return WEXITSTATUS(*st);
}

void subprocess::signal(int sig) {
  if (running())
    ::kill(pid_, sig);
}

bool subprocess::running() {
  return pid_ > 0 && !wait_for(std::chrono::milliseconds{0});
}

std::string subprocess::out() const {
  return slurp(out_file_);
}

std::string subprocess::err() const {
  return slurp(err_file_);
}

std::vector<pid_t> subprocess::children() const {
  std::vector<pid_t> result;
  for (auto& entry : fs::directory_iterator{"/proc/" + std::to_string(pid_)
                                            + "/task"}) {
    std::istringstream in{slurp(entry.path().string() + "/children")};
    pid_t p;
    while (in >> p)
      result.push_back(p);
  }
  return result;
}

bool process_alive(pid_t pid) {
  auto stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty())
    return false;
  auto close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size()
         || stat[close + 2] != 'Z';
}

std::string sandhive_binary() {
  if (auto x = std::getenv("SANDHIVE_BINARY"))
    return x;
  return SBX_TEST_BINARY;
}

temp_dir::temp_dir() {
  char tmpl[] = "/tmp/sbx-test-XXXXXX";
  path_ = ::mkdtemp(tmpl);
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

} // namespace sbx::test
