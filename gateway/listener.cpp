#include "gateway/listener.hpp"

#include "gateway/http_session.hpp"
#include "runtime/log/log.hpp"

namespace sbx {

listener::listener(tcp::acceptor acceptor, picker next_context,
                   std::shared_ptr<const session_context> ctx)
  : acceptor_(std::move(acceptor)),
    next_context_(std::move(next_context)),
    ctx_(std::move(ctx)) {
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
  // The connection lives on the next I/O thread's io_context from here on.
  acceptor_.async_accept(next_context_().get_executor(),
                         beast::bind_front_handler(&listener::on_accept,
                                                   shared_from_this()));
}

void listener::on_accept(beast::error_code ec, tcp_socket socket) {
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
