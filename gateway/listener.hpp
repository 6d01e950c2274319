#pragma once

#include "gateway/beast.hpp"
#include "gateway/net.hpp"

#include <memory>

namespace sbx {

struct session_context;

/// Accepts connections and starts an `http_session` on a strand of its own
/// for each.
class listener : public std::enable_shared_from_this<listener> {
public:
  listener(net::io_context& ioc, tcp::acceptor acceptor,
           std::shared_ptr<const session_context> ctx);

  void run();

  /// Closes the acceptor (from any thread).
  void stop();

private:
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<const session_context> ctx_;
};

} // namespace sbx
