#pragma once

#include <google/protobuf/message_lite.h>

#include <cstddef>
#include <cstdint>
#include <string>

/// Length-prefixed protobuf frames: a 4-byte big-endian length, then the
/// message. Used by envd and by the node on their socket pair.
namespace sbx::proto {

/// Frames larger than this are a protocol error (a chunk is at most 64 KiB).
constexpr size_t max_frame = 4 << 20;

/// Appends `msg` as one frame to `out`.
void append_frame(std::string& out, const google::protobuf::MessageLite& msg);

enum class take_result { incomplete, ok, bad };

/// A receive buffer that hands out complete frames.
class frame_reader {
public:
  /// Appends received bytes.
  void feed(const char* data, size_t n) {
    buf_.append(data, n);
  }

  /// Parses the next complete frame into `msg`: `incomplete` when more bytes
  /// are needed, `bad` on an oversized or unparsable frame.
  take_result take(google::protobuf::MessageLite& msg);

  /// Like `take`, but hands out the frame's payload unparsed.
  take_result take_raw(std::string& payload);

  size_t buffered() const {
    return buf_.size() - pos_;
  }

private:
  std::string buf_;
  size_t pos_ = 0;
};

} // namespace sbx::proto
