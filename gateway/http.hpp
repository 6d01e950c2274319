#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// The gateway's own view of HTTP: plain structs that route handlers work
/// with, so that only the session files compile Beast.
namespace sbx::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

/// A request body read piece by piece, for routes that stream it (uploads):
/// the session reads the next piece from the socket only when asked, which
/// is the back-pressure towards the client.
class body_reader {
public:
  /// One piece: data, whether it was the last, or an error (the client went
  /// away, a malformed chunk, a timeout). Runs on an I/O thread: hand the
  /// data on, never block.
  using read_fn
    = std::function<void(std::string data, bool last, std::string error)>;

  virtual ~body_reader() = default;

  /// Reads the next piece; call again only after `fn` ran.
  virtual void read(read_fn fn) = 0;
};

/// A response body produced over time, sent with chunked encoding: the
/// session asks for the next piece only once the previous one is written,
/// which is the back-pressure towards the producer.
class body_source {
public:
  /// One piece of the body; `last` ends the response (and may carry data).
  using deliver_fn = std::function<void(std::string data, bool last)>;

  virtual ~body_source() = default;

  /// Asks for the next piece. `fn` runs once, from any thread.
  virtual void pull(deliver_fn fn) = 0;

  /// The client went away (or a write failed) before the last piece.
  virtual void cancel() = 0;

  /// Whether a piece is waiting, so that `pull` would deliver it at once
  /// on the calling thread.
  virtual bool ready() {
    return false;
  }

  /// Whether the body broke off (its producer failed after the head was
  /// sent). Asked at the last piece: the session then closes the
  /// connection without the chunked terminator, so that the client sees a
  /// truncated body as an error instead of a complete one.
  virtual bool failed() const {
    return false;
  }
};

/// Sends on an open WebSocket, from any thread. Messages go out in order;
/// `written` runs once a message is on the wire (the back-pressure signal).
class ws_channel {
public:
  virtual ~ws_channel() = default;

  virtual void send(std::string data, bool binary,
                    std::function<void()> written = {})
    = 0;

  /// Closes after the queued messages (normal closure, with a reason).
  virtual void close(std::string reason) = 0;
};

/// The application side of a WebSocket. The session calls it on its thread
/// and reads the next message only after `on_message` returns.
class ws_handler {
public:
  virtual ~ws_handler() = default;

  virtual void on_open(std::shared_ptr<ws_channel> channel) = 0;

  virtual void on_message(std::string data, bool binary) = 0;

  /// The socket closed (either side, or an error); called once.
  virtual void on_close() = 0;
};

/// One request as the router sees it.
struct request {
  std::string method;
  /// The raw request target, e.g. "/sandboxes?limit=10".
  std::string target;
  /// The target's path, percent-decoded.
  std::string path;
  /// The target's query string without '?', still encoded.
  std::string query;
  header_list headers;
  std::string body;
  /// The client's address as "ip:port".
  std::string remote;
  /// Values of the route pattern's {placeholders}.
  std::map<std::string, std::string> params;
  /// Set instead of `body` on routes that stream their request body.
  std::shared_ptr<body_reader> reader;

  /// The first header called `name` (case-insensitive), or "".
  std::string header(std::string_view name) const;

  /// The decoded value of query parameter `name`, if present.
  std::optional<std::string> query_param(std::string_view name) const;
};

/// One response to write.
struct response {
  unsigned status = 200;
  header_list headers;
  std::string body;
  /// When set, the body comes from here (chunked) and `body` is ignored.
  std::shared_ptr<body_source> stream;
  /// When set, the connection becomes a WebSocket served by this handler
  /// (the request must be an upgrade); status and body are ignored.
  std::shared_ptr<ws_handler> upgrade;

  /// A JSON body with its content type.
  static response json(unsigned status, std::string body);

  /// The error body E2B's SDKs parse: {"code": status, "message": "..."}.
  static response error(unsigned status, const std::string& message);

  /// No body at all (204, 304, …).
  static response empty(unsigned status);

  /// A text body with the given content type.
  static response text(unsigned status, std::string body,
                       std::string content_type);
};

/// Delivers the response to one request, from any thread, exactly once:
/// later calls are ignored, and if every copy is dropped without a call the
/// client still gets a 500 rather than a hang.
class responder {
public:
  using send_fn = std::function<void(response)>;

  explicit responder(send_fn send);

  void operator()(response r) const;

private:
  struct state;
  std::shared_ptr<state> state_;
};

/// Whether the request asks to become a WebSocket.
bool is_websocket_upgrade(const request& req);

/// A route handler. It must not block: anything slow goes through the bridge
/// and answers through the responder later.
using handler = std::function<void(request&, responder)>;

/// Decodes %XX escapes (and '+' as space when `form` is true); nullopt on a
/// malformed escape.
std::optional<std::string> percent_decode(std::string_view x, bool form);

} // namespace sbx::http
