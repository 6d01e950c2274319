#include "gateway/gzip.hpp"

#include <zlib.h>

#include <algorithm>
#include <new>

namespace sbx::http {

namespace {

// 15 window bits, +16 for the gzip wrapper (header and CRC trailer) rather
// than zlib's.
constexpr int gzip_window_bits = 15 + 16;

// zlib counts in uInt; larger inputs go in steps.
constexpr size_t max_step = size_t{1} << 30;

constexpr size_t out_piece = 64 * 1024;

Bytef* in_ptr(std::string_view x) {
  return reinterpret_cast<Bytef*>(const_cast<char*>(x.data()));
}

std::string zlib_message(const z_stream& zs, int rc) {
  if (zs.msg != nullptr)
    return zs.msg;
  return "zlib error " + std::to_string(rc);
}

} // namespace

// -- gunzip -------------------------------------------------------------------

void gunzip::deleter::operator()(z_stream_s* zs) const {
  inflateEnd(zs); // harmless on a stream whose init failed
  delete zs;
}

gunzip::gunzip() : zs_(new (std::nothrow) z_stream{}) {
  if (!zs_ || inflateInit2(zs_.get(), gzip_window_bits) != Z_OK)
    error_ = "cannot initialize gzip decompression";
}

gunzip::~gunzip() = default;

gunzip::gunzip(gunzip&&) noexcept = default;

gunzip& gunzip::operator=(gunzip&&) noexcept = default;

bool gunzip::feed(std::string_view in, const sink& out) {
  if (error_)
    return false;
  if (!zs_) {
    error_ = "gzip stream used after move";
    return false;
  }
  if (in.empty())
    return true;
  buf_.resize(piece_size);
  auto* zs = zs_.get();
  in_member_ = true;
  while (!in.empty()) {
    auto n = std::min(in.size(), max_step);
    zs->next_in = in_ptr(in);
    zs->avail_in = static_cast<uInt>(n);
    in.remove_prefix(n);
    // Run until the input is used up and the output space no longer fills.
    do {
      zs->next_out = reinterpret_cast<Bytef*>(buf_.data());
      zs->avail_out = static_cast<uInt>(buf_.size());
      auto rc = inflate(zs, Z_NO_FLUSH);
      auto produced = buf_.size() - zs->avail_out;
      if (produced > 0 && !out(std::string_view{buf_.data(), produced})) {
        error_ = "gzip decompression stopped by its consumer";
        return false;
      }
      if (rc == Z_STREAM_END) {
        in_member_ = false;
        any_member_ = true;
        // Another member follows (Go's reader is multistream too); anything
        // else fails on its header.
        if (zs->avail_in > 0) {
          inflateReset(zs);
          in_member_ = true;
        }
        continue;
      }
      if (rc == Z_BUF_ERROR)
        break; // no progress possible: it needs more input
      if (rc != Z_OK) {
        error_ = "malformed gzip body: " + zlib_message(*zs, rc);
        return false;
      }
    } while (zs->avail_in > 0 || zs->avail_out == 0);
  }
  return true;
}

bool gunzip::finish() {
  if (error_)
    return false;
  if (in_member_ || !any_member_)
    error_ = "gzip body ended early";
  return !error_;
}

// -- gzip_writer --------------------------------------------------------------

void gzip_writer::deleter::operator()(z_stream_s* zs) const {
  deflateEnd(zs); // harmless on a stream whose init failed
  delete zs;
}

gzip_writer::gzip_writer(int level) : zs_(new (std::nothrow) z_stream{}) {
  if (!zs_
      || deflateInit2(zs_.get(), level, Z_DEFLATED, gzip_window_bits, 8,
                      Z_DEFAULT_STRATEGY)
           != Z_OK)
    error_ = "cannot initialize gzip compression";
}

gzip_writer::~gzip_writer() = default;

gzip_writer::gzip_writer(gzip_writer&&) noexcept = default;

gzip_writer& gzip_writer::operator=(gzip_writer&&) noexcept = default;

bool gzip_writer::feed(std::string_view in, std::string& out) {
  if (error_)
    return false;
  if (finished_) {
    error_ = "gzip stream already finished";
    return false;
  }
  while (!in.empty()) {
    auto n = std::min(in.size(), max_step);
    if (!run(in.substr(0, n), Z_NO_FLUSH, out))
      return false;
    in.remove_prefix(n);
  }
  return true;
}

bool gzip_writer::finish(std::string& out) {
  if (error_)
    return false;
  if (finished_)
    return true;
  finished_ = true;
  return run({}, Z_FINISH, out);
}

bool gzip_writer::run(std::string_view in, int flush, std::string& out) {
  if (!zs_) {
    error_ = "gzip stream used after move";
    return false;
  }
  auto* zs = zs_.get();
  buf_.resize(out_piece);
  zs->next_in = in_ptr(in);
  zs->avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  // Z_NO_FLUSH has consumed all input once output space is left over;
  // Z_FINISH is done at Z_STREAM_END.
  do {
    zs->next_out = reinterpret_cast<Bytef*>(buf_.data());
    zs->avail_out = static_cast<uInt>(buf_.size());
    rc = deflate(zs, flush);
    if (rc == Z_STREAM_ERROR) {
      error_ = "gzip compression failed: " + zlib_message(*zs, rc);
      return false;
    }
    out.append(buf_.data(), buf_.size() - zs->avail_out);
  } while (zs->avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
  return true;
}

} // namespace sbx::http
