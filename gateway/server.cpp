#include "gateway/server.hpp"

#include "actors/error.hpp"
#include "gateway/http_session.hpp"
#include "gateway/listener.hpp"
#include "runtime/log/log.hpp"

#include <atomic>
#include <thread>
#include <vector>

namespace sbx {

struct server::impl {
  using work_guard = net::executor_work_guard<io_executor>;

  /// One per I/O thread, each run by that thread alone (see net.hpp).
  std::vector<std::unique_ptr<net::io_context>> contexts;
  /// Keep the threads of contexts without connections running.
  std::vector<work_guard> guards;
  std::atomic<size_t> next{0};
  std::shared_ptr<session_context> ctx;
  std::shared_ptr<listener> lst;
  std::vector<std::thread> threads;
  uint16_t port = 0;

  /// The io_context for the next connection or posted job, round robin.
  net::io_context& pick() {
    return *contexts[next.fetch_add(1, std::memory_order_relaxed)
                     % contexts.size()];
  }
};

server::server(server_options opts, const http::router& routes, metrics& stats)
  : impl_(std::make_unique<impl>()) {
  for (unsigned i = 0; i < std::max(1u, opts.threads); ++i)
    impl_->contexts.push_back(std::make_unique<net::io_context>(1));
  impl_->ctx = std::make_shared<session_context>(
    session_context{opts, &routes, &stats});
}

server::~server() {
  stop();
}

caf::error server::listen(const std::string& host, uint16_t port) {
  auto where = host + ":" + std::to_string(port);
  beast::error_code ec;
  auto& ioc = *impl_->contexts.front();
  tcp::resolver resolver{ioc};
  auto results = resolver.resolve(host, std::to_string(port),
                                  tcp::resolver::passive, ec);
  if (ec || results.empty())
    return make_error(ec::invalid_argument,
                      "cannot listen on " + where + ": unknown host " + host);
  auto ep = results.begin()->endpoint();
  tcp::acceptor acceptor{ioc};
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
  impl_->lst = std::make_shared<listener>(
    std::move(acceptor), [i = impl_.get()]() -> net::io_context& {
      return i->pick();
    },
    impl_->ctx);
  return caf::none;
}

void server::start() {
  impl_->lst->run();
  for (auto& ioc : impl_->contexts) {
    impl_->guards.push_back(net::make_work_guard(ioc->get_executor()));
    impl_->threads.emplace_back([ioc = ioc.get()] { ioc->run(); });
  }
}

void server::stop() {
  if (impl_->threads.empty())
    return;
  if (impl_->lst)
    impl_->lst->stop();
  impl_->guards.clear();
  for (auto& ioc : impl_->contexts)
    ioc->stop();
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
}

void server::post(std::function<void()> f) {
  net::post(impl_->pick(), std::move(f));
}

uint16_t server::port() const {
  return impl_->port;
}

} // namespace sbx
