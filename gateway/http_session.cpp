#include "gateway/http_session.hpp"

#include "runtime/log/log.hpp"
#include "runtime/metrics/metrics.hpp"

namespace sbx {

namespace {

/// Largest request head (request line and headers) we read.
constexpr uint32_t header_limit = 32 * 1024;

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method)
                            .category();
}

} // namespace

http_session::http_session(tcp::socket&& socket,
                           std::shared_ptr<const session_context> ctx)
  : stream_(std::move(socket)), ctx_(std::move(ctx)) {
  beast::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec)
    remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
}

void http_session::run() {
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&http_session::do_read,
                                          shared_from_this()));
}

void http_session::do_read() {
  parser_.emplace();
  parser_->body_limit(ctx_->opts.body_limit);
  parser_->header_limit(header_limit);
  // Between requests the idle timeout applies; once bytes of the next
  // request are buffered, the read timeout does.
  stream_.expires_after(buffer_.size() > 0 ? ctx_->opts.read_timeout
                                           : ctx_->opts.idle_timeout);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           beast::bind_front_handler(
                             &http_session::on_read_header,
                             shared_from_this()));
}

void http_session::on_read_header(beast::error_code ec, std::size_t) {
  if (ec == bhttp::error::end_of_stream)
    return do_close();
  if (ec)
    return on_read_error(ec);
  started_ = clock::now();
  auto& req = parser_->get();
  method_ = std::string{req.method_string()};
  if (parser_->is_done())
    return handle_request();
  stream_.expires_after(ctx_->opts.read_timeout);
  if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
    auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(
      bhttp::status::continue_, req.version());
    bhttp::async_write(stream_, *cont,
                       [self = shared_from_this(), cont](beast::error_code ec,
                                                         std::size_t n) {
                         self->on_continue(ec, n);
                       });
    return;
  }
  on_continue({}, 0);
}

void http_session::on_continue(beast::error_code ec, std::size_t) {
  if (ec)
    return;
  bhttp::async_read(stream_, buffer_, *parser_,
                    beast::bind_front_handler(&http_session::on_read,
                                              shared_from_this()));
}

void http_session::on_read(beast::error_code ec, std::size_t) {
  if (ec)
    return on_read_error(ec);
  handle_request();
}

void http_session::on_read_error(beast::error_code ec) {
  if (ec == bhttp::error::header_limit)
    return fail_request(431, "request headers are larger than "
                               + std::to_string(header_limit) + " bytes");
  if (ec == bhttp::error::body_limit)
    return fail_request(413, "request body is larger than the limit of "
                               + std::to_string(ctx_->opts.body_limit)
                               + " bytes");
  if (is_parse_error(ec))
    return fail_request(400, "malformed HTTP request: " + ec.message());
  // A timeout or a reset: the stream is closed already.
}

void http_session::handle_request() {
  auto& req = parser_->get();
  keep_alive_ = req.keep_alive();
  http::request r;
  r.method = method_;
  r.target = std::string{req.target()};
  auto q = r.target.find('?');
  {
    auto decoded = http::percent_decode(
      std::string_view{r.target}.substr(0, q), false);
    if (!decoded || decoded->empty() || decoded->front() != '/')
      return fail_request(400, "malformed request target '" + r.target + "'");
    r.path = std::move(*decoded);
  }
  if (q != std::string::npos)
    r.query = r.target.substr(q + 1);
  for (auto& field : req)
    r.headers.emplace_back(std::string{field.name_string()},
                           std::string{field.value()});
  r.body = std::move(req.body());
  r.remote = remote_;
  // The handler may take long (an actor request with its own deadline); the
  // socket must not time out meanwhile.
  stream_.expires_never();
  http::responder respond{[self = shared_from_this()](http::response res) {
    net::post(self->stream_.get_executor(),
              [self, res = std::move(res)]() mutable {
                self->send(std::move(res));
              });
  }};
  ctx_->routes->dispatch(r, std::move(respond), &route_);
}

void http_session::send(http::response res) {
  auto version = parser_ && parser_->is_header_done()
                   ? parser_->get().version()
                   : 11u;
  auto out = std::make_shared<bhttp::response<bhttp::string_body>>(
    static_cast<bhttp::status>(res.status), version);
  out->set(bhttp::field::server, "sandhive/" SBX_VERSION);
  for (auto& [name, value] : res.headers)
    out->insert(name, value);
  auto size = res.body.size();
  out->body() = std::move(res.body);
  out->keep_alive(keep_alive_);
  out->prepare_payload();
  if (method_ == "HEAD") {
    out->body().clear();
    out->content_length(size);
  }
  res_ = out;
  stream_.expires_after(ctx_->opts.read_timeout);
  bhttp::async_write(stream_, *res_,
                     beast::bind_front_handler(&http_session::on_write,
                                               shared_from_this(),
                                               res_->need_eof()));
}

void http_session::on_write(bool close, beast::error_code ec, std::size_t) {
  if (ctx_->stats != nullptr && res_) {
    auto secs = std::chrono::duration<double>(clock::now() - started_).count();
    ctx_->stats->observe_http(route_, method_.empty() ? "-" : method_,
                              res_->result_int(), secs);
  }
  if (ec)
    return;
  if (close)
    return do_close();
  res_.reset();
  method_.clear();
  do_read();
}

void http_session::fail_request(unsigned status, const std::string& message) {
  // After a framing error the byte stream cannot be trusted: answer, then
  // close. Other connections are unaffected.
  keep_alive_ = false;
  if (!parser_ || !parser_->is_header_done())
    started_ = clock::now();
  route_ = "malformed";
  log::get("gateway")->debug("{} from {}: {}", status, remote_, message);
  send(http::response::error(status, message));
}

void http_session::do_close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
}

} // namespace sbx
