#pragma once

#include "gateway/beast.hpp"
#include "gateway/net.hpp"

#include <functional>
#include <memory>

namespace sbx {

struct session_context;

/// Accepts connections and starts an `http_session` for each on the
/// io_context `next_context` picks (one per I/O thread).
class listener : public std::enable_shared_from_this<listener> {
public:
  using picker = std::function<net::io_context&()>;

  listener(tcp::acceptor acceptor, picker next_context,
           std::shared_ptr<const session_context> ctx);

  void run();

  /// Closes the acceptor (from any thread).
  void stop();

private:
  void do_accept();
  void on_accept(beast::error_code ec, tcp_socket socket);

  tcp::acceptor acceptor_;
  picker next_context_;
  std::shared_ptr<const session_context> ctx_;
};

} // namespace sbx
