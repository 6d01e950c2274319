#pragma once

#include "gateway/beast.hpp"
#include "gateway/http.hpp"
#include "gateway/net.hpp"

#include <deque>
#include <memory>

namespace sbx {

class metrics;

/// One WebSocket connection, taken over from an `http_session` after its
/// route answered with an upgrade: accepts the handshake, hands each
/// message to the handler, and writes what the handler sends, in order,
/// one message at a time.
class websocket_session
  : public std::enable_shared_from_this<websocket_session> {
public:
  /// Counted in `stats` (may be null) while it lives.
  websocket_session(tcp_stream&& stream,
                    bhttp::request<bhttp::string_body> req,
                    std::shared_ptr<http::ws_handler> handler, metrics* stats);

  ~websocket_session();

  void run();

  /// Called by the channel, from any thread.
  void send(std::string data, bool binary, std::function<void()> written);
  void close(std::string reason);

private:
  struct outgoing {
    std::string data;
    bool binary = false;
    std::function<void()> written;
  };

  void on_accept(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t);
  void write_next();
  void closed();

  websocket::stream<tcp_stream> ws_;
  bhttp::request<bhttp::string_body> req_;
  std::shared_ptr<http::ws_handler> handler_;
  metrics* stats_;
  beast::flat_buffer buffer_;
  std::deque<outgoing> queue_;
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
  std::string close_reason_;
};

} // namespace sbx
