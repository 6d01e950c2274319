#include "runtime/envd/fs_ops.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace sbx::envd {

namespace {

constexpr const char* xattr_prefix = "user.e2b.";

using sandhive::envd::Code;

std::string base_name(const std::string& path) {
  if (path == "/")
    return "/";
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// Go's FileMode.String(): type letters, then rwxrwxrwx.
std::string go_mode_string(mode_t m, bool symlink) {
  std::string s;
  if (S_ISDIR(m))
    s += 'd';
  if (symlink)
    s += 'L';
  if (S_ISBLK(m))
    s += 'D';
  if (S_ISFIFO(m))
    s += 'p';
  if (S_ISSOCK(m))
    s += 'S';
  if (m & S_ISUID)
    s += 'u';
  if (m & S_ISGID)
    s += 'g';
  if (S_ISCHR(m))
    s += "Dc";
  if (m & S_ISVTX)
    s += 't';
  if (s.empty())
    s = "-";
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    s += (m & (1 << (8 - i))) ? rwx[i] : '-';
  return s;
}

void read_metadata(const std::string& path, filesystem::EntryInfo& out) {
  char names[4096];
  auto n = ::llistxattr(path.c_str(), names, sizeof(names));
  if (n <= 0)
    return;
  auto plen = std::strlen(xattr_prefix);
  for (ssize_t off = 0; off < n; off += std::strlen(names + off) + 1) {
    std::string name{names + off};
    if (name.compare(0, plen, xattr_prefix) != 0)
      continue;
    char value[4096];
    auto v = ::lgetxattr(path.c_str(), name.c_str(), value, sizeof(value));
    if (v >= 0)
      (*out.mutable_metadata())[name.substr(plen)]
        = std::string(value, static_cast<size_t>(v));
  }
}

maybe_failure list_into(const std::string& dir, uint32_t depth,
                        filesystem::ListDirResponse& out) {
  auto d = ::opendir(dir.c_str());
  if (d == nullptr)
    return from_errno(errno, dir);
  std::vector<std::string> subdirs;
  while (auto e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..")
      continue;
    auto path = (dir == "/" ? "" : dir) + "/" + name;
    auto entry = out.add_entries();
    if (stat_entry(path, *entry)) {
      out.mutable_entries()->RemoveLast(); // vanished meanwhile
      continue;
    }
    // Only real directories are descended into, never symlinks to them.
    if (depth > 1 && entry->type() == filesystem::FILE_TYPE_DIRECTORY
        && !entry->has_symlink_target())
      subdirs.push_back(path);
  }
  ::closedir(d);
  for (auto& sub : subdirs)
    list_into(sub, depth - 1, out);
  return std::nullopt;
}

} // namespace

failure not_a_file(const std::string& path, const struct stat& st) {
  return {Code::CODE_INVALID_ARGUMENT,
          "path '" + path + "' is "
            + (S_ISDIR(st.st_mode) ? "a directory" : "not a regular file")};
}

failure from_errno(int err, const std::string& path) {
  switch (err) {
    case ENOENT:
      return {Code::CODE_NOT_FOUND, "path '" + path + "' does not exist"};
    case EEXIST:
      return {Code::CODE_ALREADY_EXISTS, "path '" + path + "' already exists"};
    case EACCES:
    case EPERM:
    case EROFS:
      return {Code::CODE_PERMISSION_DENIED,
              "permission denied for '" + path + "'"};
    case ENOSPC:
    case EDQUOT:
      return {Code::CODE_RESOURCE_EXHAUSTED,
              "not enough disk space for '" + path + "'"};
    case EISDIR:
      return {Code::CODE_INVALID_ARGUMENT, "path '" + path + "' is a directory"};
    case ENOTDIR:
      return {Code::CODE_INVALID_ARGUMENT,
              "a parent of '" + path + "' is not a directory"};
    case ENOTEMPTY:
      return {Code::CODE_FAILED_PRECONDITION,
              "directory '" + path + "' is not empty"};
    case ENAMETOOLONG:
    case EINVAL:
    case ELOOP:
    case EXDEV:
      return {Code::CODE_INVALID_ARGUMENT,
              "'" + path + "': " + std::strerror(err)};
    default:
      return {Code::CODE_INTERNAL, "'" + path + "': " + std::strerror(err)};
  }
}

as_user::as_user(const user_info& u) {
  ::setfsgid(u.gid);
  ::setfsuid(u.uid);
}

as_user::~as_user() {
  ::setfsuid(0);
  ::setfsgid(0);
}

maybe_failure resolve(const std::string& path, const user_info& u,
                      const std::string& workdir, std::string& out) {
  if (path.empty())
    return failure{Code::CODE_INVALID_ARGUMENT, "path is empty"};
  std::string full;
  if (path == "~" || path.rfind("~/", 0) == 0)
    full = u.home + path.substr(1);
  else if (path.front() == '/')
    full = path;
  else
    full = (workdir.empty() ? u.home : workdir) + "/" + path;
  // Normalize: no empty or "." components; ".." is refused outright so that
  // a path never means something other than it reads.
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= full.size()) {
    auto next = full.find('/', pos);
    if (next == std::string::npos)
      next = full.size();
    auto part = full.substr(pos, next - pos);
    if (part == "..")
      return failure{Code::CODE_INVALID_ARGUMENT,
                     "path '" + path + "' must not contain '..'"};
    if (!part.empty() && part != ".")
      parts.push_back(part);
    pos = next + 1;
  }
  if (full.find('\0') != std::string::npos)
    return failure{Code::CODE_INVALID_ARGUMENT, "path contains a NUL byte"};
  out.clear();
  for (auto& p : parts)
    out += "/" + p;
  if (out.empty())
    out = "/";
  return std::nullopt;
}

maybe_failure stat_entry(const std::string& path, filesystem::EntryInfo& out) {
  struct stat ls {};
  if (::lstat(path.c_str(), &ls) != 0)
    return from_errno(errno, path);
  struct stat st = ls;
  bool symlink = S_ISLNK(ls.st_mode);
  if (symlink) {
    char target[4096];
    auto n = ::readlink(path.c_str(), target, sizeof(target) - 1);
    out.set_symlink_target(n >= 0 ? std::string(target, static_cast<size_t>(n))
                                  : std::string{});
    // E2B reports the target's type and mode; a dangling link stays a link.
    if (::stat(path.c_str(), &st) != 0)
      st = ls;
  }
  out.set_name(base_name(path));
  out.set_path(path);
  if (S_ISDIR(st.st_mode))
    out.set_type(filesystem::FILE_TYPE_DIRECTORY);
  else if (S_ISLNK(st.st_mode))
    out.set_type(filesystem::FILE_TYPE_SYMLINK);
  else
    out.set_type(filesystem::FILE_TYPE_FILE);
  out.set_size(static_cast<int64_t>(st.st_size));
  out.set_mode(st.st_mode & 07777);
  out.set_permissions(go_mode_string(st.st_mode, symlink && S_ISLNK(st.st_mode)));
  out.set_owner(user_name(st.st_uid));
  out.set_group(group_name(st.st_gid));
  out.mutable_modified_time()->set_seconds(st.st_mtim.tv_sec);
  out.mutable_modified_time()->set_nanos(static_cast<int32_t>(st.st_mtim.tv_nsec));
  read_metadata(path, out);
  return std::nullopt;
}

maybe_failure list_dir(const std::string& path, uint32_t depth,
                       filesystem::ListDirResponse& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return from_errno(errno, path);
  if (!S_ISDIR(st.st_mode))
    return failure{Code::CODE_INVALID_ARGUMENT,
                   "path '" + path + "' is not a directory"};
  return list_into(path, depth == 0 ? 1 : depth, out);
}

maybe_failure make_parents(const std::string& path) {
  for (size_t pos = 1; (pos = path.find('/', pos)) != std::string::npos;
       ++pos) {
    auto dir = path.substr(0, pos);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
      return from_errno(errno, dir);
  }
  return std::nullopt;
}

maybe_failure make_dir(const std::string& path, filesystem::EntryInfo& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0)
    return S_ISDIR(st.st_mode)
             ? failure{Code::CODE_ALREADY_EXISTS,
                       "directory '" + path + "' already exists"}
             : failure{Code::CODE_INVALID_ARGUMENT,
                       "path '" + path + "' exists and is not a directory"};
  if (auto f = make_parents(path))
    return f;
  if (::mkdir(path.c_str(), 0755) != 0)
    return from_errno(errno, path);
  return stat_entry(path, out);
}

maybe_failure move(const std::string& from, const std::string& to,
                   filesystem::EntryInfo& out) {
  struct stat st {};
  if (::lstat(from.c_str(), &st) != 0)
    return from_errno(errno, from);
  if (auto f = make_parents(to))
    return f;
  if (::rename(from.c_str(), to.c_str()) != 0)
    return from_errno(errno, to);
  return stat_entry(to, out);
}

maybe_failure remove_all(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return errno == ENOENT ? std::nullopt : maybe_failure{from_errno(errno, path)};
  if (S_ISDIR(st.st_mode)) {
    auto d = ::opendir(path.c_str());
    if (d == nullptr)
      return from_errno(errno, path);
    std::vector<std::string> children;
    while (auto e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..")
        children.push_back((path == "/" ? "" : path) + "/" + name);
    }
    ::closedir(d);
    for (auto& c : children)
      if (auto f = remove_all(c))
        return f;
    if (::rmdir(path.c_str()) != 0)
      return from_errno(errno, path);
    return std::nullopt;
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return from_errno(errno, path);
  return std::nullopt;
}

maybe_failure set_metadata(int fd,
                           const std::map<std::string, std::string>& md) {
  // Replace: drop the old keys first.
  char names[4096];
  auto n = ::flistxattr(fd, names, sizeof(names));
  auto plen = std::strlen(xattr_prefix);
  for (ssize_t off = 0; n > 0 && off < n; off += std::strlen(names + off) + 1)
    if (std::strncmp(names + off, xattr_prefix, plen) == 0)
      ::fremovexattr(fd, names + off);
  size_t total = 0;
  for (auto& [k, v] : md) {
    total += k.size() + v.size();
    auto printable = [](const std::string& s) {
      for (unsigned char c : s)
        if (c < 0x20 || c > 0x7e)
          return false;
      return true;
    };
    if (k.empty() || k.size() > 246 || !printable(k) || !printable(v))
      return failure{Code::CODE_INVALID_ARGUMENT,
                     "metadata key '" + k
                       + "' must be 1-246 printable ASCII characters with a "
                         "printable value"};
    if (total > 4096)
      return failure{Code::CODE_INVALID_ARGUMENT,
                     "metadata is larger than 4096 bytes"};
    auto name = std::string{xattr_prefix};
    for (char c : k)
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (::fsetxattr(fd, name.c_str(), v.data(), v.size(), 0) != 0)
      return failure{Code::CODE_INVALID_ARGUMENT,
                     std::string{"cannot store metadata: "}
                       + std::strerror(errno)};
  }
  return std::nullopt;
}

} // namespace sbx::envd
