#pragma once

#include "gateway/http.hpp"

#include <string>
#include <vector>

namespace sbx::http {

/// The route table: method + path pattern → handler. Patterns are literal
/// segments and `{name}` placeholders ("/sandboxes/{id}/timeout"); a trailing
/// `{name...}` matches the rest of the path.
class router {
public:
  /// What routing a request found.
  struct match {
    /// The handler, or null when nothing matched.
    const handler* fn = nullptr;
    /// The matched pattern (the metrics label), or "unmatched".
    std::string pattern;
    /// 404 when no pattern matched the path, 405 when only the method was
    /// wrong (`allow` then lists the methods that would work).
    unsigned status = 0;
    std::string allow;
    /// The route reads its body through `request::reader`.
    bool streams_body = false;
  };

  /// Adds a route; later routes never shadow earlier ones.
  void add(std::string method, std::string pattern, handler fn);

  /// Adds a route that streams its request body (no body limit: the handler
  /// bounds what it keeps).
  void add_streaming(std::string method, std::string pattern, handler fn);

  /// Runs the handler that `find` returned (or answers 404/405).
  void run(const match& m, request& req, responder respond) const;

  /// Finds the route of `req` and fills `req.params`.
  match find(request& req) const;

  /// Routes `req` and answers 404/405 JSON errors itself.
  void dispatch(request& req, responder respond,
                std::string* pattern = nullptr) const;

private:
  struct route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    handler fn;
    bool streams_body = false;
  };

  static bool matches(const route& r, const std::vector<std::string>& path,
                      std::map<std::string, std::string>& params);

  std::vector<route> routes_;
};

} // namespace sbx::http
