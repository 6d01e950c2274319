#include "gateway/http.hpp"

#include "actors/error.hpp"

#include <atomic>
#include <strings.h>

namespace sbx::http {

std::string request::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (k.size() == name.size()
        && strncasecmp(k.data(), name.data(), name.size()) == 0)
      return v;
  return {};
}

std::optional<std::string> request::query_param(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{}
                                         : rest.substr(amp + 1);
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    if (key && *key == name)
      return eq == std::string_view::npos
               ? std::string{}
               : percent_decode(pair.substr(eq + 1), true).value_or("");
  }
  return std::nullopt;
}

bool is_websocket_upgrade(const request& req) {
  auto has_token = [](std::string value, std::string_view token) {
    for (auto& c : value)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return value.find(token) != std::string::npos;
  };
  return req.method == "GET" && has_token(req.header("Upgrade"), "websocket")
         && has_token(req.header("Connection"), "upgrade");
}

response response::json(unsigned status, std::string body) {
  return {status, {{"Content-Type", "application/json"}}, std::move(body)};
}

response response::error(unsigned status, const std::string& message) {
  return json(status, json_error(status, message));
}

response response::empty(unsigned status) {
  return {status, {}, {}};
}

response response::text(unsigned status, std::string body,
                        std::string content_type) {
  return {status, {{"Content-Type", std::move(content_type)}}, std::move(body)};
}

struct responder::state {
  send_fn send;
  std::atomic<bool> sent{false};

  ~state() {
    if (!sent.load())
      send(response::error(500, "the handler dropped the request"));
  }
};

responder::responder(send_fn send) : state_(std::make_shared<state>()) {
  state_->send = std::move(send);
}

void responder::operator()(response r) const {
  if (!state_->sent.exchange(true))
    state_->send(std::move(r));
}

std::optional<std::string> percent_decode(std::string_view x, bool form) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  std::string result;
  result.reserve(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == '%') {
      if (i + 2 >= x.size())
        return std::nullopt;
      auto hi = hex(x[i + 1]);
      auto lo = hex(x[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      result += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (form && x[i] == '+') {
      result += ' ';
    } else {
      result += x[i];
    }
  }
  return result;
}

} // namespace sbx::http
