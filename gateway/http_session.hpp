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
/// the response posted back (from any thread) onto the connection's I/O
/// thread (its io_context has that one thread: see net.hpp),
/// then reads the next one. Routes that stream their request body read it
/// through a `body_reader`; responses with a `body_source` are written as
/// chunks, each pulled only after the previous one is on the wire.
class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(tcp_socket&& socket,
               std::shared_ptr<const session_context> ctx);

  void run();

  /// Reads the next piece of a streamed request body (on its thread).
  void read_body(uint64_t request_no, http::body_reader::read_fn fn);

private:
  using clock = std::chrono::steady_clock;

  void do_read();
  void on_read_header(beast::error_code ec, std::size_t);
  void expect_continue(std::function<void()> next);
  void on_read(beast::error_code ec, std::size_t);
  void on_read_error(beast::error_code ec);
  /// The request head as the router sees it; false after answering 400.
  bool make_request();
  void dispatch();
  http::responder make_responder();
  /// Reads what is left of a streamed request body (up to a limit), then
  /// runs `next`.
  void drain(std::function<void()> next);
  /// Hands the connection to a WebSocket session.
  void upgrade(std::shared_ptr<http::ws_handler> handler);
  void send(http::response res);
  void send_stream(http::response res);
  void pull_next();
  /// Writes a piece of a streamed body (with the response head when it is
  /// the first), on the session's thread.
  void write_piece(std::string data, bool last,
                   std::shared_ptr<std::string> head);
  void on_write(bool close, beast::error_code ec, std::size_t);
  void fail_request(unsigned status, const std::string& message);
  void do_close();

  tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<const session_context> ctx_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  /// Replaces `parser_` once a route streams its request body.
  std::optional<bhttp::request_parser<bhttp::buffer_body>> body_parser_;
  std::shared_ptr<bhttp::response<bhttp::string_body>> res_;
  /// The streamed response in progress.
  std::shared_ptr<http::body_source> source_;
  unsigned status_ = 0;
  http::request req_;
  http::router::match match_;
  /// Counts requests, so that a stale body reader cannot read the next one.
  uint64_t request_no_ = 0;
  bool continue_sent_ = false;
  /// Bytes of an unread request body drained before answering.
  uint64_t drained_ = 0;
  std::string remote_;
  // The request in progress, for the metrics.
  std::string method_;
  std::string route_;
  bool keep_alive_ = true;
  clock::time_point started_;
};

} // namespace sbx
