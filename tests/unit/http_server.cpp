#include "gateway/server.hpp"

#include "gateway/envd_stream.hpp"

#include "actors/error.hpp"

#include "runtime/metrics/metrics.hpp"
#include "tests/support/http_client.hpp"

#include <boost/test/unit_test.hpp>

#include <future>
#include <thread>

using namespace sbx;
using namespace std::chrono_literals;
using test::raw_connection;

namespace {

/// A server on a free port with routes that echo, answer late, or never.
struct server_fixture {
  http::router routes;
  metrics stats;
  std::unique_ptr<server> srv;
  uint16_t port = 0;
  /// The body of the last GET /stream/later, fed by the test.
  std::promise<std::shared_ptr<stream_pipe>> later;

  server_fixture() {
    routes.add("POST", "/echo", [](http::request& req, http::responder r) {
      r(http::response::text(200, req.body, "text/plain"));
    });
    routes.add("GET", "/hello/{name}", [](http::request& req,
                                          http::responder r) {
      r(http::response::json(200, "{\"hello\":\"" + req.params["name"]
                                    + "\",\"q\":\""
                                    + req.query_param("q").value_or("")
                                    + "\"}"));
    });
    routes.add("GET", "/late", [](http::request&, http::responder r) {
      // Answers from another thread, as the bridge does.
      std::thread{[r] {
        std::this_thread::sleep_for(50ms);
        r(http::response::empty(204));
      }}.detach();
    });
    routes.add("GET", "/stream/ready", [](http::request&, http::responder r) {
      auto body = std::make_shared<stream_pipe>();
      body->push("first,", 0, false);
      body->push("last", 0, true);
      r(http::response{200, {{"Content-Type", "text/plain"}}, {}, body});
    });
    routes.add("GET", "/stream/broken", [](http::request&, http::responder r) {
      auto body = std::make_shared<stream_pipe>();
      body->push("partial", 0, false);
      body->abort(); // the producer failed before the head was sent
      r(http::response{200, {{"Content-Type", "text/plain"}}, {}, body});
    });
    routes.add("GET", "/stream/later", [this](http::request&, http::responder r) {
      auto body = std::make_shared<stream_pipe>();
      later.set_value(body);
      r(http::response{200, {{"Content-Type", "text/plain"}}, {}, body});
    });
    server_options opts;
    opts.body_limit = 1024;
    opts.read_timeout = 1s;
    opts.idle_timeout = 500ms;
    opts.threads = 2;
    srv = std::make_unique<server>(opts, routes, stats);
    BOOST_REQUIRE(!srv->listen("127.0.0.1", 0));
    port = srv->port();
    srv->start();
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(http_server, server_fixture)

BOOST_AUTO_TEST_CASE(routes_params_and_queries) {
  auto r = test::http_get(port, "/hello/world%21?q=a%20b");
  BOOST_TEST(r.error.empty());
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(r.body == R"({"hello":"world!","q":"a b"})");
  BOOST_TEST(r.header("Content-Type") == "application/json");
  BOOST_TEST(r.header("Server").find("sandhive/") == 0);
}

BOOST_AUTO_TEST_CASE(unknown_paths_get_a_json_404) {
  auto r = test::http_get(port, "/missing");
  BOOST_TEST(r.status == 404u);
  BOOST_TEST(r.body == R"({"code":404,"message":"no route for GET /missing"})");
}

BOOST_AUTO_TEST_CASE(keep_alive_serves_many_requests_on_one_connection) {
  raw_connection c{port};
  BOOST_REQUIRE(c.connected());
  for (int i = 0; i < 3; ++i) {
    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    auto r = c.read_response();
    BOOST_TEST(r.status == 200u);
    BOOST_TEST(r.body == "hello");
  }
  // Responses that come from another thread keep the connection usable too.
  c.send("GET /late HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(c.read_response().status == 204u);
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok");
  BOOST_TEST(c.read_response().body == "ok");
}

BOOST_AUTO_TEST_CASE(a_streamed_body_queued_before_the_answer_is_whole) {
  raw_connection c{port};
  for (int i = 0; i < 2; ++i) { // and the connection stays usable
    c.send("GET /stream/ready HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.read_response();
    BOOST_TEST(r.error.empty(), r.error);
    BOOST_TEST(r.status == 200u);
    BOOST_TEST(r.header("Transfer-Encoding") == "chunked");
    BOOST_TEST(r.body == "first,last");
  }
}

BOOST_AUTO_TEST_CASE(a_body_broken_off_before_its_head_still_gets_the_head) {
  raw_connection c{port};
  c.send("GET /stream/broken HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.read_response();
  BOOST_TEST(r.status == 200u);
  // What came before the failure, then no terminator: a truncated body.
  BOOST_TEST(r.body == "partial");
  BOOST_TEST(r.error == "truncated chunk");
  BOOST_TEST(c.closed_by_peer(2s));
}

BOOST_AUTO_TEST_CASE(a_streamed_head_does_not_wait_for_a_quiet_body) {
  raw_connection c{port};
  c.send("GET /stream/later HTTP/1.1\r\nHost: x\r\n\r\n");
  auto f = later.get_future();
  BOOST_REQUIRE(f.wait_for(5s) == std::future_status::ready);
  auto body = f.get();
  BOOST_TEST(c.received("\r\n\r\n", 5s)); // the head, with no body yet
  body->push("one,", 0, false);
  body->push("two", 0, true);
  auto r = c.read_response();
  BOOST_TEST(r.error.empty(), r.error);
  BOOST_TEST(r.body == "one,two");
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok");
  BOOST_TEST(c.read_response().body == "ok");
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
  raw_connection c{port};
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na"
         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nb");
  BOOST_TEST(c.read_response().body == "a");
  BOOST_TEST(c.read_response().body == "b");
}

BOOST_AUTO_TEST_CASE(chunked_request_bodies_are_assembled) {
  raw_connection c{port};
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  auto r = c.read_response();
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(r.body == "hello world");
}

BOOST_AUTO_TEST_CASE(expect_continue_is_answered) {
  raw_connection c{port};
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
         "Expect: 100-continue\r\n\r\n");
  BOOST_TEST(c.read_response().status == 100u);
  c.send("abc");
  BOOST_TEST(c.read_response().body == "abc");
}

BOOST_AUTO_TEST_CASE(oversized_bodies_get_413_and_the_server_goes_on) {
  raw_connection c{port};
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
         + std::string(5000, 'x'));
  auto r = c.read_response();
  BOOST_TEST(r.status == 413u);
  BOOST_TEST(r.body.find("\"code\":413") != std::string::npos);
  // A chunked body that grows past the limit is caught too.
  raw_connection d{port};
  d.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
         "800\r\n" + std::string(0x800, 'y') + "\r\n0\r\n\r\n");
  BOOST_TEST(d.read_response().status == 413u);
  BOOST_TEST(test::http_get(port, "/hello/x").status == 200u);
}

BOOST_AUTO_TEST_CASE(malformed_requests_get_400_and_others_are_unaffected) {
  raw_connection bad{port};
  raw_connection good{port};
  bad.send("GARBAGE\r\n\r\n");
  auto r = bad.read_response();
  BOOST_TEST(r.status == 400u);
  BOOST_TEST(r.body.find("malformed HTTP request") != std::string::npos);
  BOOST_TEST(bad.closed_by_peer(2s));
  good.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
  BOOST_TEST(good.read_response().body == "hi");
  raw_connection bad_target{port};
  bad_target.send("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(bad_target.read_response().status == 400u);
}

BOOST_AUTO_TEST_CASE(idle_connections_are_closed) {
  raw_connection c{port};
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na");
  BOOST_TEST(c.read_response().status == 200u);
  BOOST_TEST(c.closed_by_peer(3s));
}

BOOST_AUTO_TEST_CASE(slow_requests_are_cut_off) {
  raw_connection c{port};
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  BOOST_TEST(c.closed_by_peer(3s));
}

BOOST_AUTO_TEST_CASE(requests_are_counted_by_route_and_status) {
  test::http_get(port, "/hello/a");
  test::http_get(port, "/hello/b");
  test::http_get(port, "/nope");
  // A request is counted once its response is written, which may be just
  // after the client has read it.
  auto counted = [&](const std::string& needle) {
    return test::eventually(
      [&] { return stats.serialize().find(needle) != std::string::npos; }, 2s);
  };
  BOOST_TEST(counted("sandhive_http_requests_total{method=\"GET\",route=\"/"
                     "hello/{name}\",status=\"200\"} 2"));
  BOOST_TEST(counted("route=\"unmatched\",status=\"404\"} 1"));
  auto text = stats.serialize();
  BOOST_TEST(text.find("sandhive_http_request_duration_seconds_bucket")
             != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_port_in_use_is_a_clear_error) {
  server other{server_options{}, routes, stats};
  auto err = other.listen("127.0.0.1", port);
  BOOST_REQUIRE(err);
  BOOST_TEST(message_of(err).find("another process uses this port")
             != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
