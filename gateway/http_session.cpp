#include "gateway/http_session.hpp"

#include "gateway/websocket_session.hpp"

#include "runtime/log/log.hpp"
#include "runtime/metrics/metrics.hpp"

#include <limits>
#include <sstream>

namespace sbx {

namespace {

/// Largest request head (request line and headers) we read.
constexpr uint32_t header_limit = 32 * 1024;

/// Largest piece of a streamed request body handed on at once.
constexpr size_t body_piece = 64 * 1024;

/// How much of a request body the handler did not read is drained before
/// answering, so that the client reads the answer instead of a reset; past
/// this the connection is closed instead.
constexpr uint64_t drain_limit = 8 << 20;

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method)
                            .category();
}

/// Hands a streamed request body's reads to its session, on its thread.
class session_reader : public http::body_reader {
public:
  session_reader(std::shared_ptr<http_session> s, io_executor ex,
                 uint64_t request_no)
    : session_(std::move(s)), ex_(std::move(ex)), request_no_(request_no) {
    // nop
  }

  void read(read_fn fn) override {
    net::post(ex_, [s = session_, n = request_no_, fn = std::move(fn)] {
      s->read_body(n, fn);
    });
  }

private:
  std::shared_ptr<http_session> session_;
  io_executor ex_;
  uint64_t request_no_;
};

} // namespace

http_session::http_session(tcp_socket&& socket,
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
  ++request_no_;
  body_parser_.reset();
  parser_.emplace();
  // The limit depends on the route, known only after the head: it is set
  // then (a streamed body has none).
  parser_->body_limit(std::numeric_limits<uint64_t>::max());
  parser_->header_limit(header_limit);
  continue_sent_ = false;
  drained_ = 0;
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
  method_ = std::string{parser_->get().method_string()};
  if (!make_request())
    return;
  match_ = ctx_->routes->find(req_);
  route_ = match_.pattern;
  if (match_.fn != nullptr && match_.streams_body) {
    // The handler reads the body when it is ready for it.
    body_parser_.emplace(std::move(*parser_));
    parser_.reset();
    req_.reader = std::make_shared<session_reader>(shared_from_this(),
                                                   stream_.get_executor(),
                                                   request_no_);
    return dispatch();
  }
  if (parser_->is_done())
    return dispatch();
  auto length = parser_->content_length();
  if (length && *length > ctx_->opts.body_limit)
    return on_read_error(bhttp::error::body_limit);
  parser_->body_limit(ctx_->opts.body_limit);
  stream_.expires_after(ctx_->opts.read_timeout);
  expect_continue([self = shared_from_this()] {
    bhttp::async_read(self->stream_, self->buffer_, *self->parser_,
                      beast::bind_front_handler(&http_session::on_read, self));
  });
}

void http_session::expect_continue(std::function<void()> next) {
  auto expect = body_parser_ ? body_parser_->get()[bhttp::field::expect]
                             : parser_->get()[bhttp::field::expect];
  if (continue_sent_ || !beast::iequals(expect, "100-continue"))
    return next();
  continue_sent_ = true;
  auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(
    bhttp::status::continue_, 11);
  bhttp::async_write(stream_, *cont,
                     [self = shared_from_this(), cont,
                      next = std::move(next)](beast::error_code ec,
                                              std::size_t) {
                       if (!ec)
                         next();
                     });
}

void http_session::on_read(beast::error_code ec, std::size_t) {
  if (ec)
    return on_read_error(ec);
  req_.body = std::move(parser_->get().body());
  dispatch();
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

bool http_session::make_request() {
  auto& head = parser_->get();
  keep_alive_ = head.keep_alive();
  req_ = http::request{};
  req_.method = method_;
  req_.target = std::string{head.target()};
  auto q = req_.target.find('?');
  auto decoded = http::percent_decode(
    std::string_view{req_.target}.substr(0, q), false);
  if (!decoded || decoded->empty() || decoded->front() != '/') {
    fail_request(400, "malformed request target '" + req_.target + "'");
    return false;
  }
  req_.path = std::move(*decoded);
  if (q != std::string::npos)
    req_.query = req_.target.substr(q + 1);
  for (auto& field : head)
    req_.headers.emplace_back(std::string{field.name_string()},
                              std::string{field.value()});
  req_.remote = remote_;
  return true;
}

http::responder http_session::make_responder() {
  // A route that answers at once (no actor round trip) answers on the
  // session's own thread: dispatch then writes without a trip through the
  // io_context's queue. Answers from other threads are posted.
  return http::responder{[self = shared_from_this()](http::response res) {
    net::dispatch(self->stream_.get_executor(),
              [self, res = std::move(res)]() mutable {
                if (res.upgrade)
                  return self->upgrade(std::move(res.upgrade));
                self->drain([self, res = std::move(res)]() mutable {
                  if (res.stream)
                    self->send_stream(std::move(res));
                  else
                    self->send(std::move(res));
                });
              });
  }};
}

void http_session::dispatch() {
  // The handler may take long (an actor request with its own deadline); the
  // socket must not time out meanwhile.
  stream_.expires_never();
  ctx_->routes->run(match_, req_, make_responder());
}

void http_session::read_body(uint64_t request_no,
                             http::body_reader::read_fn fn) {
  if (request_no != request_no_ || !body_parser_)
    return fn({}, false, "the request is over");
  if (body_parser_->is_done())
    return fn({}, true, {});
  expect_continue([self = shared_from_this(), fn = std::move(fn)] {
    auto buf = std::make_shared<std::string>(body_piece, '\0');
    auto& body = self->body_parser_->get().body();
    body.data = buf->data();
    body.size = buf->size();
    self->stream_.expires_after(self->ctx_->opts.read_timeout);
    bhttp::async_read_some(
      self->stream_, self->buffer_, *self->body_parser_,
      [self, buf, fn](beast::error_code ec, std::size_t) {
        if (ec == bhttp::error::need_buffer)
          ec = {};
        self->stream_.expires_never();
        if (ec) {
          self->keep_alive_ = false;
          return fn({}, false,
                    ec == beast::error::timeout
                      ? "the client stopped sending the request body"
                      : "reading the request body failed: " + ec.message());
        }
        auto& body = self->body_parser_->get().body();
        buf->resize(buf->size() - body.size);
        auto last = self->body_parser_->is_done();
        if (buf->empty() && !last) // only framing was read: read on
          return self->read_body(self->request_no_, fn);
        fn(std::move(*buf), last, {});
      });
  });
}

void http_session::upgrade(std::shared_ptr<http::ws_handler> handler) {
  if (!parser_ || !parser_->is_done()
      || !websocket::is_upgrade(parser_->get()))
    return send(http::response::error(
      400, "this endpoint is a WebSocket: send an upgrade request"));
  if (ctx_->stats != nullptr) {
    auto secs = std::chrono::duration<double>(clock::now() - started_).count();
    ctx_->stats->observe_http(route_, method_, 101, secs);
  }
  // The connection belongs to the WebSocket from here on.
  std::make_shared<websocket_session>(std::move(stream_), parser_->release(),
                                      std::move(handler), ctx_->stats)
    ->run();
}

void http_session::drain(std::function<void()> next) {
  if (!body_parser_ || body_parser_->is_done() || drained_ > drain_limit)
    return next();
  // A client waiting for 100 Continue has sent no body: answer and close.
  if (!continue_sent_
      && beast::iequals(body_parser_->get()[bhttp::field::expect],
                        "100-continue")) {
    keep_alive_ = false;
    return next();
  }
  auto buf = std::make_shared<std::string>(body_piece, '\0');
  auto& body = body_parser_->get().body();
  body.data = buf->data();
  body.size = buf->size();
  stream_.expires_after(ctx_->opts.read_timeout);
  bhttp::async_read_some(
    stream_, buffer_, *body_parser_,
    [self = shared_from_this(), buf,
     next = std::move(next)](beast::error_code ec, std::size_t n) mutable {
      if (ec && ec != bhttp::error::need_buffer) {
        self->keep_alive_ = false;
        self->drained_ = drain_limit + 1;
      }
      self->drained_ += n;
      self->drain(std::move(next));
    });
}

void http_session::send(http::response res) {
  auto version = parser_ && parser_->is_header_done()
                   ? parser_->get().version()
                 : body_parser_ ? body_parser_->get().version()
                                : 11u;
  auto out = std::make_shared<bhttp::response<bhttp::string_body>>(
    static_cast<bhttp::status>(res.status), version);
  out->set(bhttp::field::server, "sandhive/" SBX_VERSION);
  for (auto& [name, value] : res.headers)
    out->insert(name, value);
  auto size = res.body.size();
  out->body() = std::move(res.body);
  // A body the handler did not read leaves the connection out of step.
  if (body_parser_ && !body_parser_->is_done())
    keep_alive_ = false;
  out->keep_alive(keep_alive_);
  out->prepare_payload();
  if (method_ == "HEAD") {
    out->body().clear();
    out->content_length(size);
  }
  res_ = out;
  status_ = res.status;
  stream_.expires_after(ctx_->opts.read_timeout);
  bhttp::async_write(stream_, *res_,
                     beast::bind_front_handler(&http_session::on_write,
                                               shared_from_this(),
                                               res_->need_eof()));
}

void http_session::send_stream(http::response res) {
  source_ = std::move(res.stream);
  status_ = res.status;
  bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(res.status),
                                          11u};
  head.set(bhttp::field::server, "sandhive/" SBX_VERSION);
  for (auto& [name, value] : res.headers)
    head.insert(name, value);
  if (body_parser_ && !body_parser_->is_done())
    keep_alive_ = false;
  head.keep_alive(keep_alive_);
  head.chunked(true);
  std::ostringstream text;
  text << head.base();
  auto head_text = std::make_shared<std::string>(std::move(text).str());
  stream_.expires_after(ctx_->opts.idle_timeout);
  // A body whose first piece is already there (a process's start event)
  // goes out with its head: one segment, one wake-up of the client.
  // (The pull may end the response inline and drop `source_`: hold it.)
  if (auto source = source_; source->ready())
    return source->pull([self = shared_from_this(),
                         head_text](std::string data, bool last) mutable {
      net::dispatch(self->stream_.get_executor(),
                    [self, head_text, last, data = std::move(data)]() mutable {
                      self->write_piece(std::move(data), last,
                                        std::move(head_text));
                    });
    });
  net::async_write(stream_, net::buffer(*head_text),
                   [self = shared_from_this(),
                    head_text](beast::error_code ec, std::size_t) {
                     if (ec) {
                       self->source_->cancel();
                       return self->on_write(true, ec, 0);
                     }
                     self->pull_next();
                   });
}

void http_session::pull_next() {
  // Waiting for the producer (a quiet process) is not the client's fault.
  stream_.expires_never();
  source_->pull([self = shared_from_this()](std::string data, bool last) {
    net::post(self->stream_.get_executor(),
              [self, last, data = std::move(data)]() mutable {
                self->write_piece(std::move(data), last, nullptr);
              });
  });
}

void http_session::write_piece(std::string data, bool last,
                               std::shared_ptr<std::string> head) {
  auto self = shared_from_this();
  auto finish = [self, head](beast::error_code ec, std::size_t n) {
    if (ec)
      self->source_->cancel();
    self->on_write(!self->keep_alive_ || ec, ec, n);
  };
  stream_.expires_after(ctx_->opts.idle_timeout);
  auto head_buf = head ? net::const_buffer{head->data(), head->size()}
                       : net::const_buffer{};
  if (last && source_->failed()) {
    // No terminator: the client must not take a broken body for whole. What
    // came before the failure (and the head, if it is still due) goes out.
    auto cut = [self](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      self->stream_.close();
      self->on_write(true, net::error::connection_aborted, 0);
    };
    if (data.empty() && !head)
      return cut({}, 0);
    auto buf = std::make_shared<std::string>(std::move(data));
    if (buf->empty())
      return net::async_write(stream_, head_buf, [head, cut](auto ec, auto n) {
        cut(ec, n);
      });
    return net::async_write(stream_,
                            beast::buffers_cat(head_buf, bhttp::make_chunk(
                                                           net::buffer(*buf))),
                            [head, buf, cut](auto ec, auto n) { cut(ec, n); });
  }
  if (data.empty()) {
    if (last)
      return net::async_write(stream_,
                              beast::buffers_cat(head_buf,
                                                 bhttp::make_chunk_last()),
                              finish);
    if (!head)
      return pull_next();
    return net::async_write(stream_, head_buf,
                            [self, head, finish](beast::error_code ec,
                                                 std::size_t n) {
                              if (ec)
                                return finish(ec, n);
                              self->pull_next();
                            });
  }
  auto buf = std::make_shared<std::string>(std::move(data));
  if (last) // the last data and the end of the body in one write
    return net::async_write(
      stream_,
      beast::buffers_cat(head_buf, bhttp::make_chunk(net::buffer(*buf)),
                         bhttp::make_chunk_last()),
      [buf, finish](beast::error_code ec, std::size_t n) { finish(ec, n); });
  net::async_write(stream_,
                   beast::buffers_cat(head_buf,
                                      bhttp::make_chunk(net::buffer(*buf))),
                   [self, head, buf, finish](beast::error_code ec,
                                             std::size_t n) {
                     if (ec)
                       return finish(ec, n);
                     self->pull_next();
                   });
}

void http_session::on_write(bool close, beast::error_code ec, std::size_t) {
  if (ctx_->stats != nullptr && status_ != 0) {
    auto secs = std::chrono::duration<double>(clock::now() - started_).count();
    ctx_->stats->observe_http(route_, method_.empty() ? "-" : method_,
                              status_, secs);
  }
  status_ = 0;
  res_.reset();
  source_.reset();
  req_ = http::request{};
  method_.clear();
  if (ec)
    return;
  if (close)
    return do_close();
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
