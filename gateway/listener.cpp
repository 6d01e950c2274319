#include "gateway/listener.hpp"

#include "gateway/http_session.hpp"
#include "runtime/log/log.hpp"

namespace sbx {

listener::listener(net::io_context& ioc, tcp::acceptor acceptor,
                   std::shared_ptr<const session_context> ctx)
  : ioc_(ioc), acceptor_(std::move(acceptor)), ctx_(std::move(ctx)) {
  // nop
}

void listener::run() {
  net::dispatch(acceptor_.get_executor(),
                beast::bind_front_handler(&listener::do_accept,
                                          shared_from_this()));
}

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ignored;
    self->acceptor_.close(ignored);
  });
}

void listener::do_accept() {
  // Each connection gets its own strand.
  acceptor_.async_accept(net::make_strand(ioc_),
                         beast::bind_front_handler(&listener::on_accept,
                                                   shared_from_this()));
}

void listener::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open())
    return;
  if (ec) {
    // Out of file descriptors and the like: log, back off a little, go on.
    log::get("gateway")->warn("accept failed: {}", ec.message());
  } else {
    socket.set_option(tcp::no_delay{true}, ec);
    std::make_shared<http_session>(std::move(socket), ctx_)->run();
  }
  do_accept();
}

} // namespace sbx
