#include "runtime/secret_file.hpp"

#include "actors/error.hpp"
#include "runtime/auth/api_key.hpp"

#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <unistd.h>

namespace sbx {

caf::error write_secret_file(const std::string& path, const std::string& line) {
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error(ec::system_error,
                      "cannot write " + tmp + ": " + std::strerror(errno));
  auto text = line + "\n";
  auto ok = ::write(fd, text.data(), text.size())
              == static_cast<ssize_t>(text.size())
            && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
    return make_error(ec::system_error, "cannot write " + path);
  return caf::none;
}

caf::expected<std::string> load_or_make_secret(const std::string& path) {
  if (std::ifstream in{path}; in) {
    std::string secret;
    std::getline(in, secret);
    if (!secret.empty())
      return secret;
  }
  auto secret = auth::random_hex(16);
  if (auto err = write_secret_file(path, secret))
    return err;
  return secret;
}

} // namespace sbx
