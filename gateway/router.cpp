#include "gateway/router.hpp"

namespace sbx::http {

namespace {

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> result;
  size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    auto next = path.find('/', pos);
    if (next == std::string::npos)
      next = path.size();
    result.push_back(path.substr(pos, next - pos));
    pos = next;
  }
  return result;
}

bool is_placeholder(const std::string& seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

} // namespace

void router::add(std::string method, std::string pattern, handler fn) {
  auto segments = split(pattern);
  routes_.push_back({std::move(method), std::move(pattern),
                     std::move(segments), std::move(fn), false});
}

void router::add_streaming(std::string method, std::string pattern,
                           handler fn) {
  add(std::move(method), std::move(pattern), std::move(fn));
  routes_.back().streams_body = true;
}

bool router::matches(const route& r, const std::vector<std::string>& path,
                     std::map<std::string, std::string>& params) {
  params.clear();
  for (size_t i = 0; i < r.segments.size(); ++i) {
    auto& seg = r.segments[i];
    auto rest = is_placeholder(seg) && seg.size() > 5
                && seg.compare(seg.size() - 4, 4, "...}") == 0;
    if (rest) {
      if (i >= path.size())
        return false;
      std::string tail;
      for (size_t j = i; j < path.size(); ++j)
        tail += (j == i ? "" : "/") + path[j];
      params[seg.substr(1, seg.size() - 5)] = tail;
      return true;
    }
    if (i >= path.size())
      return false;
    if (is_placeholder(seg))
      params[seg.substr(1, seg.size() - 2)] = path[i];
    else if (seg != path[i])
      return false;
  }
  return r.segments.size() == path.size();
}

router::match router::find(request& req) const {
  auto path = split(req.path);
  match result;
  result.pattern = "unmatched";
  result.status = 404;
  std::map<std::string, std::string> params;
  for (auto& r : routes_) {
    if (!matches(r, path, params))
      continue;
    if (r.method == req.method
        || (req.method == "HEAD" && r.method == "GET")) {
      req.params = std::move(params);
      result.fn = &r.fn;
      result.pattern = r.pattern;
      result.status = 0;
      result.streams_body = r.streams_body;
      return result;
    }
    if (result.allow.find(r.method) == std::string::npos)
      result.allow += (result.allow.empty() ? "" : ", ") + r.method;
    result.status = 405;
    result.pattern = r.pattern;
  }
  return result;
}

void router::dispatch(request& req, responder respond,
                      std::string* pattern) const {
  auto m = find(req);
  if (pattern != nullptr)
    *pattern = m.pattern;
  run(m, req, std::move(respond));
}

void router::run(const match& m, request& req, responder respond) const {
  if (m.fn != nullptr) {
    (*m.fn)(req, std::move(respond));
    return;
  }
  if (m.status == 405) {
    auto res = response::error(405, "method " + req.method
                                      + " is not allowed on " + req.path
                                      + "; allowed: " + m.allow);
    res.headers.emplace_back("Allow", m.allow);
    respond(std::move(res));
    return;
  }
  respond(response::error(404, "no route for " + req.method + " " + req.path));
}

} // namespace sbx::http
