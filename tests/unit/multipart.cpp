#include "gateway/multipart.hpp"

#include <boost/test/unit_test.hpp>

#include <random>
#include <vector>

using namespace sbx;
using namespace std::string_literals;
using http::multipart_parser;

namespace {

// The shape undici's FormData (the JS SDK on Node) puts on the wire.
const std::string boundary = "----formdata-undici-027468321915";
const std::string content_type = "multipart/form-data; boundary=" + boundary;

std::string file_part(const std::string& path, const std::string& data) {
  return "--" + boundary + "\r\n"
         + "Content-Disposition: form-data; name=\"file\"; filename=\"" + path
         + "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + data
         + "\r\n";
}

std::string closing() {
  return "--" + boundary + "--\r\n";
}

struct part {
  http::part_headers headers;
  std::string data;
  bool ended = false;
};

// Collects what the parser reports and checks the callback order.
struct collector {
  std::vector<part> parts;
  bool order_ok = true;
  size_t data_calls = 0;

  multipart_parser make(const std::string& b = boundary) {
    multipart_parser::callbacks cbs;
    cbs.on_part_begin = [this](const http::part_headers& h) {
      if (!parts.empty() && !parts.back().ended)
        order_ok = false;
      parts.push_back(part{h, {}, false});
    };
    cbs.on_part_data = [this](std::string_view x) {
      if (parts.empty() || parts.back().ended || x.empty())
        order_ok = false;
      else
        parts.back().data.append(x);
      ++data_calls;
    };
    cbs.on_part_end = [this] {
      if (parts.empty() || parts.back().ended)
        order_ok = false;
      else
        parts.back().ended = true;
    };
    return multipart_parser{b, std::move(cbs)};
  }
};

// Binary data that tries hard to look like a boundary.
std::string nasty_data() {
  std::string x = "line one\r\nline two\r\n\r\n--\r\n-";
  x += "\r\n--" + boundary.substr(0, boundary.size() - 1);
  x += std::string{"\0\xff\r\r\n\n", 6};
  x += "--" + boundary + "\r\n"; // no CRLF before it: not a delimiter
  x += "\r\n-" + boundary;
  x += "\r\n--" + boundary.substr(0, 10) + "\r\n";
  x += "tail\r";
  return x;
}

std::string two_file_body() {
  return file_part("/home/user/a.bin", nasty_data())
         + file_part("/home/user/b.txt", "hello\r\n") + closing();
}

void check_two_files(const collector& c) {
  BOOST_TEST(c.order_ok);
  BOOST_REQUIRE_EQUAL(c.parts.size(), 2u);
  BOOST_TEST(c.parts[0].headers.name == "file");
  BOOST_TEST(c.parts[0].headers.filename.value_or("") == "/home/user/a.bin");
  BOOST_TEST(c.parts[0].headers.content_type == "application/octet-stream");
  BOOST_TEST(c.parts[0].data == nasty_data());
  BOOST_TEST(c.parts[0].ended);
  BOOST_TEST(c.parts[1].headers.filename.value_or("") == "/home/user/b.txt");
  BOOST_TEST(c.parts[1].data == "hello\r\n");
  BOOST_TEST(c.parts[1].ended);
}

} // namespace

BOOST_AUTO_TEST_SUITE(multipart)

BOOST_AUTO_TEST_CASE(boundaries_come_from_the_content_type) {
  BOOST_TEST(http::multipart_boundary(content_type).value_or("") == boundary);
  BOOST_TEST(http::multipart_boundary("multipart/form-data; boundary=\"a b;c\"")
               .value_or("")
             == "a b;c");
  BOOST_TEST(http::multipart_boundary("Multipart/Form-Data ; BOUNDARY=xyz ")
               .value_or("")
             == "xyz");
  BOOST_TEST(http::multipart_boundary(
               "multipart/form-data; charset=utf-8; boundary=q1;")
               .value_or("")
             == "q1");
  BOOST_TEST(!http::multipart_boundary("application/octet-stream"));
  BOOST_TEST(!http::multipart_boundary("multipart/mixed; boundary=x"));
  BOOST_TEST(!http::multipart_boundary("multipart/form-data"));
  BOOST_TEST(!http::multipart_boundary("multipart/form-data; boundary="));
  BOOST_TEST(!http::multipart_boundary("multipart/form-data; boundary=\"\""));
  BOOST_TEST(!http::multipart_boundary("multipart/form-data; boundary=\"x"));
  BOOST_TEST(!http::multipart_boundary("multipart/form-data; boundary=a; "
                                       "boundary=b"));
  BOOST_TEST(!http::multipart_boundary("multipart/form-data; boundary="
                                       + std::string(71, 'x')));
  BOOST_TEST(http::multipart_boundary("multipart/form-data; boundary="
                                      + std::string(70, 'x'))
               .has_value());
  BOOST_TEST(!http::multipart_boundary(""));
}

BOOST_AUTO_TEST_CASE(parses_the_js_sdk_upload) {
  collector c;
  auto p = c.make();
  auto body = file_part("/home/user/x", "hello world") + closing();
  BOOST_TEST(p.feed(body));
  BOOST_TEST(p.done());
  BOOST_TEST(p.finish());
  BOOST_TEST(!p.error());
  BOOST_TEST(c.order_ok);
  BOOST_REQUIRE_EQUAL(c.parts.size(), 1u);
  BOOST_TEST(c.parts[0].headers.name == "file");
  BOOST_TEST(c.parts[0].headers.filename.value_or("") == "/home/user/x");
  BOOST_TEST(c.parts[0].headers.content_type == "application/octet-stream");
  BOOST_TEST(c.parts[0].data == "hello world");
  BOOST_TEST(c.parts[0].ended);
}

BOOST_AUTO_TEST_CASE(two_files_with_binary_data) {
  collector c;
  auto p = c.make();
  BOOST_TEST(p.feed(two_file_body()));
  BOOST_TEST(p.finish());
  check_two_files(c);
}

BOOST_AUTO_TEST_CASE(every_split_gives_the_same_parts) {
  auto body = "preamble\r\n" + two_file_body() + "epilogue";
  {
    collector c;
    auto p = c.make();
    for (auto ch : body)
      BOOST_REQUIRE(p.feed(std::string_view{&ch, 1}));
    BOOST_TEST(p.finish());
    check_two_files(c);
  }
  for (size_t i = 0; i <= body.size(); ++i) {
    collector c;
    auto p = c.make();
    BOOST_REQUIRE(p.feed(std::string_view{body}.substr(0, i)));
    BOOST_REQUIRE(p.feed(std::string_view{body}.substr(i)));
    BOOST_REQUIRE(p.finish());
    BOOST_TEST_CONTEXT("split at " << i) {
      check_two_files(c);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_large_part_streams_through) {
  std::mt19937 rng{42};
  std::string data(5 * 1024 * 1024, '\0');
  for (auto& ch : data)
    ch = static_cast<char>(rng());
  auto body = file_part("/home/user/big", data) + closing();
  collector c;
  auto p = c.make();
  constexpr size_t chunk = 64 * 1024;
  // What arrives must keep up with what went in, less the headers and the
  // lookbehind: the parser never sits on a part.
  auto header_bytes = body.find("\r\n\r\n") + 4;
  for (size_t off = 0; off < body.size(); off += chunk) {
    BOOST_REQUIRE(p.feed(std::string_view{body}.substr(off, chunk)));
    auto fed = std::min(off + chunk, body.size());
    if (fed > header_bytes + boundary.size() + 4 && !p.done()) {
      BOOST_REQUIRE_EQUAL(c.parts.size(), 1u);
      BOOST_REQUIRE_GE(c.parts[0].data.size(),
                       fed - header_bytes - (boundary.size() + 4));
    }
  }
  BOOST_TEST(p.finish());
  BOOST_REQUIRE_EQUAL(c.parts.size(), 1u);
  BOOST_TEST(c.parts[0].data.size() == data.size());
  BOOST_TEST((c.parts[0].data == data));
  BOOST_TEST(c.data_calls >= data.size() / chunk);
}

BOOST_AUTO_TEST_CASE(preamble_and_epilogue_are_ignored) {
  collector c;
  auto p = c.make();
  auto body = "This is a preamble.\r\n--" + boundary + "x\r\n"
              + file_part("/a", "A") + closing() + "\r\nepilogue --" + boundary
              + "\r\n";
  BOOST_TEST(p.feed(body));
  BOOST_TEST(p.feed("more epilogue"));
  BOOST_TEST(p.finish());
  BOOST_REQUIRE_EQUAL(c.parts.size(), 1u);
  BOOST_TEST(c.parts[0].data == "A");
}

BOOST_AUTO_TEST_CASE(a_delimiter_followed_by_other_bytes_is_data) {
  collector c;
  auto p = c.make();
  auto data = "a\r\n--" + boundary + "-x\r\n--" + boundary + "zz";
  BOOST_TEST(p.feed(file_part("/a", data) + closing()));
  BOOST_TEST(p.finish());
  BOOST_REQUIRE_EQUAL(c.parts.size(), 1u);
  BOOST_TEST(c.parts[0].data == data);
}

BOOST_AUTO_TEST_CASE(empty_bodies_and_parts) {
  {
    collector c;
    auto p = c.make();
    BOOST_TEST(p.feed(closing()));
    BOOST_TEST(p.finish());
    BOOST_TEST(c.parts.empty());
  }
  {
    // An empty file and a part without any headers.
    collector c;
    auto p = c.make();
    BOOST_TEST(p.feed(file_part("/empty", "") + "--" + boundary
                      + "  \t\r\n\r\nbare\r\n" + closing()));
    BOOST_TEST(p.finish());
    BOOST_REQUIRE_EQUAL(c.parts.size(), 2u);
    BOOST_TEST(c.parts[0].data.empty());
    BOOST_TEST(c.parts[0].ended);
    BOOST_TEST(c.parts[1].headers.name.empty());
    BOOST_TEST(!c.parts[1].headers.filename);
    BOOST_TEST(c.parts[1].data == "bare");
  }
}

BOOST_AUTO_TEST_CASE(content_disposition_variants) {
  collector c;
  auto p = c.make();
  auto part = [](std::string cd) {
    return "--" + boundary + "\r\ncontent-disposition:" + cd + "\r\n\r\nv\r\n";
  };
  auto body = part("form-data; name=field") // a plain field
              + part(" form-data; name=\"file\"; filename=\"a\\\"b.txt\"")
              + part("form-data; name=\"file\"; filename=\"C:\\dir\\f.txt\"")
              + part("Form-Data; NAME=\"file\"; filename=\"x\"; "
                     "filename*=UTF-8''%2Fhome%2Fuser%2F%E2%82%AC.txt")
              + part("attachment; name=\"file\"; filename=\"y\"")
              + "--" + boundary + "\r\nX-Folded: a\r\n b\r\n"
              + "Content-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n"
              + closing();
  BOOST_TEST(p.feed(body));
  BOOST_TEST(p.finish());
  BOOST_REQUIRE_EQUAL(c.parts.size(), 6u);
  BOOST_TEST(c.parts[0].headers.name == "field");
  BOOST_TEST(!c.parts[0].headers.filename);
  BOOST_TEST(c.parts[0].headers.content_type.empty());
  BOOST_TEST(c.parts[1].headers.filename.value_or("") == "a\"b.txt");
  BOOST_TEST(c.parts[2].headers.filename.value_or("") == "C:\\dir\\f.txt");
  BOOST_TEST(c.parts[3].headers.name == "file");
  BOOST_TEST(c.parts[3].headers.filename.value_or("")
             == "/home/user/\xE2\x82\xAC.txt");
  // Only form-data parts have a form name.
  BOOST_TEST(c.parts[4].headers.name.empty());
  BOOST_TEST(c.parts[4].headers.filename.value_or("") == "y");
  BOOST_TEST(c.parts[5].headers.name == "f");
}

BOOST_AUTO_TEST_CASE(a_missing_final_boundary_is_an_error) {
  for (auto body : {std::string{}, "preamble only"s,
                    file_part("/a", "data") /* no closing */,
                    file_part("/a", "da").substr(0, 30),
                    "--" + boundary + "\r\nContent-Type: x\r\n"}) {
    collector c;
    auto p = c.make();
    BOOST_TEST(p.feed(body));
    BOOST_TEST(!p.done());
    BOOST_TEST(!p.finish());
    BOOST_TEST(p.error().value_or("")
               == "multipart body ended before the final boundary");
    BOOST_TEST(!p.feed("x"));
  }
}

BOOST_AUTO_TEST_CASE(malformed_headers_are_errors) {
  for (auto headers : {"Content-Disposition form-data; name=\"file\""s,
                       ": no name"s, "Bad Key: v"s, " leading: fold"s,
                       "Content-Disposition: form-data; name=\"unterminated"s,
                       "Content-Disposition: form-data; name"s,
                       "Content-Disposition: ; name=x"s}) {
    collector c;
    auto p = c.make();
    auto body = "--" + boundary + "\r\n" + headers + "\r\n\r\nv\r\n"
                + closing();
    BOOST_TEST_CONTEXT("headers '" << headers << "'") {
      BOOST_TEST(!p.feed(body));
      BOOST_TEST(p.error().value_or("").find("malformed multipart")
                 == 0u);
      BOOST_TEST(c.parts.empty());
      BOOST_TEST(!p.finish());
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_boundary_lines_are_errors) {
  collector c;
  auto p = c.make();
  BOOST_TEST(!p.feed("--" + boundary + " junk\r\n"));
  BOOST_TEST(p.error().value_or("")
             == "malformed multipart body: bad boundary line");
}

BOOST_AUTO_TEST_CASE(oversized_header_blocks_are_errors) {
  auto big = "--" + boundary + "\r\nX-Big: " + std::string(17 * 1024, 'a');
  {
    // Without a terminator the parser gives up at the limit.
    collector c;
    auto p = c.make();
    bool ok = true;
    for (size_t off = 0; ok && off < big.size(); off += 1000)
      ok = p.feed(std::string_view{big}.substr(off, 1000));
    BOOST_TEST(!ok);
    BOOST_TEST(p.error().value_or("")
               == "multipart part headers exceed 16 KiB");
  }
  {
    collector c;
    auto p = c.make();
    BOOST_TEST(!p.feed(big + "\r\n\r\nv\r\n" + closing()));
    BOOST_TEST(p.error().value_or("")
               == "multipart part headers exceed 16 KiB");
  }
  {
    // Just under the limit is fine.
    collector c;
    auto p = c.make();
    auto value = std::string(http::multipart_parser::max_header_bytes - 7, 'a');
    BOOST_TEST(p.feed("--" + boundary + "\r\nX-Big: " + value + "\r\n\r\nv\r\n"
                      + closing()));
    BOOST_TEST(p.finish());
    BOOST_TEST(c.parts.size() == 1u);
  }
}

BOOST_AUTO_TEST_CASE(callbacks_can_stop_the_parser) {
  multipart_parser::callbacks cbs;
  int begins = 0;
  multipart_parser* self = nullptr;
  cbs.on_part_begin = [&](const http::part_headers& h) {
    ++begins;
    if (h.filename == std::optional<std::string>{"/dup"} && begins > 1)
      self->fail("two parts with the same destination");
  };
  multipart_parser p{boundary, std::move(cbs)};
  self = &p;
  BOOST_TEST(!p.feed(file_part("/dup", "1") + file_part("/dup", "2")
                     + file_part("/other", "3") + closing()));
  BOOST_TEST(begins == 2);
  BOOST_TEST(p.error().value_or("") == "two parts with the same destination");
}

BOOST_AUTO_TEST_CASE(data_after_finish_is_an_error) {
  collector c;
  auto p = c.make();
  BOOST_TEST(p.feed(file_part("/a", "A") + closing()));
  BOOST_TEST(p.finish());
  BOOST_TEST(p.finish());
  BOOST_TEST(!p.feed("x"));
  BOOST_TEST(p.error().value_or("")
             == "data after the end of the multipart body");
}

BOOST_AUTO_TEST_SUITE_END()
