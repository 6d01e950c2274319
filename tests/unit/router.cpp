#include "gateway/router.hpp"

#include <boost/test/unit_test.hpp>

using namespace sbx;
using sbx::http::request;
using sbx::http::responder;
using sbx::http::response;

namespace {

struct router_fixture {
  http::router r;
  std::string hit;

  router_fixture() {
    auto mark = [this](std::string name) {
      return [this, name](request&, responder respond) {
        hit = name;
        respond(response::empty(204));
      };
    };
    r.add("GET", "/sandboxes", mark("list"));
    r.add("POST", "/sandboxes", mark("create"));
    r.add("GET", "/sandboxes/{id}", mark("get"));
    r.add("POST", "/sandboxes/{id}/timeout", mark("timeout"));
    r.add("GET", "/files/{path...}", mark("files"));
  }

  /// Dispatches and returns the response (handlers answer synchronously).
  response call(const std::string& method, const std::string& path,
                request* out = nullptr) {
    request req;
    req.method = method;
    req.path = path;
    response result;
    r.dispatch(req, responder{[&](response res) { result = std::move(res); }});
    if (out)
      *out = req;
    return result;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(router, router_fixture)

BOOST_AUTO_TEST_CASE(literal_and_placeholder_routes) {
  request req;
  BOOST_TEST(call("GET", "/sandboxes").status == 204u);
  BOOST_TEST(hit == "list");
  BOOST_TEST(call("POST", "/sandboxes").status == 204u);
  BOOST_TEST(hit == "create");
  BOOST_TEST(call("GET", "/sandboxes/abc123", &req).status == 204u);
  BOOST_TEST(hit == "get");
  BOOST_TEST(req.params["id"] == "abc123");
  BOOST_TEST(call("POST", "/sandboxes/x/timeout", &req).status == 204u);
  BOOST_TEST(hit == "timeout");
  BOOST_TEST(req.params["id"] == "x");
  // Trailing and doubled slashes do not matter.
  BOOST_TEST(call("GET", "/sandboxes/").status == 204u);
  BOOST_TEST(call("GET", "//sandboxes//y", &req).status == 204u);
  BOOST_TEST(req.params["id"] == "y");
}

BOOST_AUTO_TEST_CASE(rest_placeholder_takes_the_remaining_path) {
  request req;
  BOOST_TEST(call("GET", "/files/home/user/a.txt", &req).status == 204u);
  BOOST_TEST(req.params["path"] == "home/user/a.txt");
  BOOST_TEST(call("GET", "/files").status == 404u);
}

BOOST_AUTO_TEST_CASE(unknown_paths_are_404_json) {
  auto res = call("GET", "/nope");
  BOOST_TEST(res.status == 404u);
  BOOST_TEST(res.body == R"({"code":404,"message":"no route for GET /nope"})");
  BOOST_TEST(call("GET", "/sandboxes/a/b").status == 404u);
}

BOOST_AUTO_TEST_CASE(wrong_method_is_405_with_allow) {
  auto res = call("DELETE", "/sandboxes");
  BOOST_TEST(res.status == 405u);
  std::string allow;
  for (auto& [k, v] : res.headers)
    if (k == "Allow")
      allow = v;
  BOOST_TEST(allow == "GET, POST");
}

BOOST_AUTO_TEST_CASE(head_uses_the_get_route) {
  BOOST_TEST(call("HEAD", "/sandboxes/q").status == 204u);
  BOOST_TEST(hit == "get");
}

BOOST_AUTO_TEST_CASE(find_reports_the_pattern_for_metrics) {
  request req;
  req.method = "GET";
  req.path = "/sandboxes/abc";
  BOOST_TEST(r.find(req).pattern == "/sandboxes/{id}");
  req.path = "/zzz";
  BOOST_TEST(r.find(req).pattern == "unmatched");
}

BOOST_AUTO_TEST_CASE(responder_answers_exactly_once) {
  int calls = 0;
  unsigned status = 0;
  {
    responder respond{[&](response res) {
      ++calls;
      status = res.status;
    }};
    auto copy = respond;
    copy(response::empty(201));
    respond(response::empty(500));
  }
  BOOST_TEST(calls == 1);
  BOOST_TEST(status == 201u);
}

BOOST_AUTO_TEST_CASE(a_dropped_responder_still_answers_500) {
  unsigned status = 0;
  { responder respond{[&](response res) { status = res.status; }}; }
  BOOST_TEST(status == 500u);
}

BOOST_AUTO_TEST_CASE(query_parameters_and_percent_decoding) {
  request req;
  req.query = "metadata=user%3Dalice%26env%3Dprod&limit=10&flag&q=a+b";
  BOOST_TEST(*req.query_param("metadata") == "user=alice&env=prod");
  BOOST_TEST(*req.query_param("limit") == "10");
  BOOST_TEST(req.query_param("flag")->empty());
  BOOST_TEST(*req.query_param("q") == "a b");
  BOOST_TEST(!req.query_param("missing"));
  BOOST_TEST(*http::percent_decode("/a%20b", false) == "/a b");
  BOOST_TEST(*http::percent_decode("/a+b", false) == "/a+b");
  BOOST_TEST(!http::percent_decode("/a%2", false));
  BOOST_TEST(!http::percent_decode("/a%zz", false));
  req.headers = {{"X-API-Key", "k"}};
  BOOST_TEST(req.header("x-api-key") == "k");
  BOOST_TEST(req.header("missing").empty());
}

BOOST_AUTO_TEST_SUITE_END()
