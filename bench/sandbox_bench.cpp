// Sandbox runtime benchmarks: start, claim, exec, streaming, files and idle
// memory, each next to a baseline measured in the same run. Run as root:
//
//   build/bench/sandbox_bench [--quick]
//
// Every latency is reported as median and p99 over many runs.

#include "actors/error.hpp"
#include "actors/node.hpp"
#include "runtime/log/log.hpp"
#include "runtime/proto/frame.hpp"
#include "runtime/sandbox/template.hpp"

#include "envd.pb.h"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace sbx;
using namespace std::chrono_literals;
using sandhive::envd::FromEnvd;
using sandhive::envd::ToEnvd;
using clk = std::chrono::steady_clock;

extern char** environ;

namespace {

struct stats {
  double median_ms;
  double p99_ms;
};

stats summarize(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  auto at = [&](double q) {
    return xs[std::min(xs.size() - 1, static_cast<size_t>(q * xs.size()))];
  };
  return {at(0.5), at(0.99)};
}

double ms_since(clk::time_point t0) {
  return std::chrono::duration<double, std::milli>(clk::now() - t0).count();
}

void row(const std::string& what, stats s, const std::string& note = "") {
  std::printf("%-44s median %8.3f ms   p99 %8.3f ms  %s\n", what.c_str(),
              s.median_ms, s.p99_ms, note.c_str());
}

/// One baseline run: unshare --fork --pid --mount --net --uts --ipc /bin/true.
double unshare_true() {
  const char* argv[] = {"unshare", "--fork", "--pid", "--mount", "--net",
                        "--uts",   "--ipc",  "/bin/true", nullptr};
  auto t0 = clk::now();
  pid_t pid;
  posix_spawnp(&pid, "unshare", nullptr, nullptr,
               const_cast<char* const*>(argv), environ);
  int st;
  waitpid(pid, &st, 0);
  return ms_since(t0);
}

/// Runs `script` in `sb` through the sandbox actor; returns bytes of stdout.
uint64_t run(caf::scoped_actor& self, const sandbox_actor& sb,
             const std::string& cmd, std::vector<std::string> args) {
  ToEnvd msg;
  auto cfg = msg.mutable_start()->mutable_request()->mutable_process();
  cfg->set_cmd(cmd);
  for (auto& a : args)
    cfg->add_args(a);
  msg.mutable_start()->mutable_request()->set_stdin(false);
  uint64_t id = 0;
  self->request(sb, 30s, atom::stream_v, envd_request{msg.SerializeAsString()},
                caf::actor_cast<caf::actor>(self))
    .receive([&](uint64_t x) { id = x; },
             [&](caf::error& err) {
               throw std::runtime_error(message_of(err));
             });
  uint64_t bytes = 0;
  for (bool done = false; !done;) {
    self->receive(
      [&](atom::event, uint64_t sid, const envd_reply& reply) {
        if (sid != id)
          return; // a late message of an earlier stream
        FromEnvd m;
        m.ParseFromString(reply.bytes);
        if (m.has_event() && m.event().has_data()) {
          auto n = m.event().data().stdout().size();
          bytes += n;
          self->send(sb, atom::ack_v, id, uint64_t{n});
        }
        done = m.has_done() || m.has_error();
      },
      caf::after(60s) >> [&] { throw std::runtime_error("exec timed out"); });
  }
  return bytes;
}

std::pair<sandbox_actor, sandbox_info>
create(caf::scoped_actor& self, const node_actor& n) {
  std::pair<sandbox_actor, sandbox_info> result;
  self->request(n, 60s, atom::create_v, sandbox_request{})
    .receive([&](sandbox_actor& sb,
                 sandbox_info& info) { result = {sb, info}; },
             [&](caf::error& err) {
               throw std::runtime_error("create: " + message_of(err));
             });
  return result;
}

void kill(caf::scoped_actor& self, const sandbox_actor& sb) {
  self->request(sb, 30s, atom::kill_v, std::string{"bench"})
    .receive([](atom::ok_atom) {}, [](caf::error&) {});
}

unsigned warm(caf::scoped_actor& self, const node_actor& n) {
  unsigned result = 0;
  self->request(n, 10s, atom::stats_v)
    .receive([&](node_load& l) { result = l.warm["base"]; },
             [](caf::error&) {});
  return result;
}

uint64_t mem_available_kib() {
  std::ifstream in{"/proc/meminfo"};
  std::string key;
  uint64_t v;
  std::string unit;
  while (in >> key >> v >> unit)
    if (key == "MemAvailable:")
      return v;
  return 0;
}

void write_file(caf::scoped_actor& self, const sandbox_actor& sb,
                const std::string& path, uint64_t size) {
  std::string chunk(64 * 1024, 'x');
  uint64_t upload = 0;
  for (uint64_t off = 0; off < size; off += chunk.size()) {
    ToEnvd msg;
    auto w = msg.mutable_write();
    if (off == 0)
      w->set_path(path);
    w->set_data(chunk.substr(0, std::min<uint64_t>(chunk.size(), size - off)));
    w->set_last(off + chunk.size() >= size);
    self->request(sb, 30s, atom::write_v, upload,
                  envd_request{msg.SerializeAsString()})
      .receive([&](uint64_t id, envd_reply&) { upload = id; },
               [&](caf::error& err) {
                 throw std::runtime_error("write: " + message_of(err));
               });
  }
}

uint64_t read_file(caf::scoped_actor& self, const sandbox_actor& sb,
                   const std::string& path) {
  ToEnvd msg;
  msg.mutable_read()->set_path(path);
  uint64_t id = 0;
  self->request(sb, 30s, atom::stream_v, envd_request{msg.SerializeAsString()},
                caf::actor_cast<caf::actor>(self))
    .receive([&](uint64_t x) { id = x; },
             [&](caf::error& err) { throw std::runtime_error(message_of(err)); });
  uint64_t bytes = 0;
  for (bool done = false; !done;) {
    self->receive(
      [&](atom::event, uint64_t sid, const envd_reply& reply) {
        if (sid != id)
          return;
        FromEnvd m;
        m.ParseFromString(reply.bytes);
        if (!m.data().empty()) {
          bytes += m.data().size();
          self->send(sb, atom::ack_v, id, uint64_t{m.data().size()});
        }
        done = m.has_done() || m.has_error();
      },
      caf::after(60s) >> [&] { throw std::runtime_error("read timed out"); });
  }
  return bytes;
}

/// Exec of `/bin/true` straight over an envd socket, without actors: the
/// floor under the actor path.
double raw_exec(int fd, uint64_t id) {
  ToEnvd msg;
  msg.set_id(id);
  msg.mutable_start()->mutable_request()->mutable_process()->set_cmd(
    "/bin/true");
  msg.mutable_start()->mutable_request()->set_stdin(false);
  std::string out;
  proto::append_frame(out, msg);
  auto t0 = clk::now();
  if (::write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size()))
    throw std::runtime_error("envd socket write failed");
  proto::frame_reader in;
  for (;;) {
    FromEnvd reply;
    auto r = in.take(reply);
    if (r == proto::take_result::ok) {
      if (reply.id() == id && (reply.has_done() || reply.has_error()))
        return ms_since(t0);
      continue;
    }
    char buf[4096];
    auto n = ::read(fd, buf, sizeof(buf));
    if (n <= 0)
      throw std::runtime_error("envd socket closed");
    in.feed(buf, static_cast<size_t>(n));
  }
}

node_actor make(caf::actor_system& sys, const std::string& dir,
                unsigned pool_size) {
  node_config nc;
  nc.data_dir = dir;
  nc.envd_path = (std::filesystem::read_symlink("/proc/self/exe").parent_path()
                  / "../sandhive-envd")
                   .lexically_normal()
                   .string();
  nc.cgroup_parent = "sandhive-bench-" + std::to_string(::getpid());
  nc.pools = {{"base", pool_size}};
  nc.max_sandboxes = 2000;
  // Idle sandboxes use far less than they may: room for every one of them.
  nc.memory_capacity_mb = 1u << 30;
  nc.vcpu_capacity = 1u << 20;
  auto n = make_node(sys, nc);
  if (!n)
    throw std::runtime_error(message_of(n.error()));
  return *n;
}

} // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::string{argv[1]} == "--quick";
  int runs = quick ? 20 : 100;
  int idle_count = quick ? 100 : 500;
  if (auto err = isolate_mounts()) {
    std::cerr << "sandbox_bench needs root: " << message_of(err) << "\n";
    return 1;
  }
  log::init("warn", "text");
  char tmpl[] = "/tmp/sbx-bench-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::printf("sandbox runtime benchmarks (%d runs each; %s)\n", runs,
              quick ? "quick" : "full");
  // -- baseline --------------------------------------------------------------
  std::vector<double> base;
  for (int i = 0; i < runs; ++i)
    base.push_back(unshare_true());
  auto b = summarize(base);
  row("baseline: unshare --fork --pid --mount --net --uts --ipc /bin/true", b);
  // -- cold create to first exec ---------------------------------------------
  // Times create + first exec on `n`, `before` each run untimed.
  auto create_exec = [&](const node_actor& n, std::function<void()> before) {
    std::vector<double> xs;
    for (int i = 0; i < runs; ++i) {
      before();
      auto t0 = clk::now();
      auto [sb, info] = create(self, n);
      run(self, sb, "/bin/true", {});
      xs.push_back(ms_since(t0));
      kill(self, sb);
    }
    return summarize(xs);
  };
  auto cold_node = make(sys, dir + "/cold", 0);
  auto c = create_exec(cold_node, [] {});
  char note[128];
  std::snprintf(note, sizeof note, "(%.1fx baseline)", c.median_ms / b.median_ms);
  row("cold create to first exec done", c, note);
  // -- warm claim to first exec --------------------------------------------
  auto warm_node = make(sys, dir + "/warm", 4);
  auto w = create_exec(warm_node, [&] {
    for (int i = 0; i < 400 && warm(self, warm_node) < 4; ++i)
      std::this_thread::sleep_for(5ms);
  });
  std::snprintf(note, sizeof note, "(%.2fx baseline)", w.median_ms / b.median_ms);
  row("warm claim to first exec done", w, note);
  // -- exec round trip --------------------------------------------------------
  auto [sb, info] = create(self, warm_node);
  std::vector<double> execs;
  for (int i = 0; i < runs * 2; ++i) {
    auto t0 = clk::now();
    run(self, sb, "/bin/true", {});
    execs.push_back(ms_since(t0));
  }
  auto e = summarize(execs);
  std::vector<double> spawn_base;
  for (int i = 0; i < runs * 2; ++i) {
    auto t0 = clk::now();
    pid_t pid;
    const char* argv2[] = {"/bin/true", nullptr};
    posix_spawn(&pid, "/bin/true", nullptr, nullptr,
                const_cast<char* const*>(argv2), environ);
    int st;
    waitpid(pid, &st, 0);
    spawn_base.push_back(ms_since(t0));
  }
  auto sbase = summarize(spawn_base);
  {
    // The same exec without actors, on a sandbox of a driver of our own.
    linux_driver_config dc;
    dc.run_dir = dir + "/raw";
    dc.envd_path = (std::filesystem::read_symlink("/proc/self/exe").parent_path()
                    / "../sandhive-envd")
                     .lexically_normal()
                     .string();
    dc.cgroup_parent = "sandhive-bench-raw-" + std::to_string(::getpid());
    auto drv = make_linux_driver(dc);
    if (!drv)
      throw std::runtime_error(message_of(drv.error()));
    sandbox_spec spec;
    spec.id = "raw";
    spec.rootfs = dir + "/cold/templates/base/rootfs";
    spec.hostname = "raw";
    auto p = (*drv)->create(spec);
    if (!p)
      throw std::runtime_error(message_of(p.error()));
    char hello[64];
    if (::read(p->envd_fd, hello, sizeof(hello)) <= 0)
      throw std::runtime_error("no hello");
    std::vector<double> raw;
    for (int i = 0; i < runs * 2; ++i)
      raw.push_back(raw_exec(p->envd_fd, static_cast<uint64_t>(i + 1)));
    ::close(p->envd_fd);
    (*drv)->destroy("raw");
    auto r = summarize(raw);
    std::snprintf(note, sizeof note, "(%.1fx host spawn)",
                  r.median_ms / summarize(spawn_base).median_ms);
    row("exec of `true` over the envd socket (no actors)", r, note);
  }
  row("baseline: posix_spawn + wait of /bin/true on the host", sbase);
  std::snprintf(note, sizeof note, "(%.1fx host spawn, %.2fx unshare)",
                e.median_ms / sbase.median_ms, e.median_ms / b.median_ms);
  row("exec round trip of `true` in a running sandbox", e, note);
  // -- streaming ------------------------------------------------------------
  const uint64_t stream_bytes = quick ? 64ull << 20 : 256ull << 20;
  std::vector<double> rates;
  for (int i = 0; i < 3; ++i) {
    auto t0 = clk::now();
    auto got = run(self, sb, "/usr/bin/head",
                   {"-c", std::to_string(stream_bytes), "/dev/zero"});
    auto secs = ms_since(t0) / 1000;
    rates.push_back(static_cast<double>(got) / (1 << 20) / secs);
  }
  std::sort(rates.begin(), rates.end());
  std::printf("%-44s median %8.0f MiB/s (%llu MiB per run, 3 runs)\n",
              "stdout streaming throughput", rates[1],
              static_cast<unsigned long long>(stream_bytes >> 20));
  // -- files ----------------------------------------------------------------
  for (uint64_t size : {1ull << 20, 100ull << 20}) {
    int n = size > (1 << 20) ? 3 : 20;
    std::vector<double> wr, rd;
    for (int i = 0; i < n; ++i) {
      auto t0 = clk::now();
      write_file(self, sb, "/tmp/bench.bin", size);
      wr.push_back(ms_since(t0));
      t0 = clk::now();
      auto got = read_file(self, sb, "/tmp/bench.bin");
      rd.push_back(ms_since(t0));
      if (got != size)
        throw std::runtime_error("short read");
    }
    auto ws = summarize(wr);
    auto rs = summarize(rd);
    auto mib = static_cast<double>(size) / (1 << 20);
    std::printf("%-44s median %8.3f ms = %6.0f MiB/s (%d runs)\n",
                ("file write " + std::to_string(size >> 20) + " MiB").c_str(),
                ws.median_ms, mib / (ws.median_ms / 1000), n);
    std::printf("%-44s median %8.3f ms = %6.0f MiB/s (%d runs)\n",
                ("file read " + std::to_string(size >> 20) + " MiB").c_str(),
                rs.median_ms, mib / (rs.median_ms / 1000), n);
  }
  kill(self, sb);
  // -- idle memory ----------------------------------------------------------
  std::this_thread::sleep_for(500ms);
  auto before = mem_available_kib();
  std::vector<sandbox_actor> idle;
  auto t0 = clk::now();
  for (int i = 0; i < idle_count; ++i)
    idle.push_back(create(self, cold_node).first);
  auto created_s = ms_since(t0) / 1000;
  std::this_thread::sleep_for(1s);
  auto after = mem_available_kib();
  auto per = static_cast<double>(before - after) / idle_count;
  std::printf("%-44s %8.0f KiB per sandbox (%d idle sandboxes, created in "
              "%.1f s, all answering)\n",
              "memory per idle sandbox (MemAvailable drop)", per, idle_count,
              created_s);
  int alive = 0;
  for (auto& s : idle)
    alive += run(self, s, "/bin/true", {}) == 0;
  std::printf("%-44s %d of %d\n", "idle sandboxes that ran a command after",
              alive, idle_count);
  for (auto& s : idle)
    kill(self, s);
  caf::anon_send_exit(cold_node, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(warm_node, caf::exit_reason::user_shutdown);
  self->wait_for(cold_node, warm_node);
  std::filesystem::remove_all(dir);
  return 0;
}
