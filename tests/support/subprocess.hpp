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

/// A child process on a pseudo-terminal, driven as a person at a keyboard
/// would: keys in, the screen's bytes out.
class terminal_process {
public:
  explicit terminal_process(std::vector<std::string> argv);

  /// Kills the child if it still runs.
  ~terminal_process();

  /// Types `keys` (control characters included).
  void type(const std::string& keys);

  /// Reads until the output since the last `clear` contains `what`; false
  /// after `timeout`.
  bool wait_for_text(const std::string& what,
                     std::chrono::milliseconds timeout
                     = std::chrono::seconds{15});

  /// Everything read since the last `clear`.
  const std::string& output() const {
    return out_;
  }

  /// Forgets what was read so far.
  void clear() {
    out_.clear();
  }

  /// The exit code once the child exited within `timeout`, else -1.
  int exit_code(std::chrono::milliseconds timeout);

private:
  void read_some(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int fd_ = -1;
  std::string out_;
  std::optional<int> status_;
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
