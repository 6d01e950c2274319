// The E2B data plane's files (shared/E2B-PROTOCOL.md §2, §8): GET and POST
// /files, streamed both ways, authorized by the access token or a signed URL.

#include "actors/error.hpp"
#include "gateway/bridge.hpp"
#include "gateway/envd_stream.hpp"
#include "gateway/gzip.hpp"
#include "gateway/multipart.hpp"
#include "gateway/routes/envd_common.hpp"
#include "gateway/routes/routes.hpp"
#include "gateway/sandbox_routes.hpp"
#include "runtime/auth/signature.hpp"

#include "envd.pb.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <deque>
#include <set>

#include <strings.h>

namespace sbx::routes {

namespace {

using sandhive::envd::FromEnvd;
using sandhive::envd::ToEnvd;

/// Bytes sent to envd per upload chunk at most.
constexpr size_t chunk_size = 256 * 1024;

int64_t now_s() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch())
    .count();
}

/// The HTTP status of an envd error on /files, as envd answers.
unsigned file_status(sandhive::envd::Code c) {
  using namespace sandhive::envd;
  switch (c) {
    case CODE_INVALID_ARGUMENT:
    case CODE_FAILED_PRECONDITION:
      return 400;
    case CODE_UNAUTHENTICATED:
      return 401;
    case CODE_PERMISSION_DENIED:
      return 403;
    case CODE_NOT_FOUND:
      return 404;
    case CODE_ALREADY_EXISTS:
      return 409;
    case CODE_RESOURCE_EXHAUSTED:
      return 507;
    case CODE_UNAVAILABLE:
      return 502;
    default:
      return 500;
  }
}

http::response envd_error(const sandhive::envd::Error& e) {
  return http::response::error(file_status(e.code()), e.message());
}

std::string base_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// The signature parameters of a /files request.
auth::signature_params signature_of(const http::request& req,
                                    const char* operation) {
  auth::signature_params p;
  if (auto t = req.header("X-Access-Token"); !t.empty())
    p.access_token = t;
  p.signature = req.query_param("signature");
  p.signature_expiration = req.query_param("signature_expiration");
  p.path = req.query_param("path").value_or("");
  p.username = req.query_param("username").value_or("");
  p.operation = operation;
  return p;
}

/// Finds the sandbox of a /files request, by header or else by the sandbox
/// whose token signed the URL, and checks the token or signature.
void with_file_sandbox(api_context& ctx, const http::request& req,
                       const http::responder& respond, const char* operation,
                       std::function<void(const sandbox_route&)> f) {
  auto params = signature_of(req, operation);
  auto now = now_s();
  auto check = [params, now, respond, f](const sandbox_route& r) {
    if (r.access_token.empty())
      return f(r); // an unsecured sandbox (v1 with secure: false)
    auto verdict = auth::check_file_signature(params, r.access_token, now);
    if (verdict != auth::signature_check::ok)
      return respond(http::response::error(auth::http_status(verdict),
                                           std::string{
                                             auth::message(verdict)}));
    f(r);
  };
  auto id = req.header("E2b-Sandbox-Id");
  if (!id.empty()) {
    ctx.sandboxes.find(id, [id, respond,
                            check](caf::expected<sandbox_route> r) {
      if (!r)
        return respond(r.error() == ec::not_found
                         ? sandbox_gone(id)
                         : bridge::to_response(r.error()));
      check(*r);
    });
    return;
  }
  // A signed URL used as is (curl, a browser): it names no sandbox, but
  // only one sandbox's token makes its signature.
  if (!params.signature) {
    respond(http::response::error(
      401, std::string{auth::message(auth::signature_check::missing_signature)}));
    return;
  }
  ctx.sandboxes.find_if(
    [params, now](const sandbox_route& r) {
      if (r.access_token.empty())
        return false;
      auto v = auth::check_file_signature(params, r.access_token, now);
      return v == auth::signature_check::ok
             || v == auth::signature_check::expired;
    },
    [respond, check](caf::expected<sandbox_route> r) {
      if (!r)
        return respond(http::response::error(
          401, std::string{
                 auth::message(auth::signature_check::invalid_signature)}));
      check(*r);
    });
}

// -- downloads ----------------------------------------------------------------

void download(api_context& ctx, const http::request& req,
              const http::responder& respond, const sandbox_route& route) {
  auto path = req.query_param("path").value_or("");
  if (path.empty())
    return respond(http::response::error(400, "query parameter 'path' is "
                                              "required"));
  auto ae = req.header("Accept-Encoding");
  ToEnvd msg;
  msg.mutable_read()->set_path(path);
  msg.mutable_read()->set_user(req.query_param("username").value_or(""));
  stream_spec spec;
  spec.request = envd_request{msg.SerializeAsString()};
  spec.wait_first = true;
  spec.head = http::response{
    200,
    {{"Content-Type", "application/octet-stream"},
     {"Content-Disposition", "inline; filename=\"" + base_name(path) + "\""},
     {"Vary", "Accept-Encoding"}},
    {}};
  spec.piece = [](const FromEnvd& m) {
    return m.has_data() ? m.data() : std::string{};
  };
  spec.end = [](const sandhive::envd::Error*) { return std::string{}; };
  spec.abort_on_error = true;
  spec.fail = [](const sandhive::envd::Error& e) { return envd_error(e); };
  start_envd_stream(ctx.sys, route.handle, std::move(spec), respond);
}

// -- uploads ------------------------------------------------------------------

/// One POST /files: reads the body piece by piece (octet-stream, maybe
/// gzipped, or multipart with one part per file) and sends each file to envd
/// in chunks, one chunk in flight at a time, so that a fast client waits for
/// the sandbox's disk instead of filling the gateway's memory.
class upload : public std::enable_shared_from_this<upload> {
public:
  upload(api_context& ctx, http::request req, http::responder respond,
         sandbox_route route)
    : ctx_(ctx),
      req_(std::move(req)),
      respond_(std::move(respond)),
      route_(std::move(route)) {
    // nop
  }

  void start() {
    path_ = req_.query_param("path").value_or("");
    user_ = req_.query_param("username").value_or("");
    for (auto& [k, v] : req_.headers) {
      if (k.size() <= 11 || strncasecmp(k.data(), "X-Metadata-", 11) != 0)
        continue;
      auto key = k.substr(11);
      for (auto& c : key)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (auto c : key + v)
        if (c < 0x20 || c > 0x7e)
          return fail(400, "metadata '" + key
                             + "' must be printable ASCII");
      metadata_[key] = v;
    }
    auto encoding = req_.header("Content-Encoding");
    if (!encoding.empty() && strcasecmp(encoding.c_str(), "identity") != 0) {
      if (strcasecmp(encoding.c_str(), "gzip") != 0)
        return fail(415, "unsupported Content-Encoding '" + encoding
                           + "': send gzip or nothing");
      gunzip_.emplace();
    }
    auto ct = req_.header("Content-Type");
    if (auto boundary = http::multipart_boundary(ct)) {
      parser_.emplace(*boundary,
                      http::multipart_parser::callbacks{
                        [this](const http::part_headers& h) { on_part(h); },
                        [this](std::string_view d) { on_data(d); },
                        [this] { on_part_end(); }});
    } else {
      if (path_.empty())
        return fail(400, "query parameter 'path' is required for a raw "
                         "(non-multipart) upload");
      ops_.push_back({op::begin, path_, {}});
    }
    read_next();
  }

private:
  struct op {
    enum kind_t { begin, data, end } kind;
    std::string dest;
    std::string bytes;
  };

  void on_part(const http::part_headers& h) {
    if (h.name != "file") {
      skipping_ = true;
      return;
    }
    skipping_ = false;
    auto dest = !path_.empty() ? path_ : h.filename.value_or("");
    if (dest.empty()) {
      parse_error_ = "a file part has neither a filename nor a 'path' query "
                     "parameter";
      return;
    }
    ops_.push_back({op::begin, dest, {}});
  }

  void on_data(std::string_view d) {
    if (skipping_)
      return;
    add_data(d);
  }

  void on_part_end() {
    if (!skipping_)
      ops_.push_back({op::end, {}, {}});
    skipping_ = false;
  }

  void add_data(std::string_view d) {
    if (!ops_.empty() && ops_.back().kind == op::data
        && ops_.back().bytes.size() < chunk_size) {
      ops_.back().bytes.append(d);
      return;
    }
    ops_.push_back({op::data, {}, std::string{d}});
  }

  /// Feeds one piece of the (decoded) body to the parser or the file.
  bool consume(std::string_view d) {
    if (parser_) {
      if (!parser_->feed(d)) {
        parse_error_ = "malformed multipart body: "
                       + parser_->error().value_or("?");
        return false;
      }
      return parse_error_.empty();
    }
    add_data(d);
    return true;
  }

  void read_next() {
    auto self = shared_from_this();
    req_.reader->read([self](std::string data, bool last, std::string err) {
      self->on_piece(std::move(data), last, std::move(err));
    });
  }

  void on_piece(std::string data, bool last, std::string err) {
    if (!err.empty())
      return fail(400, err);
    auto ok = true;
    if (gunzip_) {
      ok = gunzip_->feed(data, [this](std::string_view out) {
        return consume(out);
      });
      if (ok && last)
        ok = gunzip_->finish();
      if (!ok && parse_error_.empty())
        parse_error_ = gunzip_->error().value_or("malformed gzip body");
    } else {
      ok = consume(data);
    }
    if (ok && last) {
      if (parser_ && !parser_->finish()) {
        parse_error_ = "malformed multipart body: "
                       + parser_->error().value_or("it ended early");
        ok = false;
      } else if (!parser_) {
        ops_.push_back({op::end, {}, {}});
      }
    }
    if (!ok)
      return fail(400, parse_error_);
    body_done_ = last;
    run_ops();
  }

  /// Sends the queued operations to envd one at a time; reads more of the
  /// body once they are done.
  void run_ops() {
    // Small pieces are gathered into chunks of `chunk_size`: fewer trips.
    if (!body_done_ && ops_.size() == 1 && ops_.front().kind == op::data
        && ops_.front().bytes.size() < chunk_size)
      return read_next();
    if (ops_.empty()) {
      if (!body_done_)
        return read_next();
      if (results_.empty())
        return fail(400, "the request carried no file (a multipart part "
                         "named 'file' or a raw body)");
      respond_(http::response::json(
        200, results_.dump(-1, ' ', false,
                           nlohmann::json::error_handler_t::replace)));
      return;
    }
    auto o = std::move(ops_.front());
    ops_.pop_front();
    if (o.kind == op::begin) {
      if (!dests_.insert(o.dest).second)
        return fail(400, "two files in one request have the destination '"
                           + o.dest + "'");
      dest_ = o.dest;
      upload_id_ = 0;
      first_ = true;
      return run_ops();
    }
    ToEnvd msg;
    auto w = msg.mutable_write();
    if (first_) {
      w->set_path(dest_);
      w->set_user(user_);
      for (auto& [k, v] : metadata_)
        (*w->mutable_metadata())[k] = v;
      first_ = false;
    }
    w->set_data(std::move(o.bytes));
    w->set_last(o.kind == op::end);
    auto last = o.kind == op::end;
    auto self = shared_from_this();
    ctx_.bridge.request(
      route_.handle,
      [self, last](uint64_t id, const envd_reply& reply) {
        self->upload_id_ = id;
        if (!reply.bytes.empty()) {
          FromEnvd m;
          if (!m.ParseFromString(reply.bytes))
            return self->fail(500, "the sandbox sent a malformed reply");
          if (m.has_error()) {
            self->upload_id_ = 0; // envd dropped it already
            return self->respond_(envd_error(m.error()));
          }
          if (last && m.has_entry()) {
            nlohmann::json e = {{"name", m.entry().name()},
                                {"type", "file"},
                                {"path", m.entry().path()}};
            if (m.entry().metadata_size() > 0) {
              auto md = nlohmann::json::object();
              for (auto& [k, v] : m.entry().metadata())
                md[k] = v;
              e["metadata"] = md;
            }
            self->results_.push_back(e);
            self->upload_id_ = 0;
          }
        }
        self->run_ops();
      },
      [self](const caf::error& err) {
        self->respond_(err == ec::not_found || err == ec::unavailable
                         ? sandbox_gone(self->route_.id)
                         : bridge::to_response(err));
      },
      atom::write_v, upload_id_, envd_request{msg.SerializeAsString()});
  }

  void fail(unsigned status, const std::string& message) {
    // envd removes the partial file of an abandoned upload.
    if (upload_id_ != 0)
      caf::anon_send(route_.handle, atom::cancel_v, upload_id_);
    upload_id_ = 0;
    respond_(http::response::error(status, message));
  }

  api_context& ctx_;
  http::request req_;
  http::responder respond_;
  sandbox_route route_;
  std::string path_;
  std::string user_;
  std::map<std::string, std::string> metadata_;
  std::optional<http::gunzip> gunzip_;
  std::optional<http::multipart_parser> parser_;
  std::deque<op> ops_;
  std::set<std::string> dests_;
  std::string dest_;
  std::string parse_error_;
  uint64_t upload_id_ = 0;
  bool first_ = true;
  bool skipping_ = false;
  bool body_done_ = false;
  nlohmann::json results_ = nlohmann::json::array();
};

} // namespace

void add_files(http::router& r, api_context& ctx) {
  r.add("GET", "/files", [&ctx](http::request& req, http::responder respond) {
    with_file_sandbox(ctx, req, respond, "read",
                      [&ctx, req, respond](const sandbox_route& route) {
                        download(ctx, req, respond, route);
                      });
  });
  r.add_streaming(
    "POST", "/files", [&ctx](http::request& req, http::responder respond) {
      with_file_sandbox(ctx, req, respond, "write",
                        [&ctx, req, respond](const sandbox_route& route) {
                          std::make_shared<upload>(ctx, req, respond, route)
                            ->start();
                        });
    });
}

http::handler sandbox_health(api_context& ctx) {
  return [&ctx](http::request& req, http::responder respond) {
    auto id = req.header("E2b-Sandbox-Id");
    ctx.sandboxes.find(id, [&ctx, id, respond](caf::expected<sandbox_route> r) {
      if (!r)
        return respond(sandbox_gone(id));
      // A sandbox found dead here is dead for the control plane too, at
      // once: a client that saw isRunning() turn false must not get its
      // info from a cache that has not heard yet.
      ctx.bridge.request(
        r->handle,
        [&ctx, id, respond](const sandbox_info& info) {
          if (info.state == "killed")
            ctx.sandboxes.forget(id);
          respond(info.state == "running" ? http::response::empty(204)
                                          : sandbox_gone(id));
        },
        [&ctx, id, respond](const caf::error& err) {
          if (err == caf::sec::request_receiver_down)
            ctx.sandboxes.forget(id);
          respond(sandbox_gone(id));
        },
        atom::get_v);
    });
  };
}

} // namespace sbx::routes
