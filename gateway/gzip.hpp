#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct z_stream_s;

namespace sbx::http {

/// Streaming gzip decompression for request bodies (Content-Encoding: gzip).
/// Output leaves in bounded pieces, so a small body that inflates to
/// gigabytes never sits in memory: the sink counts and can refuse.
class gunzip {
public:
  /// Receives up to `piece_size` decompressed bytes; returns false to stop
  /// (e.g. the upload grew too large), which fails the stream.
  using sink = std::function<bool(std::string_view)>;

  /// The most output handed to the sink at once.
  static constexpr size_t piece_size = 64 * 1024;

  gunzip();
  ~gunzip();
  gunzip(gunzip&&) noexcept;
  gunzip& operator=(gunzip&&) noexcept;

  /// Decompresses the next piece of the body, split anywhere. Concatenated
  /// gzip members are read in turn, as Go's gzip.Reader does. False once an
  /// error occurred (see `error`).
  bool feed(std::string_view in, const sink& out);

  /// Ends the body: false (and an error) unless it ended with a complete
  /// gzip member.
  bool finish();

  /// Why decompression stopped, if it failed.
  const std::optional<std::string>& error() const {
    return error_;
  }

private:
  struct deleter {
    void operator()(z_stream_s* zs) const;
  };

  std::unique_ptr<z_stream_s, deleter> zs_;
  // Inside a member: its end (with the trailer) is still to come.
  bool in_member_ = false;
  // At least one member ended.
  bool any_member_ = false;
  // Output space, reused across calls (kept off the stack on purpose).
  std::string buf_;
  std::optional<std::string> error_;
};

/// Streaming gzip compression for response bodies.
class gzip_writer {
public:
  /// @param level zlib's 0..9, or -1 for its default (6).
  explicit gzip_writer(int level = -1);
  ~gzip_writer();
  gzip_writer(gzip_writer&&) noexcept;
  gzip_writer& operator=(gzip_writer&&) noexcept;

  /// Compresses `in`, appending whatever compressed bytes are ready to `out`
  /// (often none: zlib buffers until it has a block).
  bool feed(std::string_view in, std::string& out);

  /// Appends the rest of the stream and the gzip trailer to `out`.
  bool finish(std::string& out);

  /// Why compression failed, if it did.
  const std::optional<std::string>& error() const {
    return error_;
  }

private:
  struct deleter {
    void operator()(z_stream_s* zs) const;
  };

  bool run(std::string_view in, int flush, std::string& out);

  std::unique_ptr<z_stream_s, deleter> zs_;
  bool finished_ = false;
  std::string buf_;
  std::optional<std::string> error_;
};

} // namespace sbx::http
