#include "tests/support/subprocess.hpp"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <csignal>
#include <fcntl.h>
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

subprocess::~subprocess() {
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
