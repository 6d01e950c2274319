#include "gateway/multipart.hpp"

#include "gateway/http.hpp"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace sbx::http {

namespace {

// RFC 2046 limits boundaries to 70 characters; the limit also bounds the
// parser's lookbehind.
constexpr size_t max_boundary_size = 70;

using param_list = std::vector<std::pair<std::string, std::string>>;

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

bool is_tspecial(char c) {
  return c != '\0' && std::strchr("()<>@,;:\\\"/[]?=", c) != nullptr;
}

bool is_token_char(char c) {
  return c > ' ' && c < 127 && !is_tspecial(c);
}

std::string_view trim(std::string_view x) {
  while (!x.empty() && is_space(x.front()))
    x.remove_prefix(1);
  while (!x.empty() && is_space(x.back()))
    x.remove_suffix(1);
  return x;
}

std::string lower(std::string_view x) {
  std::string result{x};
  for (auto& c : result)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return result;
}

// Consumes a token from the front of `x`.
std::string_view take_token(std::string_view& x) {
  size_t n = 0;
  while (n < x.size() && is_token_char(x[n]))
    ++n;
  auto result = x.substr(0, n);
  x.remove_prefix(n);
  return result;
}

// Consumes a quoted string from the front of `x` (which starts at the '"').
// Like Go's mime package, a backslash escapes only special characters, so
// unescaped Windows paths ("C:\dir\f") survive.
std::optional<std::string> take_quoted(std::string_view& x) {
  std::string result;
  for (size_t i = 1; i < x.size(); ++i) {
    auto c = x[i];
    if (c == '"') {
      x.remove_prefix(i + 1);
      return result;
    }
    if (c == '\\' && i + 1 < x.size() && is_tspecial(x[i + 1]))
      c = x[++i];
    else if (c == '\r' || c == '\n')
      return std::nullopt;
    result += c;
  }
  return std::nullopt;
}

// Decodes an RFC 2231 extended value: charset'language'percent-encoded.
std::optional<std::string> decode_ext_value(std::string_view x) {
  auto q1 = x.find('\'');
  auto q2 = q1 == x.npos ? x.npos : x.find('\'', q1 + 1);
  if (q2 == x.npos)
    return std::nullopt;
  auto charset = lower(x.substr(0, q1));
  if (charset != "utf-8" && charset != "us-ascii")
    return std::nullopt;
  x.remove_prefix(q2 + 1);
  return percent_decode(x, false);
}

// Parses "type/sub; name=value; name="quoted"" into the lower-cased type and
// its parameters (names lower-cased). `name*` values are decoded and replace
// `name`. Rejects what Go's mime.ParseMediaType rejects that matters here:
// a missing type, bad syntax, duplicate parameters.
std::optional<std::string> parse_media_type(std::string_view x,
                                            param_list& params) {
  auto semi = x.find(';');
  auto type = trim(x.substr(0, semi));
  auto rest = semi == x.npos ? std::string_view{} : x.substr(semi);
  if (type.empty())
    return std::nullopt;
  for (auto c : type)
    if (!is_token_char(c) && c != '/')
      return std::nullopt;
  param_list ext;
  for (;;) {
    rest = trim(rest);
    if (rest.empty())
      break;
    if (rest.front() != ';')
      return std::nullopt;
    rest = trim(rest.substr(1));
    if (rest.empty())
      break; // a trailing ';' is harmless
    auto name = lower(take_token(rest));
    rest = trim(rest);
    if (name.empty() || rest.empty() || rest.front() != '=')
      return std::nullopt;
    rest = trim(rest.substr(1));
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      auto quoted = take_quoted(rest);
      if (!quoted)
        return std::nullopt;
      value = std::move(*quoted);
    } else {
      value = std::string{take_token(rest)};
      if (value.empty())
        return std::nullopt;
    }
    auto& dst = name.back() == '*' ? ext : params;
    auto same = [&](const auto& kv) { return kv.first == name; };
    if (std::any_of(dst.begin(), dst.end(), same))
      return std::nullopt;
    dst.emplace_back(std::move(name), std::move(value));
  }
  for (auto& [name, value] : ext) {
    auto decoded = decode_ext_value(value);
    if (!decoded)
      continue; // an unknown charset: fall back to the plain parameter
    auto base = name.substr(0, name.size() - 1);
    auto i = std::find_if(params.begin(), params.end(),
                          [&](const auto& kv) { return kv.first == base; });
    if (i != params.end())
      i->second = std::move(*decoded);
    else
      params.emplace_back(std::move(base), std::move(*decoded));
  }
  return lower(type);
}

const std::string* find_param(const param_list& params, std::string_view name) {
  for (auto& [key, value] : params)
    if (key == name)
      return &value;
  return nullptr;
}

} // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  param_list params;
  auto type = parse_media_type(content_type, params);
  if (!type || *type != "multipart/form-data")
    return std::nullopt;
  auto boundary = find_param(params, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > max_boundary_size)
    return std::nullopt;
  return *boundary;
}

// -- multipart_parser ---------------------------------------------------------

multipart_parser::multipart_parser(std::string boundary, callbacks cbs)
  : delim_("\r\n--" + boundary), cbs_(std::move(cbs)), buf_("\r\n") {
  // An empty boundary would match everywhere.
  if (boundary.empty())
    fail("empty multipart boundary");
}

bool multipart_parser::feed(std::string_view chunk) {
  if (error_)
    return false;
  if (finished_) {
    fail("data after the end of the multipart body");
    return false;
  }
  if (state_ == state::epilogue || chunk.empty())
    return true;
  buf_.append(chunk.data(), chunk.size());
  while (!error_ && step()) {
    // nop
  }
  buf_.erase(0, pos_);
  pos_ = 0;
  return !error_;
}

bool multipart_parser::finish() {
  if (error_)
    return false;
  if (!finished_) {
    finished_ = true;
    if (state_ != state::epilogue)
      fail("multipart body ended before the final boundary");
  }
  return !error_;
}

void multipart_parser::fail(std::string reason) {
  if (!error_)
    error_ = std::move(reason);
}

void multipart_parser::emit(std::string_view data) {
  if (!data.empty() && cbs_.on_part_data)
    cbs_.on_part_data(data);
}

bool multipart_parser::step() {
  auto avail = std::string_view{buf_}.substr(pos_);
  switch (state_) {
    case state::preamble:
    case state::body:
      return scan_data();
    case state::after_delim: {
      // What follows "\r\n--boundary" tells a boundary from data that merely
      // contains it (which Go's reader also treats as data).
      if (avail.empty() || (avail[0] == '-' && avail.size() < 2))
        return false;
      if (avail[0] == '-' && avail[1] == '-') {
        pos_ = buf_.size(); // the epilogue is ignored
        state_ = state::epilogue;
        if (in_part_) {
          in_part_ = false;
          if (cbs_.on_part_end)
            cbs_.on_part_end();
        }
        return false;
      }
      if (avail[0] == '\r' || is_space(avail[0])) {
        state_ = state::boundary_line;
        if (in_part_) {
          in_part_ = false;
          if (cbs_.on_part_end)
            cbs_.on_part_end();
        }
        return true;
      }
      if (in_part_)
        emit(delim_);
      state_ = in_part_ ? state::body : state::preamble;
      return true;
    }
    case state::boundary_line: {
      // Transport padding, then CRLF.
      while (!avail.empty() && is_space(avail[0])) {
        avail.remove_prefix(1);
        ++pos_;
      }
      if (avail.empty() || (avail[0] == '\r' && avail.size() < 2))
        return false;
      if (avail[0] != '\r' || avail[1] != '\n') {
        fail("malformed multipart body: bad boundary line");
        return false;
      }
      pos_ += 2;
      state_ = state::headers;
      header_scanned_ = 0;
      return true;
    }
    case state::headers: {
      if (avail.size() < 2)
        return false;
      std::string_view block;
      size_t consumed = 2; // a part without headers starts with CRLF
      if (avail[0] != '\r' || avail[1] != '\n') {
        auto end = avail.find("\r\n\r\n", header_scanned_);
        if (end == avail.npos) {
          if (avail.size() > max_header_bytes + 3)
            fail("multipart part headers exceed 16 KiB");
          // Resume where a terminator could still start.
          header_scanned_ = avail.size() < 3 ? 0 : avail.size() - 3;
          return false;
        }
        if (end > max_header_bytes) {
          fail("multipart part headers exceed 16 KiB");
          return false;
        }
        block = avail.substr(0, end);
        consumed = end + 4;
      }
      if (!parse_headers(block))
        return false;
      pos_ += consumed;
      return true;
    }
    case state::epilogue:
      pos_ = buf_.size();
      return false;
  }
  return false;
}

bool multipart_parser::scan_data() {
  auto avail = std::string_view{buf_}.substr(pos_);
  auto i = avail.find(delim_);
  if (i == avail.npos) {
    // Hold back what could be the start of a delimiter split by the chunking.
    auto n = avail.size() - std::min(avail.size(), delim_.size() - 1);
    if (state_ == state::body)
      emit(avail.substr(0, n));
    pos_ += n;
    return false;
  }
  if (state_ == state::body)
    emit(avail.substr(0, i));
  pos_ += i + delim_.size();
  state_ = state::after_delim;
  return true;
}

bool multipart_parser::parse_headers(std::string_view block) {
  param_list headers;
  while (!block.empty()) {
    auto eol = block.find("\r\n");
    auto line = block.substr(0, eol);
    block = eol == block.npos ? std::string_view{} : block.substr(eol + 2);
    if (line.empty())
      continue;
    if (is_space(line.front())) {
      // An obsolete folded line continues the previous header.
      if (headers.empty()) {
        fail("malformed multipart part header: leading continuation line");
        return false;
      }
      headers.back().second.append(" ").append(trim(line));
      continue;
    }
    auto colon = line.find(':');
    auto key = line.substr(0, colon == line.npos ? 0 : colon);
    if (key.empty()
        || !std::all_of(key.begin(), key.end(), is_token_char)) {
      fail("malformed multipart part header line");
      return false;
    }
    headers.emplace_back(lower(key), std::string{trim(line.substr(colon + 1))});
  }
  part_headers result;
  // The first occurrence counts, as with Go's textproto Get.
  if (auto cd = find_param(headers, "content-disposition")) {
    param_list params;
    auto type = parse_media_type(*cd, params);
    if (!type) {
      fail("malformed multipart Content-Disposition");
      return false;
    }
    // Like Go's FormName, only form-data parts have a form name.
    if (auto name = find_param(params, "name"); name && *type == "form-data")
      result.name = *name;
    if (auto filename = find_param(params, "filename"))
      result.filename = *filename;
  }
  if (auto ct = find_param(headers, "content-type"))
    result.content_type = *ct;
  state_ = state::body;
  in_part_ = true;
  if (cbs_.on_part_begin)
    cbs_.on_part_begin(result);
  return true;
}

} // namespace sbx::http
