#include "gateway/gzip.hpp"

#include <boost/test/unit_test.hpp>

#include <random>

using namespace sbx;

namespace {

// Sizes that never line up with zlib's internal blocks or our 64 KiB pieces.
constexpr size_t odd_sizes[] = {1, 7, 4093, 65537, 13, 100003, 2};

template <class F>
void in_odd_pieces(std::string_view x, F f) {
  for (size_t i = 0; !x.empty(); ++i) {
    auto n = std::min(x.size(), odd_sizes[i % std::size(odd_sizes)]);
    f(x.substr(0, n));
    x.remove_prefix(n);
  }
}

std::string compress(std::string_view x, bool odd = false) {
  http::gzip_writer w;
  std::string out;
  if (odd)
    in_odd_pieces(x, [&](std::string_view piece) {
      BOOST_REQUIRE(w.feed(piece, out));
    });
  else
    BOOST_REQUIRE(w.feed(x, out));
  BOOST_REQUIRE(w.finish(out));
  return out;
}

// Decompresses `x`, returning the error if any.
std::optional<std::string> decompress(std::string_view x, std::string& out,
                                      bool odd = false) {
  http::gunzip g;
  auto sink = [&](std::string_view piece) {
    BOOST_REQUIRE(!piece.empty());
    BOOST_REQUIRE(piece.size() <= http::gunzip::piece_size);
    out.append(piece);
    return true;
  };
  bool ok = true;
  if (odd)
    in_odd_pieces(x, [&](std::string_view piece) {
      ok = ok && g.feed(piece, sink);
    });
  else
    ok = g.feed(x, sink);
  if (ok)
    g.finish();
  return g.error();
}

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng{seed};
  std::string x(n, '\0');
  for (auto& c : x)
    c = static_cast<char>(rng());
  return x;
}

} // namespace

BOOST_AUTO_TEST_SUITE(gzip)

BOOST_AUTO_TEST_CASE(reads_what_the_gzip_tool_writes) {
  // printf 'hello gzip\n' | gzip -c -n
  const unsigned char bytes[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb,
    0x48, 0xcd, 0xc9, 0xc9, 0x57, 0x48, 0xaf, 0xca, 0x2c, 0xe0, 0x02,
    0x00, 0x39, 0x7c, 0x63, 0x56, 0x0b, 0x00, 0x00, 0x00};
  std::string out;
  auto err = decompress({reinterpret_cast<const char*>(bytes), sizeof(bytes)},
                        out);
  BOOST_TEST(!err.has_value());
  BOOST_TEST(out == "hello gzip\n");
}

BOOST_AUTO_TEST_CASE(round_trips) {
  for (auto x : {std::string{}, std::string{"a"}, std::string(100000, 'z'),
                 std::string{"hello\r\n\0world", 13}}) {
    auto gz = compress(x);
    BOOST_TEST(gz.size() >= 18u); // header and trailer
    BOOST_TEST(static_cast<unsigned char>(gz[0]) == 0x1fu);
    BOOST_TEST(static_cast<unsigned char>(gz[1]) == 0x8bu);
    std::string out;
    auto err = decompress(gz, out);
    BOOST_TEST(!err.has_value());
    BOOST_TEST(out == x);
  }
}

BOOST_AUTO_TEST_CASE(round_trips_large_data_in_odd_pieces) {
  auto x = random_bytes(3 * 1024 * 1024, 7);
  auto gz = compress(x, true);
  BOOST_TEST((gz == compress(x, false))); // deflate is chunking-invariant
  std::string out;
  auto err = decompress(gz, out, true);
  BOOST_TEST(!err.has_value());
  BOOST_TEST(out.size() == x.size());
  BOOST_TEST((out == x));
  // One byte at a time works too.
  out.clear();
  http::gunzip g;
  auto small = compress(random_bytes(5000, 8) + std::string(5000, 'q'));
  for (auto c : small)
    BOOST_REQUIRE(g.feed({&c, 1}, [&](std::string_view piece) {
      out.append(piece);
      return true;
    }));
  BOOST_TEST(g.finish());
  BOOST_TEST((out == random_bytes(5000, 8) + std::string(5000, 'q')));
}

BOOST_AUTO_TEST_CASE(concatenated_members_are_read_in_turn) {
  auto gz = compress("first ") + compress("") + compress("second");
  std::string out;
  BOOST_TEST(!decompress(gz, out, true).has_value());
  BOOST_TEST(out == "first second");
}

BOOST_AUTO_TEST_CASE(truncated_input_is_an_error) {
  auto gz = compress(random_bytes(200000, 9));
  for (size_t keep : {size_t{0}, size_t{1}, size_t{5}, size_t{10},
                      gz.size() / 2, gz.size() - 8, gz.size() - 1}) {
    std::string out;
    auto err = decompress(std::string_view{gz}.substr(0, keep), out);
    BOOST_TEST_CONTEXT("keeping " << keep << " of " << gz.size()) {
      BOOST_TEST(err.value_or("") == "gzip body ended early");
    }
  }
}

BOOST_AUTO_TEST_CASE(garbage_input_is_an_error) {
  std::string out;
  auto err = decompress("this is not gzip at all", out);
  BOOST_TEST(err.value_or("").rfind("malformed gzip body: ", 0) == 0u);
  BOOST_TEST_MESSAGE("garbage: " << err.value_or(""));
  // A flipped bit in the data fails the CRC (or the inflate itself).
  auto gz = compress(std::string(10000, 'x') + random_bytes(1000, 3));
  gz[gz.size() / 2] ^= 0x10;
  out.clear();
  err = decompress(gz, out);
  BOOST_TEST(err.value_or("").rfind("malformed gzip body: ", 0) == 0u);
  // Bytes after a complete member must be another member.
  out.clear();
  err = decompress(compress("ok") + "trailing junk", out);
  BOOST_TEST(err.value_or("").rfind("malformed gzip body: ", 0) == 0u);
  // After an error, nothing more happens.
  http::gunzip g;
  auto sink = [](std::string_view) { return true; };
  BOOST_TEST(!g.feed("garbage", sink));
  BOOST_TEST(!g.feed(compress("ok"), sink));
  BOOST_TEST(!g.finish());
}

BOOST_AUTO_TEST_CASE(the_sink_bounds_a_decompression_bomb) {
  // 256 MiB of zeros compress to about 256 KiB.
  http::gzip_writer w;
  std::string gz;
  std::string zeros(1024 * 1024, '\0');
  for (int i = 0; i < 256; ++i)
    BOOST_REQUIRE(w.feed(zeros, gz));
  BOOST_REQUIRE(w.finish(gz));
  BOOST_TEST(gz.size() < 1024u * 1024u);
  http::gunzip g;
  size_t total = 0;
  size_t largest = 0;
  constexpr size_t limit = 10 * 1024 * 1024;
  auto ok = g.feed(gz, [&](std::string_view piece) {
    total += piece.size();
    largest = std::max(largest, piece.size());
    return total <= limit;
  });
  BOOST_TEST(!ok);
  BOOST_TEST(g.error().value_or("")
             == "gzip decompression stopped by its consumer");
  BOOST_TEST(total <= limit + http::gunzip::piece_size);
  BOOST_TEST(largest <= http::gunzip::piece_size);
}

BOOST_AUTO_TEST_CASE(a_finished_writer_takes_no_more_data) {
  http::gzip_writer w;
  std::string out;
  BOOST_TEST(w.feed("abc", out));
  BOOST_TEST(w.finish(out));
  auto size = out.size();
  BOOST_TEST(w.finish(out)); // idempotent
  BOOST_TEST(out.size() == size);
  BOOST_TEST(!w.feed("more", out));
  BOOST_TEST(w.error().value_or("") == "gzip stream already finished");
  // Moving keeps the stream usable.
  http::gzip_writer a{9};
  std::string gz;
  BOOST_TEST(a.feed("moved ", gz));
  http::gzip_writer b = std::move(a);
  BOOST_TEST(b.feed("stream", gz));
  BOOST_TEST(b.finish(gz));
  std::string plain;
  BOOST_TEST(!decompress(gz, plain).has_value());
  BOOST_TEST(plain == "moved stream");
}

BOOST_AUTO_TEST_SUITE_END()
