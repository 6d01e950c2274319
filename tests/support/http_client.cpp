#include "tests/support/http_client.hpp"

#include <cstring>
#include <ctime>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sbx::test {

std::string http_reply::header(const std::string& name) const {
  for (auto& [k, v] : headers)
    if (strcasecmp(k.c_str(), name.c_str()) == 0)
      return v;
  return {};
}

raw_connection::raw_connection(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

raw_connection::~raw_connection() {
  if (fd_ >= 0)
    ::close(fd_);
}

void raw_connection::send(const std::string& bytes) {
  size_t off = 0;
  while (fd_ >= 0 && off < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      return;
    off += static_cast<size_t>(n);
  }
}

namespace {

/// Reads more bytes into `buf`; false on EOF, error or timeout.
bool fill(int fd, std::string& buf, std::chrono::steady_clock::time_point end) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                end - std::chrono::steady_clock::now())
                .count();
  if (left <= 0)
    return false;
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left)) <= 0)
    return false;
  char chunk[65536];
  auto n = ::recv(fd, chunk, sizeof(chunk), 0);
  if (n <= 0)
    return false;
  buf.append(chunk, static_cast<size_t>(n));
  return true;
}

} // namespace

http_reply raw_connection::read_response(std::chrono::milliseconds timeout) {
  http_reply r;
  auto end = std::chrono::steady_clock::now() + timeout;
  size_t head_end;
  while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(fd_, buf_, end)) {
      r.error = "no complete response head";
      return r;
    }
  auto head = buf_.substr(0, head_end);
  buf_.erase(0, head_end + 4);
  auto line_end = head.find("\r\n");
  auto status_line = head.substr(0, line_end);
  r.status = static_cast<unsigned>(std::atoi(status_line.substr(9, 3).c_str()));
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  size_t length = 0;
  bool chunked = false;
  while (pos < head.size()) {
    auto next = head.find("\r\n", pos);
    if (next == std::string::npos)
      next = head.size();
    auto line = head.substr(pos, next - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.erase(0, 1);
      r.headers.emplace_back(line.substr(0, colon), value);
      if (strcasecmp(line.substr(0, colon).c_str(), "Content-Length") == 0)
        length = std::stoul(value);
      if (strcasecmp(line.substr(0, colon).c_str(), "Transfer-Encoding") == 0
          && strcasecmp(value.c_str(), "chunked") == 0)
        chunked = true;
    }
    pos = next + 2;
  }
  if (chunked) {
    // size CRLF data CRLF … 0 CRLF CRLF (no trailers from our server)
    for (;;) {
      size_t eol;
      while ((eol = buf_.find("\r\n")) == std::string::npos)
        if (!fill(fd_, buf_, end)) {
          r.error = "truncated chunk";
          return r;
        }
      auto size = std::stoul(buf_.substr(0, eol), nullptr, 16);
      while (buf_.size() < eol + 2 + size + 2)
        if (!fill(fd_, buf_, end)) {
          r.error = "truncated chunk";
          return r;
        }
      r.body.append(buf_, eol + 2, size);
      buf_.erase(0, eol + 2 + size + 2);
      if (size == 0)
        return r;
    }
  }
  while (buf_.size() < length)
    if (!fill(fd_, buf_, end)) {
      r.error = "truncated body";
      return r;
    }
  r.body = buf_.substr(0, length);
  buf_.erase(0, length);
  return r;
}

bool raw_connection::received(const std::string& marker,
                              std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (buf_.find(marker) == std::string::npos)
    if (!fill(fd_, buf_, end))
      return false;
  return true;
}

bool raw_connection::closed_by_peer(std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  std::string ignored;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  end - std::chrono::steady_clock::now())
                  .count();
    if (left <= 0)
      return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0)
      return false;
    char c[4096];
    auto n = ::recv(fd_, c, sizeof(c), 0);
    if (n <= 0)
      return true;
  }
}

http_reply http_request(uint16_t port, const std::string& method,
                        const std::string& target, const std::string& body,
                        std::vector<std::pair<std::string, std::string>> headers,
                        std::chrono::milliseconds timeout) {
  raw_connection conn{port};
  if (!conn.connected()) {
    http_reply r;
    r.error = "connection refused";
    return r;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Connection: close\r\n";
  for (auto& [k, v] : headers)
    req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  conn.send(req);
  return conn.read_response(timeout);
}

} // namespace sbx::test
