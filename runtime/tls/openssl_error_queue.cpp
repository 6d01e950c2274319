// Keeps one TLS connection's failure from closing the others.
//
// OpenSSL keeps errors in a per-thread queue and requires it to be empty
// before every SSL_read/SSL_write/SSL_accept/SSL_connect, because
// SSL_get_error reads it to classify a failure. CAF 0.17.6's OpenSSL
// sessions (libcaf_openssl) never empty it, and with OpenSSL 3 a peer that
// hangs up without close_notify, or a stranger without a certificate,
// leaves an error there. The next connection served by the same I/O thread
// that merely has nothing to read (SSL_ERROR_WANT_READ) is then classified
// as failed and closed: an operator's shell exiting, or anyone probing the
// cluster port, cut every node and gateway off the control (found by
// tests/integration/cluster_tls.cpp).
//
// The sandhive executable therefore interposes these four calls: each
// empties the queue, then calls OpenSSL's own. The executable exports them
// (CMakeLists.txt), so libcaf_openssl binds to these; everything else about
// TLS is OpenSSL's and CAF's, unchanged.

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace {

/// OpenSSL's own definition of `name`, found once.
void* real(const char* name) {
  auto f = ::dlsym(RTLD_NEXT, name);
  if (!f) {
    std::fprintf(stderr, "sandhive: cannot find OpenSSL's %s\n", name);
    std::abort();
  }
  return f;
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto f = reinterpret_cast<int (*)(SSL*, void*, int)>(real("SSL_read"));
  ERR_clear_error();
  return f(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto f
    = reinterpret_cast<int (*)(SSL*, const void*, int)>(real("SSL_write"));
  ERR_clear_error();
  return f(ssl, buf, num);
}

int SSL_accept(SSL* ssl) {
  static auto f = reinterpret_cast<int (*)(SSL*)>(real("SSL_accept"));
  ERR_clear_error();
  return f(ssl);
}

int SSL_connect(SSL* ssl) {
  static auto f = reinterpret_cast<int (*)(SSL*)>(real("SSL_connect"));
  ERR_clear_error();
  return f(ssl);
}

} // extern "C"
