#pragma once

#include "runtime/envd/users.hpp"

#include "envd.pb.h"
#include "filesystem.pb.h"

#include <sys/stat.h>

#include <map>
#include <optional>
#include <string>

/// Filesystem operations of envd, each with the rights of a sandbox user.
namespace sbx::envd {

/// A failed operation, reported to the node as an Error.
struct failure {
  sandhive::envd::Code code;
  std::string message;
};

using maybe_failure = std::optional<failure>;

/// Turns an errno from an operation on `path` into a failure.
failure from_errno(int err, const std::string& path);

/// Why `path` (as `st` describes it) cannot be read or written as a file:
/// a directory, or a FIFO, socket or device.
failure not_a_file(const std::string& path, const struct stat& st);

/// While alive, file operations of this thread run with the filesystem
/// credentials of `u` (setfsuid/setfsgid), so permissions apply as for a
/// process of that user.
class as_user {
public:
  explicit as_user(const user_info& u);
  ~as_user();

  as_user(const as_user&) = delete;
  as_user& operator=(const as_user&) = delete;
};

/// Resolves a client path: `~` is the user's home, a relative path is taken
/// from `workdir` (or the home when empty). A path with a `..` component is
/// refused.
maybe_failure resolve(const std::string& path, const user_info& u,
                      const std::string& workdir, std::string& out);

/// Describes `path` as E2B does (a symlink reports its target's type and
/// mode, plus `symlink_target`).
maybe_failure stat_entry(const std::string& path, filesystem::EntryInfo& out);

/// Lists `path` down to `depth` levels (0 counts as 1).
maybe_failure list_dir(const std::string& path, uint32_t depth,
                       filesystem::ListDirResponse& out);

/// Creates `path` and its parents: already_exists if it is a directory,
/// invalid_argument if something else is there.
maybe_failure make_dir(const std::string& path, filesystem::EntryInfo& out);

/// Creates the missing parents of `path`.
maybe_failure make_parents(const std::string& path);

/// Renames `from` to `to`, creating the destination's parents.
maybe_failure move(const std::string& from, const std::string& to,
                   filesystem::EntryInfo& out);

/// Removes `path` recursively (nothing there is not an error, as in E2B).
maybe_failure remove_all(const std::string& path);

/// Replaces the file's metadata (xattrs `user.e2b.<key>`).
maybe_failure set_metadata(int fd, const std::map<std::string, std::string>& md);

} // namespace sbx::envd
