#pragma once

#include "actors/interfaces.hpp"
#include "runtime/sandbox/envd_hub.hpp"

#include "envd.pb.h"

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sbx {

/// Where the envd hub delivers the events of each open stream: straight to
/// the stream's sink, from the hub's thread, without a hop through the
/// sandbox actor. Shared by the actor (which opens and closes routes) and
/// the hub callback (which reads them).
struct stream_routes {
  std::mutex mtx;
  std::unordered_map<uint64_t, caf::actor> sinks;

  void add(uint64_t id, caf::actor sink) {
    std::lock_guard<std::mutex> guard{mtx};
    sinks.emplace(id, std::move(sink));
  }

  /// Returns whether the route was still open (its end not yet delivered).
  bool remove(uint64_t id) {
    std::lock_guard<std::mutex> guard{mtx};
    return sinks.erase(id) > 0;
  }
};

/// Everything a sandbox actor starts from.
struct sandbox_config {
  /// What the driver starts (id, template root, limits).
  sandbox_spec spec;
  std::string template_id;
  /// The template's defaults for envd.
  std::string default_user = "user";
  std::string workdir = "/home/user";
  std::map<std::string, std::string> template_env;
  /// Reported to when the sandbox ends.
  node_actor node;
  std::string node_name;
  /// Runs the blocking driver calls.
  driver_worker_actor worker;
  std::shared_ptr<envd_hub> hub;
  /// How long envd may take to answer after the start.
  std::chrono::milliseconds start_timeout{15'000};
};

/// One sandbox, as a state machine:
///
///          create ok, envd hello, init
///  starting ─────────────────────────► running ◄──────────┐
///     │                                  │  │   resume     │
///     │ failure                    pause │  └──────────► paused
///     ▼                                  ▼                 │
///   killed ◄──────────── kill, timeout, envd gone ─────────┘
///
/// Requests that arrive while it changes state (starting, pausing,
/// resuming) wait and run afterwards. On kill it cancels every stream,
/// removes the sandbox through the driver, tells the node, and quits.
class sandbox_impl : public sandbox_actor::base {
public:
  sandbox_impl(caf::actor_config& cfg, sandbox_config sc);

  behavior_type make_behavior() override;

  const char* name() const override {
    return "sandbox";
  }

private:
  enum class phase { starting, running, pausing, paused, resuming, killed };

  using info_promise = caf::typed_response_promise<sandbox_info>;

  // -- lifecycle
  // ----------------------------------------------------------------
  void start_envd(sandbox_process p);
  void on_hello();
  void became_running();
  void do_pause(bool keep_memory, info_promise rp);
  void do_resume(info_promise rp);
  void do_kill(const std::string& reason);
  void set_timeout(int64_t ms);
  void rearm_timeout();
  void emit(const std::string& reason = "");
  /// Sends the current info to every watcher.
  void publish();
  /// Runs `f` now, or once the sandbox is stable again.
  void when_stable(std::function<void()> f);
  caf::error not_running() const;

  // -- envd
  // ---------------------------------------------------------------------
  uint64_t send_envd(sandhive::envd::ToEnvd& msg);
  /// Sends a client's request to envd under a fresh id (running only); with
  /// a sink, the stream's events are routed to it.
  caf::expected<uint64_t> forward(const envd_request& req,
                                  caf::actor sink = {});
  void on_envd(const envd_reply& reply);
  /// Sends envd the sandbox's settings (user, workdir, env vars).
  void send_init(std::function<void(const sandhive::envd::FromEnvd&)> on_reply);
  /// Tells envd that the client of stream or upload `id` went away.
  void cancel_envd(uint64_t id);
  void fail_streams(const std::string& why);

  sandbox_config cfg_;
  phase phase_ = phase::starting;
  sandbox_info info_;
  envd_hub::connection_ptr conn_;
  bool keep_memory_ = true;
  uint64_t next_id_ = 0;
  int64_t end_at_ms_ = 0;
  std::string end_reason_;
  std::vector<std::function<void()>> waiting_;
  std::map<uint64_t, caf::typed_response_promise<envd_reply>> unary_;
  std::map<uint64_t, caf::actor> streams_;
  std::shared_ptr<stream_routes> routes_ = std::make_shared<stream_routes>();
  struct upload {
    caf::typed_response_promise<uint64_t, envd_reply> last;
    std::optional<envd_reply> failed;
  };
  std::map<uint64_t, upload> uploads_;
  std::deque<
    std::pair<caf::typed_response_promise<uint64_t, envd_reply>, uint64_t>>
    blocked_writes_;
  std::vector<caf::actor> subscribers_;
  std::vector<caf::actor> watchers_;
  std::function<void()> on_hello_;
  /// Replies to requests the actor made of envd itself (Init).
  std::map<uint64_t, std::function<void(const sandhive::envd::FromEnvd&)>>
    internal_;
  std::vector<caf::typed_response_promise<atom::ok_atom>> kill_promises_;
  bool auto_pause_ = false;
  /// envd's socket closed while the sandbox was paused with memory.
  bool envd_lost_ = false;
};

} // namespace sbx
