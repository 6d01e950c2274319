#include "runtime/envd/users.hpp"

#include <map>
#include <mutex>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sbx::envd {

namespace {

using entry = std::vector<std::string>;

/// A colon-separated file as last read, and what identifies that version.
struct parsed_file {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  timespec mtime{};
  std::vector<entry> entries;
};

std::vector<entry> parse(const std::string& text) {
  std::vector<entry> out;
  size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    auto line = text.substr(pos, nl == std::string::npos ? std::string::npos
                                                         : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.empty() || line[0] == '#')
      continue;
    entry fields;
    size_t start = 0;
    for (;;) {
      auto colon = line.find(':', start);
      fields.push_back(line.substr(start, colon == std::string::npos
                                            ? std::string::npos
                                            : colon - start));
      if (colon == std::string::npos)
        break;
      start = colon + 1;
    }
    if (fields.size() >= 3)
      out.push_back(std::move(fields));
  }
  return out;
}

/// Every process start and every listed file looks users up: the files are
/// parsed again only when they changed (a user added by a command inside),
/// which costs one stat instead of a read and a parse.
template <class F>
void each_entry(const std::string& path, F f) {
  static std::mutex mtx;
  static std::map<std::string, parsed_file> files;
  std::lock_guard<std::mutex> guard{mtx};
  auto& p = files[path];
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    p = parsed_file{};
    return;
  }
  if (st.st_dev != p.dev || st.st_ino != p.ino || st.st_size != p.size
      || st.st_mtim.tv_sec != p.mtime.tv_sec
      || st.st_mtim.tv_nsec != p.mtime.tv_nsec) {
    std::string text;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char buf[8192];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof(buf))) > 0)
        text.append(buf, static_cast<size_t>(n));
      ::close(fd);
    }
    p = parsed_file{st.st_dev, st.st_ino, st.st_size, st.st_mtim,
                    parse(text)};
  }
  for (auto& e : p.entries)
    if (f(e))
      return;
}

} // namespace

std::optional<user_info> find_user(const std::string& name,
                                   const std::string& root) {
  std::optional<user_info> result;
  each_entry(root + "/etc/passwd", [&](const entry& f) {
    if (f[0] != name || f.size() < 7)
      return false;
    try {
      result = user_info{f[0], static_cast<uid_t>(std::stoul(f[2])),
                         static_cast<gid_t>(std::stoul(f[3])), f[5], f[6]};
    } catch (const std::exception&) {
      return false; // a malformed line names no one
    }
    return true;
  });
  return result;
}

std::string user_name(uid_t uid, const std::string& root) {
  auto result = std::to_string(uid);
  each_entry(root + "/etc/passwd", [&](const entry& f) {
    if (f[2] != result)
      return false;
    result = f[0];
    return true;
  });
  return result;
}

std::string group_name(gid_t gid, const std::string& root) {
  auto result = std::to_string(gid);
  each_entry(root + "/etc/group", [&](const entry& f) {
    if (f[2] != result)
      return false;
    result = f[0];
    return true;
  });
  return result;
}

} // namespace sbx::envd
