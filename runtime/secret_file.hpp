#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <string>

namespace sbx {

/// Writes `line` and a newline to `path` with mode 0600, atomically (a
/// temporary file, fsync, rename): readers see the old or the new content.
caf::error write_secret_file(const std::string& path, const std::string& line);

/// Reads the first line of `path`, or makes 32 random hex characters and
/// writes them there with `write_secret_file`.
caf::expected<std::string> load_or_make_secret(const std::string& path);

} // namespace sbx
