#include "gateway/envd_stream.hpp"

#include "actors/interfaces.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "tests/support/eventually.hpp"

#include <boost/test/unit_test.hpp>

#include <future>
#include <thread>

using namespace sbx;
using namespace std::chrono_literals;
using sandhive::envd::FromEnvd;

namespace {

/// One piece taken from a streamed body.
struct piece {
  std::string data;
  bool last = false;
};

/// A sandbox that accepts one stream (id 7) and hands its sink to the test;
/// the test then plays envd.
struct stream_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::promise<caf::actor> sink_promise;
  caf::actor fake;
  caf::actor sink;
  std::future<http::response> answer_future;

  stream_fixture() {
    fake = sys.spawn([this](caf::event_based_actor*) -> caf::behavior {
      return {
        [this](atom::stream, const envd_request&, caf::actor s) -> uint64_t {
          sink_promise.set_value(s);
          return 7;
        },
      };
    });
  }

  ~stream_fixture() {
    caf::anon_send_exit(fake, caf::exit_reason::user_shutdown);
  }

  /// Starts a stream whose pieces name the events they carry.
  void start(std::chrono::milliseconds head_delay) {
    stream_spec spec;
    spec.head = http::response{200, {}, {}};
    spec.head_delay = head_delay;
    spec.piece = [](const FromEnvd& m) -> std::string {
      return m.event().has_start() ? "start;" : m.event().has_end() ? "end;" : "data;";
    };
    spec.end = [](const sandhive::envd::Error*) { return std::string{"EOS"}; };
    auto p = std::make_shared<std::promise<http::response>>();
    answer_future = p->get_future();
    start_envd_stream(sys, caf::actor_cast<sandbox_actor>(fake), std::move(spec),
                      http::responder{[p](http::response r) {
                        p->set_value(std::move(r));
                      }});
    auto f = sink_promise.get_future();
    BOOST_REQUIRE(f.wait_for(5s) == std::future_status::ready);
    sink = f.get();
  }

  /// Sends envd's message to the stream's sink.
  void from_envd(const FromEnvd& m) {
    caf::anon_send(sink, atom::event_v, uint64_t{7},
                   envd_reply{m.SerializeAsString()});
  }

  static FromEnvd start_event() {
    FromEnvd m;
    m.mutable_event()->mutable_start()->set_pid(2);
    return m;
  }

  static FromEnvd end_event() {
    FromEnvd m;
    m.mutable_event()->mutable_end()->set_exited(true);
    return m;
  }

  static FromEnvd done() {
    FromEnvd m;
    m.mutable_done();
    return m;
  }

  /// The response head, once answered.
  std::shared_ptr<http::body_source> answered(std::chrono::milliseconds within) {
    BOOST_REQUIRE(answer_future.wait_for(within) == std::future_status::ready);
    return answer_future.get().stream;
  }

  /// The next piece, taken at once (it must be there).
  static piece take(http::body_source& b) {
    BOOST_REQUIRE(b.ready());
    piece p;
    b.pull([&p](std::string data, bool last) {
      p.data = std::move(data);
      p.last = last;
    });
    return p;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(envd_streams, stream_fixture)

BOOST_AUTO_TEST_CASE(the_head_waits_for_the_first_message_and_leaves_with_it) {
  start(10s);
  from_envd(start_event());
  // Answered well before the head delay, with the start already queued, so
  // the session writes both at once.
  auto b = answered(5s);
  BOOST_REQUIRE(b);
  auto p = take(*b);
  BOOST_TEST(p.data == "start;");
  BOOST_TEST(!p.last);
}

BOOST_AUTO_TEST_CASE(a_quiet_stream_is_answered_after_the_head_delay) {
  start(50ms);
  auto b = answered(5s);
  BOOST_REQUIRE(b);
  BOOST_TEST(!b->ready());
  from_envd(start_event());
  BOOST_TEST(test::eventually([&] { return b->ready(); }, 5s));
  BOOST_TEST(take(*b).data == "start;");
}

BOOST_AUTO_TEST_CASE(a_process_end_waits_for_the_end_of_the_stream) {
  start(10s);
  from_envd(start_event());
  auto b = answered(5s);
  BOOST_REQUIRE(b);
  BOOST_TEST(take(*b).data == "start;");
  from_envd(end_event());
  // Held: nothing to write until envd's done, which follows at once.
  std::this_thread::sleep_for(100ms);
  BOOST_TEST(!b->ready());
  from_envd(done());
  BOOST_TEST(test::eventually([&] { return b->ready(); }, 5s));
  auto p = take(*b);
  BOOST_TEST(p.data == "end;EOS");
  BOOST_TEST(p.last);
}

BOOST_AUTO_TEST_SUITE_END()
