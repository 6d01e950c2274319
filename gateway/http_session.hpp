#pragma once

#include "gateway/beast.hpp"
#include "gateway/http.hpp"
#include "gateway/net.hpp"
#include "gateway/router.hpp"
#include "gateway/server.hpp"

#include <chrono>
#include <memory>
#include <optional>

namespace sbx {

/// What every session of one server shares.
struct session_context {
  server_options opts;
  const http::router* routes;
  metrics* stats;
};

/// One HTTP/1.1 connection: reads a request, hands it to the router, writes
/// the response posted back (from any thread) onto the connection's strand,
/// then reads the next one.
class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(tcp::socket&& socket,
               std::shared_ptr<const session_context> ctx);

  void run();

private:
  using clock = std::chrono::steady_clock;

  void do_read();
  void on_read_header(beast::error_code ec, std::size_t);
  void on_continue(beast::error_code ec, std::size_t);
  void on_read(beast::error_code ec, std::size_t);
  void on_read_error(beast::error_code ec);
  void handle_request();
  void send(http::response res);
  void on_write(bool close, beast::error_code ec, std::size_t);
  void fail_request(unsigned status, const std::string& message);
  void do_close();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<const session_context> ctx_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<bhttp::response<bhttp::string_body>> res_;
  std::string remote_;
  // The request in progress, for the metrics.
  std::string method_;
  std::string route_;
  bool keep_alive_ = true;
  clock::time_point started_;
};

} // namespace sbx
