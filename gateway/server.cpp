#include "gateway/server.hpp"

#include "actors/error.hpp"
#include "gateway/http_session.hpp"
#include "gateway/listener.hpp"
#include "runtime/log/log.hpp"

#include <thread>
#include <vector>

namespace sbx {

struct server::impl {
  net::io_context ioc;
  std::shared_ptr<session_context> ctx;
  std::shared_ptr<listener> lst;
  std::vector<std::thread> threads;
  uint16_t port = 0;
};

server::server(server_options opts, const http::router& routes, metrics& stats)
  : impl_(std::make_unique<impl>()) {
  impl_->ctx = std::make_shared<session_context>(
    session_context{opts, &routes, &stats});
}

server::~server() {
  stop();
}

caf::error server::listen(const std::string& host, uint16_t port) {
  auto where = host + ":" + std::to_string(port);
  beast::error_code ec;
  tcp::resolver resolver{impl_->ioc};
  auto results = resolver.resolve(host, std::to_string(port),
                                  tcp::resolver::passive, ec);
  if (ec || results.empty())
    return make_error(ec::invalid_argument,
                      "cannot listen on " + where + ": unknown host " + host);
  auto ep = results.begin()->endpoint();
  tcp::acceptor acceptor{impl_->ioc};
  auto failed = [&](const char* what) {
    return make_error(ec::unavailable,
                      "cannot listen on " + where + ": " + what + " failed: "
                        + ec.message()
                        + (ec == net::error::address_in_use
                             ? " (another process uses this port; pick "
                               "another with --listen)"
                             : ""));
  };
  if (acceptor.open(ep.protocol(), ec); ec)
    return failed("open");
  if (acceptor.set_option(net::socket_base::reuse_address(true), ec); ec)
    return failed("setsockopt");
  if (acceptor.bind(ep, ec); ec)
    return failed("bind");
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec)
    return failed("listen");
  impl_->port = acceptor.local_endpoint().port();
  impl_->lst = std::make_shared<listener>(impl_->ioc, std::move(acceptor),
                                          impl_->ctx);
  return caf::none;
}

void server::start() {
  impl_->lst->run();
  for (unsigned i = 0; i < std::max(1u, impl_->ctx->opts.threads); ++i)
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
}

void server::stop() {
  if (impl_->threads.empty())
    return;
  if (impl_->lst)
    impl_->lst->stop();
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
}

void server::post(std::function<void()> f) {
  net::post(impl_->ioc, std::move(f));
}

uint16_t server::port() const {
  return impl_->port;
}

} // namespace sbx
