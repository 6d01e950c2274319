#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sbx::http {

/// The boundary of a `multipart/form-data` content type (type and parameter
/// names case-insensitive, the value a token or a quoted string); nullopt for
/// other types, a missing boundary, or one outside RFC 2046's 1..70 bytes.
std::optional<std::string> multipart_boundary(std::string_view content_type);

/// What a part's headers say about it.
struct part_headers {
  /// The `name` of its Content-Disposition ("" when absent).
  std::string name;
  /// The `filename` of its Content-Disposition; `filename*=UTF-8''…` wins
  /// over `filename` when both are present.
  std::optional<std::string> filename;
  /// Its Content-Type ("" when absent).
  std::string content_type;
};

/// An incremental multipart/form-data parser. It holds no more than the
/// current chunk, a part's header block (at most 16 KiB) and a lookbehind of
/// boundary + 3 bytes, so parts of any size stream through.
class multipart_parser {
public:
  /// Receives the parts as they go by. Empty functions are skipped.
  struct callbacks {
    std::function<void(const part_headers&)> on_part_begin;
    /// Never called with an empty view.
    std::function<void(std::string_view)> on_part_data;
    std::function<void()> on_part_end;
  };

  /// The largest header block a part may have.
  static constexpr size_t max_header_bytes = 16 * 1024;

  multipart_parser(std::string boundary, callbacks cbs);

  /// Parses the next piece of the body, split anywhere. False once an error
  /// occurred (see `error`); data after the final boundary is ignored.
  bool feed(std::string_view chunk);

  /// Ends the body: false (and an error) unless the final boundary was seen.
  bool finish();

  /// Stops parsing with `reason`, e.g. from a callback that cannot store the
  /// data; the current `feed` returns false without further callbacks.
  void fail(std::string reason);

  /// True once the final boundary went by.
  bool done() const {
    return state_ == state::epilogue;
  }

  /// Why parsing stopped, if it failed.
  const std::optional<std::string>& error() const {
    return error_;
  }

private:
  enum class state {
    preamble,      // skipping to the first delimiter
    after_delim,   // "\r\n--boundary" seen: a boundary, the end, or data?
    boundary_line, // skipping transport padding up to CRLF
    headers,       // collecting a part's header block
    body,          // streaming a part's data
    epilogue,      // after the final boundary: ignore everything
  };

  // Runs the state machine over buf_ from pos_; false when it needs input.
  bool step();

  // Scans preamble or body data for the delimiter.
  bool scan_data();

  bool parse_headers(std::string_view block);

  void emit(std::string_view data);

  // "\r\n--" + boundary; a virtual CRLF before the body lets the first
  // boundary match it too.
  std::string delim_;
  callbacks cbs_;
  state state_ = state::preamble;
  // Unconsumed input; the part before pos_ is consumed.
  std::string buf_;
  size_t pos_ = 0;
  // How far into the header block the search for CRLFCRLF got.
  size_t header_scanned_ = 0;
  bool in_part_ = false;
  bool finished_ = false;
  std::optional<std::string> error_;
};

} // namespace sbx::http
