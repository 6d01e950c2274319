#include "runtime/proto/frame.hpp"

namespace sbx::proto {

void append_frame(std::string& out, const google::protobuf::MessageLite& msg) {
  auto n = msg.ByteSizeLong();
  char len[4] = {static_cast<char>((n >> 24) & 0xff),
                 static_cast<char>((n >> 16) & 0xff),
                 static_cast<char>((n >> 8) & 0xff),
                 static_cast<char>(n & 0xff)};
  out.append(len, 4);
  auto old = out.size();
  out.resize(old + n);
  msg.SerializeWithCachedSizesToArray(
    reinterpret_cast<uint8_t*>(out.data() + old));
}

take_result frame_reader::take(google::protobuf::MessageLite& msg) {
  std::string payload;
  auto r = take_raw(payload);
  if (r != take_result::ok)
    return r;
  return msg.ParseFromString(payload) ? take_result::ok : take_result::bad;
}

take_result frame_reader::take_raw(std::string& payload) {
  if (buffered() < 4)
    return take_result::incomplete;
  auto p = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
  size_t n = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8)
             | size_t{p[3]};
  if (n > max_frame)
    return take_result::bad;
  if (buffered() < 4 + n)
    return take_result::incomplete;
  payload.assign(reinterpret_cast<const char*>(p + 4), n);
  pos_ += 4 + n;
  // Compact once the consumed prefix dominates, keeping appends amortized.
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 64 * 1024 && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return take_result::ok;
}

} // namespace sbx::proto
