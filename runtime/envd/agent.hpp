#pragma once

#include "runtime/envd/fs_ops.hpp"
#include "runtime/proto/frame.hpp"

#include "envd.pb.h"

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <sys/types.h>

namespace sbx::envd {

/// The agent inside a sandbox: a single-threaded epoll loop that serves the
/// node's requests on one socket, runs and streams processes, serves files
/// and watches directories, and reaps every child (it is PID 1).
class agent {
public:
  using clock = std::chrono::steady_clock;

  /// Unacknowledged bytes a stream may have before its producer pauses.
  static constexpr uint64_t stream_window = 256 * 1024;

  /// Bytes queued towards the node before every producer pauses.
  static constexpr size_t out_limit = 1 << 20;

  /// Queued bytes that are written at once instead of at the round's end.
  static constexpr size_t flush_threshold = 64 * 1024;

  /// Finished processes remembered for a late Connect.
  static constexpr size_t finished_kept = 64;

  /// Serves the node on the connected socket `fd`.
  explicit agent(int fd);
  ~agent();

  /// Runs until the node closes the socket; returns the exit code.
  int run();

private:
  using to_envd = sandhive::envd::ToEnvd;
  using from_envd = sandhive::envd::FromEnvd;

  struct proc {
    pid_t pid = 0;
    process::ProcessConfig config;
    std::optional<std::string> tag;
    bool pty = false;
    int out = -1; // stdout pipe, or the PTY master
    int err = -1; // stderr pipe
    int in = -1;  // stdin pipe (the master when a PTY)
    std::string in_buf;
    bool close_in_after_flush = false;
    std::set<uint64_t> subs;
    bool exited = false;
    int status = 0;
    std::optional<clock::time_point> deadline;
    bool timed_out = false;
    bool ended = false;
    process::ProcessEvent end_event;
    bool paused = false;
  };

  struct watch {
    int fd = -1;
    bool recursive = false;
    bool include_entry = false;
    std::string root;
    std::map<int, std::string> dirs; // wd → path relative to root
    bool paused = false;
  };

  struct upload {
    int fd = -1;
    std::string path;
    bool failed = false;
  };

  // -- I/O with the node ------------------------------------------------------
  void on_socket(uint32_t events);
  void send(from_envd& msg);
  void send_error(uint64_t id, const failure& f);
  void send_done(uint64_t id);
  void flush();
  bool congested() const {
    return out_.size() > out_limit;
  }

  // -- requests ---------------------------------------------------------------
  void handle(to_envd& msg);
  void do_init(uint64_t id, const sandhive::envd::Init& x);
  void do_start(uint64_t id, const sandhive::envd::Start& x);
  void do_connect(uint64_t id, const process::ConnectRequest& x);
  void do_list(uint64_t id);
  void do_send_input(uint64_t id, const process::SendInputRequest& x);
  void do_signal(uint64_t id, const process::SendSignalRequest& x);
  void do_update(uint64_t id, const process::UpdateRequest& x);
  void do_close_stdin(uint64_t id, const process::CloseStdinRequest& x);
  void do_fs(uint64_t id, const sandhive::envd::Fs& x);
  void do_write(uint64_t id, const sandhive::envd::WriteChunk& x);
  void do_read(uint64_t id, const sandhive::envd::ReadFile& x);
  void do_ack(uint64_t id, uint64_t bytes);
  void do_cancel(uint64_t id);

  /// The user named `name` (the default user when empty).
  std::optional<user_info> user_of(const std::string& name,
                                   std::optional<failure>& f) const;

  // -- processes --------------------------------------------------------------
  proc* find(const process::ProcessSelector& sel);
  /// The selected process (running, or also ended when `include_ended`);
  /// otherwise answers request `id` with not_found and returns null.
  proc* find_or_report(uint64_t id, const process::ProcessSelector& sel,
                       bool include_ended = false);
  void on_output(pid_t pid, int fd, bool is_err);
  void on_input_writable(pid_t pid);
  void write_input(proc& p);
  void reap();
  void maybe_end(proc& p);
  void check_deadlines();
  void refresh_interest();
  void set_interest(int fd, uint32_t events);
  /// EPOLLIN unless the process's output is paused by flow control.
  uint32_t output_interest(const proc& p) const;
  bool stream_blocked(const std::set<uint64_t>& ids) const;

  // -- files and watches ------------------------------------------------------
  void on_watch(uint64_t id);
  void add_watch_dir(watch& w, const std::string& rel);
  void pump_downloads();

  // -- state --------------------------------------------------------------------
  int sock_;
  int epfd_ = -1;
  int sigfd_ = -1;
  /// Stdin of processes started without one.
  int devnull_ = -1;
  /// The node's socket took less than we had: wait for EPOLLOUT.
  bool socket_full_ = false;
  /// The stack new processes run on until they exec (below it a guard
  /// page), kept from one start to the next: mapping a fresh one costs
  /// three system calls and page faults on every start.
  char* spawn_stack_ = nullptr;
  size_t spawn_stack_size_ = 0;
  bool closing_ = false;
  proto::frame_reader in_;
  std::string out_;
  std::unordered_map<int, std::function<void(uint32_t)>> handlers_;
  std::map<uint64_t, uint64_t> unacked_; // stream id → bytes in flight
  std::map<pid_t, proc> procs_;
  std::deque<pid_t> finished_;
  std::map<uint64_t, watch> watches_;
  std::map<uint64_t, upload> uploads_;
  std::map<uint64_t, int> downloads_;
  std::map<std::string, std::string> envs_;
  std::string default_user_ = "root";
  std::string default_workdir_;

};

} // namespace sbx::envd
