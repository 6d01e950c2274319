#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace sbx::test {

/// A child process for tests, its stdout and stderr captured in files.
class subprocess {
public:
  /// Starts `argv` with `env` added to (or overriding) the environment.
  subprocess(std::vector<std::string> argv,
             std::vector<std::pair<std::string, std::string>> env = {});

  /// Kills the child if it still runs.
  ~subprocess();

  pid_t pid() const {
    return pid_;
  }

  /// The wait status once the child exited within `timeout`.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);

  /// The exit code, or -1 if it did not exit normally within `timeout`.
  int exit_code(std::chrono::milliseconds timeout);

  void signal(int sig);

  bool running();

  std::string out() const;
  std::string err() const;

  /// Pids of the child's own children (from /proc).
  std::vector<pid_t> children() const;

private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_file_;
  std::string err_file_;
};

/// True if process `pid` exists (and is not a zombie).
bool process_alive(pid_t pid);

/// Path of the sandhive binary under test.
std::string sandhive_binary();

/// A fresh directory under /tmp, removed by the destructor.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();

  const std::string& path() const {
    return path_;
  }

private:
  std::string path_;
};

} // namespace sbx::test
