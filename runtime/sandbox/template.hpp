#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace sbx {

/// A template: a root filesystem (the read-only lower layer of every sandbox
/// made from it) plus this manifest, stored as `<dir>/rootfs` and
/// `<dir>/manifest.json`. Later templates name a parent and add layers.
struct template_manifest {
  /// Bumped when the layout sandhive expects changes; older builds are redone.
  static constexpr int current_format = 4;

  std::string name;
  std::string parent;
  std::string default_user = "user";
  std::string workdir = "/home/user";
  std::map<std::string, std::string> env;
  unsigned vcpu = 2;
  uint64_t memory_mb = 512;
  uint64_t disk_mb = 1024;
  int format = current_format;
};

/// Reads `<dir>/manifest.json`.
caf::expected<template_manifest> load_template(const std::string& dir);

/// Builds the `base` template under `<templates_dir>/base` from this host's
/// own programs (bash, coreutils, python3, node when present, and their
/// libraries), with users root and `user` (uid 1000, home /home/user), owned
/// by the sandboxes' mapped root `root_uid`. Does nothing when a build of the
/// current format exists. Needs no network. Returns the template directory.
caf::expected<std::string> ensure_base_template(const std::string& templates_dir,
                                                uint32_t root_uid);

} // namespace sbx
