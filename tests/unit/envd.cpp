// sandhive-envd as a plain child process: processes, streams, flow control
// and files, through the same frames the node sends.

#include "tests/support/envd_harness.hpp"
#include "tests/support/subprocess.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace sbx;
using namespace std::chrono_literals;
using sandhive::envd::Code;
using to_envd = sandhive::envd::ToEnvd;
using from_envd = sandhive::envd::FromEnvd;

namespace {

struct envd_fixture {
  test::envd_harness envd;
  test::temp_dir dir;

  envd_fixture() {
    auto hello = envd.receive();
    BOOST_REQUIRE(hello);
    BOOST_REQUIRE(hello->has_pong());
    // Outside a sandbox the only user we can count on is root.
    to_envd init;
    init.set_id(envd.next_id());
    init.mutable_init()->set_default_user("root");
    BOOST_REQUIRE(envd.call(init).has_done());
  }

  /// Starts `cmd args…`; returns the request id.
  uint64_t start(std::vector<std::string> argv, bool stdin = false,
                 uint32_t timeout_ms = 0,
                 std::optional<std::string> tag = std::nullopt,
                 std::map<std::string, std::string> envs = {},
                 std::string cwd = "") {
    to_envd msg;
    auto id = envd.next_id();
    msg.set_id(id);
    auto s = msg.mutable_start();
    auto cfg = s->mutable_request()->mutable_process();
    cfg->set_cmd(argv[0]);
    for (size_t i = 1; i < argv.size(); ++i)
      cfg->add_args(argv[i]);
    for (auto& [k, v] : envs)
      (*cfg->mutable_envs())[k] = v;
    if (!cwd.empty())
      cfg->set_cwd(cwd);
    s->mutable_request()->set_stdin(stdin);
    if (tag)
      s->mutable_request()->set_tag(*tag);
    s->set_timeout_ms(timeout_ms);
    envd.send(msg);
    return id;
  }

  std::vector<from_envd> run(std::vector<std::string> argv) {
    return envd.until_end(start(std::move(argv)));
  }

  uint32_t pid_of(uint64_t id) {
    auto m = envd.receive();
    BOOST_REQUIRE(m);
    BOOST_REQUIRE_EQUAL(m->id(), id);
    BOOST_REQUIRE(m->event().has_start());
    return m->event().start().pid();
  }

  from_envd fs(std::function<void(sandhive::envd::Fs&)> fill) {
    to_envd msg;
    msg.set_id(envd.next_id());
    fill(*msg.mutable_fs());
    return envd.call(msg);
  }

  from_envd write(const std::string& path, std::vector<std::string> chunks,
                  std::map<std::string, std::string> md = {}) {
    auto id = envd.next_id();
    for (size_t i = 0; i < chunks.size(); ++i) {
      to_envd msg;
      msg.set_id(id);
      auto w = msg.mutable_write();
      if (i == 0) {
        w->set_path(path);
        for (auto& [k, v] : md)
          (*w->mutable_metadata())[k] = v;
      }
      w->set_data(chunks[i]);
      w->set_last(i + 1 == chunks.size());
      envd.send(msg);
    }
    // The upload ends with the file's entry, or an error.
    for (;;) {
      auto m = envd.receive();
      BOOST_REQUIRE(m);
      if (m->id() == id && (m->has_entry() || m->has_error()))
        return *m;
    }
  }

  std::string read(const std::string& path, from_envd* error = nullptr) {
    to_envd msg;
    auto id = envd.next_id();
    msg.set_id(id);
    msg.mutable_read()->set_path(path);
    envd.send(msg);
    std::string data;
    for (auto& m : envd.until_end(id)) {
      data += m.data();
      if (m.has_error() && error)
        *error = m;
    }
    return data;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(envd, envd_fixture)

BOOST_AUTO_TEST_CASE(a_command_streams_start_output_and_end) {
  auto msgs = run({"/bin/sh", "-c", "echo hi; echo oops >&2; exit 3"});
  BOOST_REQUIRE(!msgs.empty());
  BOOST_TEST(msgs.front().event().has_start());
  BOOST_TEST(msgs.front().event().start().pid() > 0u);
  BOOST_TEST(test::envd_harness::output(msgs) == "hi\n");
  BOOST_TEST(test::envd_harness::output(msgs, "stderr") == "oops\n");
  auto end = test::envd_harness::end_of(msgs);
  BOOST_REQUIRE(end);
  BOOST_TEST(end->exit_code() == 3);
  BOOST_TEST(end->exited());
  BOOST_TEST(end->status() == "exit status 3");
  BOOST_TEST(msgs.back().has_done());
}

BOOST_AUTO_TEST_CASE(env_cwd_and_sandbox_envs_apply_in_order) {
  to_envd init;
  init.set_id(envd.next_id());
  init.mutable_init()->set_default_user("root");
  (*init.mutable_init()->mutable_envs())["A"] = "sandbox";
  (*init.mutable_init()->mutable_envs())["B"] = "sandbox";
  BOOST_REQUIRE(envd.call(init).has_done());
  auto id = start({"/bin/sh", "-c", "echo $A $B $HOME $USER; pwd"}, false, 0,
                  std::nullopt, {{"A", "request"}}, dir.path());
  auto msgs = envd.until_end(id);
  BOOST_TEST(test::envd_harness::output(msgs)
             == "request sandbox /root root\n" + dir.path() + "\n");
}

BOOST_AUTO_TEST_CASE(stdin_is_forwarded_and_closed) {
  auto id = start({"/bin/cat"}, true);
  auto pid = pid_of(id);
  to_envd in;
  in.set_id(envd.next_id());
  in.mutable_send_input()->mutable_process()->set_pid(pid);
  in.mutable_send_input()->mutable_input()->set_stdin("abc");
  BOOST_REQUIRE(envd.call(in).has_done());
  to_envd close;
  close.set_id(envd.next_id());
  close.mutable_close_stdin()->mutable_process()->set_pid(pid);
  BOOST_REQUIRE(envd.call(close).has_done());
  auto msgs = envd.until_end(id);
  BOOST_TEST(test::envd_harness::output(msgs) == "abc");
  BOOST_TEST(test::envd_harness::end_of(msgs)->exit_code() == 0);
}

BOOST_AUTO_TEST_CASE(a_pty_has_a_terminal_of_the_asked_size_and_resizes) {
  to_envd msg;
  auto id = envd.next_id();
  msg.set_id(id);
  auto req = msg.mutable_start()->mutable_request();
  req->mutable_process()->set_cmd("/bin/sh");
  req->mutable_process()->add_args("-c");
  req->mutable_process()->add_args("stty size; read x; stty size");
  req->mutable_pty()->mutable_size()->set_cols(100);
  req->mutable_pty()->mutable_size()->set_rows(30);
  envd.send(msg);
  auto pid = pid_of(id);
  std::this_thread::sleep_for(200ms);
  to_envd resize;
  resize.set_id(envd.next_id());
  resize.mutable_update()->mutable_process()->set_pid(pid);
  resize.mutable_update()->mutable_pty()->mutable_size()->set_cols(120);
  resize.mutable_update()->mutable_pty()->mutable_size()->set_rows(40);
  envd.send(resize);
  to_envd in;
  in.set_id(envd.next_id());
  in.mutable_send_input()->mutable_process()->set_pid(pid);
  in.mutable_send_input()->mutable_input()->set_pty("go\n");
  envd.send(in);
  auto msgs = envd.until_end(id);
  auto out = test::envd_harness::output(msgs, "pty");
  BOOST_TEST(out.find("30 100") != std::string::npos, out);
  BOOST_TEST(out.find("40 120") != std::string::npos, out);
  BOOST_TEST(test::envd_harness::end_of(msgs)->exit_code() == 0);
}

BOOST_AUTO_TEST_CASE(pty_input_larger_than_the_terminal_queue_arrives_whole) {
  to_envd msg;
  auto id = envd.next_id();
  msg.set_id(id);
  auto req = msg.mutable_start()->mutable_request();
  req->mutable_process()->set_cmd("/bin/sh");
  req->mutable_process()->add_args("-c");
  req->mutable_process()->add_args(
    "stty -echo; sleep 0.5; head -c 200000 | wc -c");
  req->mutable_pty()->mutable_size()->set_cols(80);
  req->mutable_pty()->mutable_size()->set_rows(24);
  envd.send(msg);
  auto pid = pid_of(id);
  std::this_thread::sleep_for(100ms);
  // 200 KB in lines of 100 bytes: far more than a terminal queues while
  // the program is asleep.
  std::string line(99, 'x');
  line += '\n';
  std::string input;
  for (int i = 0; i < 2000; ++i)
    input += line;
  to_envd in;
  in.set_id(envd.next_id());
  in.mutable_send_input()->mutable_process()->set_pid(pid);
  in.mutable_send_input()->mutable_input()->set_pty(input);
  BOOST_REQUIRE(envd.call(in).has_done());
  auto msgs = envd.until_end(id, 20s);
  auto out = test::envd_harness::output(msgs, "pty");
  BOOST_TEST(out.find("200000") != std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(kill_ends_the_process_with_signal_status) {
  auto id = start({"/bin/sleep", "100"});
  auto pid = pid_of(id);
  to_envd kill;
  kill.set_id(envd.next_id());
  kill.mutable_send_signal()->mutable_process()->set_pid(pid);
  kill.mutable_send_signal()->set_signal(process::SIGNAL_SIGKILL);
  BOOST_REQUIRE(envd.call(kill).has_done());
  auto msgs = envd.until_end(id);
  auto end = test::envd_harness::end_of(msgs);
  BOOST_REQUIRE(end);
  BOOST_TEST(end->exit_code() == -1);
  BOOST_TEST(!end->exited());
  BOOST_TEST(end->status() == "signal: killed");
}

BOOST_AUTO_TEST_CASE(bad_requests_get_typed_errors) {
  to_envd kill;
  kill.set_id(envd.next_id());
  kill.mutable_send_signal()->mutable_process()->set_pid(999999);
  kill.mutable_send_signal()->set_signal(process::SIGNAL_SIGKILL);
  auto r = envd.call(kill);
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error().code() == Code::CODE_NOT_FOUND);
  BOOST_TEST(r.error().message() == "process with pid 999999 not found");
  auto missing = envd.until_end(start({"/no/such/program"}));
  BOOST_REQUIRE_EQUAL(missing.size(), 1u);
  BOOST_TEST(missing[0].error().code() == Code::CODE_NOT_FOUND);
  BOOST_TEST(missing[0].error().message().find("/no/such/program")
             != std::string::npos);
  auto bad_cwd = envd.until_end(
    start({"/bin/true"}, false, 0, std::nullopt, {}, "/no/such/dir"));
  BOOST_TEST(bad_cwd[0].error().code() == Code::CODE_INVALID_ARGUMENT);
  to_envd as_nobody;
  as_nobody.set_id(envd.next_id());
  as_nobody.mutable_start()->set_user("no-such-user");
  as_nobody.mutable_start()->mutable_request()->mutable_process()->set_cmd("x");
  BOOST_TEST(envd.call(as_nobody).error().code() == Code::CODE_UNAUTHENTICATED);
  // envd is still healthy.
  BOOST_TEST(test::envd_harness::output(run({"/bin/echo", "ok"})) == "ok\n");
}

BOOST_AUTO_TEST_CASE(a_deadline_kills_the_process) {
  auto t0 = std::chrono::steady_clock::now();
  auto msgs = envd.until_end(start({"/bin/sleep", "10"}, false, 200));
  auto took = std::chrono::steady_clock::now() - t0;
  auto end = test::envd_harness::end_of(msgs);
  BOOST_REQUIRE(end);
  BOOST_TEST(end->status() == "signal: killed");
  BOOST_TEST(end->error() == "context deadline exceeded");
  BOOST_TEST((took < 3s));
}

BOOST_AUTO_TEST_CASE(a_deadline_after_the_exit_costs_nothing) {
  // The SDK gives every command a 60 s deadline; one that passes after the
  // process ended must not make envd poll in a loop.
  envd.until_end(start({"/bin/true"}, false, 100));
  auto cpu_ticks = [&] {
    std::ifstream in{"/proc/" + std::to_string(envd.pid()) + "/stat"};
    std::string stat{std::istreambuf_iterator<char>{in}, {}};
    std::istringstream rest{stat.substr(stat.rfind(')') + 2)};
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14)
        utime = std::stol(field);
      if (i == 15)
        stime = std::stol(field);
    }
    return utime + stime;
  };
  std::this_thread::sleep_for(200ms); // the deadline passes
  auto before = cpu_ticks();
  std::this_thread::sleep_for(1s);
  BOOST_TEST(cpu_ticks() - before <= 5, "envd used "
                                          << (cpu_ticks() - before)
                                          << " ticks of CPU while idle");
}

BOOST_AUTO_TEST_CASE(list_shows_running_processes_with_config_and_tag) {
  auto id = start({"/bin/sleep", "5"}, false, 0, std::string{"my-tag"});
  auto pid = pid_of(id);
  to_envd list;
  list.set_id(envd.next_id());
  list.mutable_list();
  auto r = envd.call(list);
  BOOST_REQUIRE(r.has_processes());
  bool found = false;
  for (auto& p : r.processes().processes())
    if (p.pid() == pid) {
      found = true;
      BOOST_TEST(p.tag() == "my-tag");
      BOOST_TEST(p.config().cmd() == "/bin/sleep");
    }
  BOOST_TEST(found);
  // Select by tag.
  to_envd kill;
  kill.set_id(envd.next_id());
  kill.mutable_send_signal()->mutable_process()->set_tag("my-tag");
  kill.mutable_send_signal()->set_signal(process::SIGNAL_SIGTERM);
  BOOST_REQUIRE(envd.call(kill).has_done());
  BOOST_TEST(test::envd_harness::end_of(envd.until_end(id))->status()
             == "signal: terminated");
}

BOOST_AUTO_TEST_CASE(connect_reattaches_and_delivers_a_recent_exit) {
  auto id = start({"/bin/sh", "-c", "sleep 0.5; echo late"});
  auto pid = pid_of(id);
  to_envd cancel;
  cancel.set_id(id);
  cancel.mutable_cancel();
  envd.send(cancel);
  to_envd connect;
  auto cid = envd.next_id();
  connect.set_id(cid);
  connect.mutable_connect()->mutable_process()->set_pid(pid);
  envd.send(connect);
  auto msgs = envd.until_end(cid);
  BOOST_REQUIRE(!msgs.empty());
  BOOST_TEST(msgs.front().event().start().pid() == pid);
  BOOST_TEST(test::envd_harness::output(msgs) == "late\n");
  BOOST_TEST(test::envd_harness::end_of(msgs)->exit_code() == 0);
  // After the end, a connect still gets start and end.
  connect.set_id(envd.next_id());
  envd.send(connect);
  auto again = envd.until_end(connect.id());
  BOOST_REQUIRE_EQUAL(again.size(), 3u);
  BOOST_TEST(again[0].event().has_start());
  BOOST_TEST(again[1].event().end().exit_code() == 0);
  BOOST_TEST(again[2].has_done());
}

BOOST_AUTO_TEST_CASE(output_stops_at_the_window_until_acked) {
  auto id = start({"/bin/sh", "-c", "head -c 4000000 /dev/zero"});
  pid_of(id);
  // Read without acknowledging: envd must stop near one window.
  uint64_t got = 0;
  while (auto m = envd.receive(500ms)) {
    if (m->has_event() && m->event().has_data())
      got += m->event().data().stdout().size();
    BOOST_REQUIRE(!m->event().has_end());
  }
  BOOST_TEST(got >= 128u * 1024);
  BOOST_TEST(got <= 256u * 1024 + 64 * 1024);
  // Acknowledge it: the rest flows.
  to_envd ack;
  ack.set_id(id);
  ack.mutable_ack()->set_bytes(got);
  envd.send(ack);
  auto rest = envd.until_end(id, 30s);
  auto total = got + test::envd_harness::output(rest).size();
  BOOST_TEST(total == 4000000u);
  BOOST_TEST(test::envd_harness::end_of(rest)->exit_code() == 0);
}

BOOST_AUTO_TEST_CASE(orphans_are_reaped) {
  run({"/bin/sh", "-c", "(sleep 0.1 &) ; exit 0"});
  std::this_thread::sleep_for(500ms);
  // No zombie children left behind envd.
  int zombies = 0;
  for (auto& e : std::filesystem::directory_iterator{"/proc"}) {
    std::ifstream in{e.path() / "stat"};
    std::string stat;
    std::getline(in, stat);
    auto close = stat.rfind(')');
    if (close == std::string::npos)
      continue;
    std::istringstream rest{stat.substr(close + 2)};
    char state;
    int ppid;
    rest >> state >> ppid;
    if (ppid == envd.pid() && state == 'Z')
      ++zombies;
  }
  BOOST_TEST(zombies == 0);
}

BOOST_AUTO_TEST_CASE(files_write_read_stat_list_move_remove) {
  auto base = dir.path();
  auto w = write(base + "/a/b/file.txt", {"hello ", "chunked ", "world"},
                 {{"Owner", "alice"}});
  BOOST_REQUIRE_MESSAGE(w.has_entry(), w.DebugString());
  BOOST_TEST(w.entry().size() == 19);
  BOOST_TEST(w.entry().type() == filesystem::FILE_TYPE_FILE);
  BOOST_TEST(w.entry().metadata().at("owner") == "alice");
  BOOST_TEST(read(base + "/a/b/file.txt") == "hello chunked world");
  auto st = fs([&](auto& f) { f.mutable_stat()->set_path(base + "/a/b"); });
  BOOST_TEST(st.entry().type() == filesystem::FILE_TYPE_DIRECTORY);
  BOOST_TEST(st.entry().permissions() == "drwxr-xr-x");
  BOOST_TEST(st.entry().mode() == 0755u);
  BOOST_TEST(st.entry().owner() == "root");
  auto ls1 = fs([&](auto& f) {
    f.mutable_list_dir()->set_path(base);
    f.mutable_list_dir()->set_depth(1);
  });
  BOOST_TEST(ls1.entries().entries_size() == 1);
  auto ls3 = fs([&](auto& f) {
    f.mutable_list_dir()->set_path(base);
    f.mutable_list_dir()->set_depth(3);
  });
  BOOST_TEST(ls3.entries().entries_size() == 3);
  auto mk = fs([&](auto& f) { f.mutable_make_dir()->set_path(base + "/x/y"); });
  BOOST_TEST(mk.has_entry());
  auto again = fs([&](auto& f) { f.mutable_make_dir()->set_path(base + "/x/y"); });
  BOOST_TEST(again.error().code() == Code::CODE_ALREADY_EXISTS);
  auto onfile = fs([&](auto& f) {
    f.mutable_make_dir()->set_path(base + "/a/b/file.txt");
  });
  BOOST_TEST(onfile.error().code() == Code::CODE_INVALID_ARGUMENT);
  auto mv = fs([&](auto& f) {
    f.mutable_move()->set_source(base + "/a/b/file.txt");
    f.mutable_move()->set_destination(base + "/x/moved.txt");
  });
  BOOST_TEST(mv.entry().path() == base + "/x/moved.txt");
  BOOST_TEST(read(base + "/x/moved.txt") == "hello chunked world");
  auto rm = fs([&](auto& f) { f.mutable_remove()->set_path(base + "/x"); });
  BOOST_TEST(rm.has_done());
  BOOST_TEST(!std::filesystem::exists(base + "/x"));
}

BOOST_AUTO_TEST_CASE(file_errors_are_typed) {
  auto base = dir.path();
  auto missing = fs([&](auto& f) { f.mutable_stat()->set_path(base + "/nope"); });
  BOOST_TEST(missing.error().code() == Code::CODE_NOT_FOUND);
  BOOST_TEST(missing.error().message() == "path '" + base + "/nope' does not exist");
  auto dots = fs([&](auto& f) { f.mutable_stat()->set_path(base + "/../etc"); });
  BOOST_TEST(dots.error().code() == Code::CODE_INVALID_ARGUMENT);
  from_envd err;
  read(base, &err);
  BOOST_TEST(err.error().code() == Code::CODE_INVALID_ARGUMENT);
  BOOST_TEST(err.error().message() == "path '" + base + "' is a directory");
  read(base + "/none", &err);
  BOOST_TEST(err.error().code() == Code::CODE_NOT_FOUND);
  auto onto_dir = write(base, {"x"});
  BOOST_TEST(onto_dir.error().code() == Code::CODE_INVALID_ARGUMENT);
  auto bad_md = write(base + "/m", {"x"}, {{"k", "\x01"}});
  BOOST_TEST(bad_md.error().code() == Code::CODE_INVALID_ARGUMENT);
  // A FIFO with no one at the other end: opening it would block envd (and
  // the whole sandbox with it); it is refused, and envd goes on.
  BOOST_REQUIRE(::mkfifo((base + "/fifo").c_str(), 0644) == 0);
  read(base + "/fifo", &err);
  BOOST_TEST(err.error().code() == Code::CODE_INVALID_ARGUMENT);
  BOOST_TEST(err.error().message() == "path '" + base + "/fifo' is not a regular file");
  auto onto_fifo = write(base + "/fifo", {"x"});
  BOOST_TEST(onto_fifo.error().message() == "path '" + base + "/fifo' is not a regular file");
  BOOST_TEST(write(base + "/after", {"ok"}).has_entry());
  BOOST_TEST(read(base + "/after") == "ok");
}

BOOST_AUTO_TEST_CASE(large_files_stream_both_ways) {
  std::string chunk(64 * 1024, 'z');
  std::vector<std::string> chunks(160, chunk); // 10 MiB
  auto w = write(dir.path() + "/big", chunks);
  BOOST_REQUIRE(w.has_entry());
  BOOST_TEST(w.entry().size() == 160 * 64 * 1024);
  BOOST_TEST(read(dir.path() + "/big").size() == 160u * 64 * 1024);
}

BOOST_AUTO_TEST_CASE(watch_reports_create_write_rename_remove) {
  std::filesystem::create_directories(dir.path() + "/sub");
  to_envd msg;
  auto id = envd.next_id();
  msg.set_id(id);
  msg.mutable_fs()->mutable_watch()->set_path(dir.path());
  msg.mutable_fs()->mutable_watch()->set_recursive(true);
  auto started = envd.call(msg);
  BOOST_REQUIRE(started.has_watch_started());
  { std::ofstream{dir.path() + "/sub/f.txt"} << "x"; }
  std::filesystem::rename(dir.path() + "/sub/f.txt", dir.path() + "/g.txt");
  std::filesystem::remove(dir.path() + "/g.txt");
  std::vector<std::pair<std::string, int>> events;
  while (auto m = envd.receive(500ms))
    if (m->id() == id && m->has_fs_event())
      events.emplace_back(m->fs_event().name(), m->fs_event().type());
  auto has = [&](const std::string& name, filesystem::EventType t) {
    return std::find(events.begin(), events.end(), std::make_pair(name, int{t}))
           != events.end();
  };
  BOOST_TEST(has("sub/f.txt", filesystem::EVENT_TYPE_CREATE));
  BOOST_TEST(has("sub/f.txt", filesystem::EVENT_TYPE_WRITE));
  BOOST_TEST(has("sub/f.txt", filesystem::EVENT_TYPE_RENAME));
  BOOST_TEST(has("g.txt", filesystem::EVENT_TYPE_CREATE));
  BOOST_TEST(has("g.txt", filesystem::EVENT_TYPE_REMOVE));
  to_envd cancel;
  cancel.set_id(id);
  cancel.mutable_cancel();
  envd.send(cancel);
}

BOOST_AUTO_TEST_SUITE_END()
