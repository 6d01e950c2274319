#include "gateway/websocket_session.hpp"

#include "runtime/metrics/metrics.hpp"

namespace sbx {

namespace {

/// The handler's view of the session; weak, so that a handler that keeps
/// its channel does not keep a closed connection alive.
class session_channel : public http::ws_channel {
public:
  explicit session_channel(std::weak_ptr<websocket_session> s)
    : session_(std::move(s)) {
    // nop
  }

  void send(std::string data, bool binary,
            std::function<void()> written) override {
    if (auto s = session_.lock())
      s->send(std::move(data), binary, std::move(written));
  }

  void close(std::string reason) override {
    if (auto s = session_.lock())
      s->close(std::move(reason));
  }

private:
  std::weak_ptr<websocket_session> session_;
};

/// Largest message a client may send (terminal input, control messages).
constexpr size_t max_message = 1 << 20;

} // namespace

websocket_session::websocket_session(tcp_stream&& stream,
                                     bhttp::request<bhttp::string_body> req,
                                     std::shared_ptr<http::ws_handler> handler,
                                     metrics* stats)
  : ws_(std::move(stream)),
    req_(std::move(req)),
    handler_(std::move(handler)),
    stats_(stats) {
  if (stats_)
    stats_->add_websocket_sessions(1);
}

websocket_session::~websocket_session() {
  if (stats_)
    stats_->add_websocket_sessions(-1);
}

void websocket_session::run() {
  // The WebSocket's own keepalive pings replace the HTTP timeouts.
  beast::get_lowest_layer(ws_).expires_never();
  ws_.set_option(
    websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws_.set_option(websocket::stream_base::decorator(
    [](websocket::response_type& res) {
      res.set(bhttp::field::server, "sandhive/" SBX_VERSION);
    }));
  ws_.read_message_max(max_message);
  ws_.async_accept(req_, beast::bind_front_handler(
                           &websocket_session::on_accept, shared_from_this()));
}

void websocket_session::on_accept(beast::error_code ec) {
  if (ec)
    return closed();
  handler_->on_open(std::make_shared<session_channel>(weak_from_this()));
  do_read();
}

void websocket_session::do_read() {
  ws_.async_read(buffer_, beast::bind_front_handler(&websocket_session::on_read,
                                                    shared_from_this()));
}

void websocket_session::on_read(beast::error_code ec, std::size_t) {
  if (ec)
    return closed();
  auto data = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  handler_->on_message(std::move(data), ws_.got_binary());
  do_read();
}

void websocket_session::send(std::string data, bool binary,
                             std::function<void()> written) {
  net::post(ws_.get_executor(), [self = shared_from_this(),
                                 data = std::move(data), binary,
                                 written = std::move(written)]() mutable {
    if (self->closed_ || self->closing_)
      return;
    self->queue_.push_back({std::move(data), binary, std::move(written)});
    if (!self->writing_)
      self->write_next();
  });
}

void websocket_session::close(std::string reason) {
  net::post(ws_.get_executor(),
            [self = shared_from_this(), reason = std::move(reason)] {
              if (self->closed_ || self->closing_)
                return;
              self->closing_ = true;
              self->close_reason_ = reason;
              if (!self->writing_)
                self->write_next();
            });
}

void websocket_session::write_next() {
  if (closed_)
    return;
  if (queue_.empty()) {
    writing_ = false;
    if (closing_) {
      writing_ = true;
      ws_.async_close(websocket::close_reason{websocket::close_code::normal,
                                              close_reason_},
                      [self = shared_from_this()](beast::error_code) {
                        self->closed();
                      });
    }
    return;
  }
  writing_ = true;
  ws_.binary(queue_.front().binary);
  ws_.async_write(net::buffer(queue_.front().data),
                  [self = shared_from_this()](beast::error_code ec,
                                              std::size_t) {
                    if (ec)
                      return self->closed();
                    auto done = std::move(self->queue_.front().written);
                    self->queue_.pop_front();
                    if (done)
                      done();
                    self->write_next();
                  });
}

void websocket_session::closed() {
  if (closed_)
    return;
  closed_ = true;
  queue_.clear();
  handler_->on_close();
}

} // namespace sbx
