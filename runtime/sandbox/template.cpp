#include "runtime/sandbox/template.hpp"

#include "actors/error.hpp"
#include "runtime/log/log.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sbx {

namespace fs = std::filesystem;

namespace {

/// Programs of the base template, taken from the host when present.
const std::vector<std::string> base_programs = {
  "bash", "dash", "cat", "ls", "cp", "mv", "rm", "mkdir", "rmdir", "ln",
  "chmod", "chown", "chgrp", "touch", "echo", "printf", "head", "tail", "wc",
  "sort", "uniq", "tr", "cut", "tee", "env", "sleep", "true", "false", "pwd",
  "id", "whoami", "date", "dirname", "basename", "readlink", "realpath",
  "stat", "seq", "yes", "test", "[", "expr", "du", "df", "uname", "nproc",
  "mktemp", "md5sum", "sha256sum", "timeout", "nohup", "kill", "stty", "tty",
  "dd", "sync", "nice", "split", "join", "paste", "comm", "od", "base64",
  "grep", "sed", "awk", "mawk", "gawk", "find", "xargs", "tar", "gzip",
  "gunzip", "ps", "which", "less", "more", "diff", "cmp", "hostname",
  "python3", "node"};

std::string run_capture(const std::string& cmd) {
  std::string out;
  if (auto p = ::popen(cmd.c_str(), "r")) {
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
      out.append(buf.data(), n);
    ::pclose(p);
  }
  return out;
}

/// The shared libraries `file` needs, as absolute paths (from ldd).
std::vector<std::string> libraries_of(const std::string& file) {
  std::vector<std::string> result;
  std::istringstream in{run_capture("ldd '" + file + "' 2>/dev/null")};
  std::string line;
  while (std::getline(in, line)) {
    auto arrow = line.find("=> ");
    auto start = arrow != std::string::npos ? arrow + 3 : line.find('/');
    if (start == std::string::npos || start >= line.size() || line[start] != '/')
      continue;
    auto end = line.find(' ', start);
    result.push_back(line.substr(start, end - start));
  }
  return result;
}

class builder {
public:
  builder(fs::path rootfs) : root_(std::move(rootfs)) {
    // nop
  }

  /// Copies host path `p` (file, symlink chain, or directory) to the same
  /// path in the template, with the libraries of every ELF file.
  void copy(const fs::path& p, bool with_libs = true) {
    if (!done_.insert(p.string()).second)
      return;
    std::error_code ec;
    auto st = fs::symlink_status(p, ec);
    if (ec || !fs::exists(st))
      return;
    auto dest = root_ / p.relative_path();
    fs::create_directories(dest.parent_path(), ec);
    if (fs::is_symlink(st)) {
      auto target = fs::read_symlink(p, ec);
      fs::remove(dest, ec);
      fs::create_symlink(target, dest, ec);
      auto resolved = target.is_absolute() ? target : p.parent_path() / target;
      copy(resolved.lexically_normal(), with_libs);
      return;
    }
    if (fs::is_directory(st)) {
      fs::create_directories(dest, ec);
      for (auto& e : fs::directory_iterator{p, ec}) {
        auto name = e.path().filename().string();
        if (skip_.count(name))
          continue;
        copy(e.path(), with_libs);
      }
      return;
    }
    fs::copy_file(p, dest, fs::copy_options::overwrite_existing, ec);
    if (with_libs && is_elf(p))
      for (auto& lib : libraries_of(p.string()))
        copy(lib, true);
  }

  /// Directory names never copied (tests and GUI parts of the stdlib).
  std::set<std::string> skip_ = {"test", "tests", "idlelib", "tkinter",
                                 "turtledemo", "ensurepip"};

private:
  static bool is_elf(const fs::path& p) {
    std::ifstream in{p, std::ios::binary};
    char magic[4] = {};
    in.read(magic, 4);
    return in && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L'
           && magic[3] == 'F';
  }

  fs::path root_;
  std::set<std::string> done_;
};

void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream{p} << text;
}

std::string resolv_conf() {
  // Loopback resolvers of the host mean nothing in a sandbox's own network.
  std::ifstream in{"/etc/resolv.conf"};
  std::string line, out;
  while (std::getline(in, line))
    if (line.rfind("nameserver", 0) == 0 && line.find(" 127.") == std::string::npos
        && line.find(" ::1") == std::string::npos)
      out += line + "\n";
  return out.empty() ? "nameserver 1.1.1.1\n" : out;
}

/// chown -R with the template's mapped ids (no symlink following).
void chown_tree(const fs::path& root, uint32_t uid, uint32_t gid) {
  ::lchown(root.c_str(), uid, gid);
  std::error_code ec;
  for (auto i = fs::recursive_directory_iterator{root, ec};
       i != fs::recursive_directory_iterator{}; i.increment(ec))
    ::lchown(i->path().c_str(), uid, gid);
}

} // namespace

caf::expected<template_manifest> load_template(const std::string& dir) {
  std::ifstream in{dir + "/manifest.json"};
  if (!in)
    return make_error(ec::not_found, "no template at " + dir);
  try {
    auto j = nlohmann::json::parse(in);
    template_manifest m;
    m.name = j.at("name").get<std::string>();
    m.parent = j.value("parent", "");
    m.default_user = j.value("default_user", "user");
    m.workdir = j.value("workdir", "/home/user");
    m.env = j.value("env", std::map<std::string, std::string>{});
    m.vcpu = j.value("vcpu", 2u);
    m.memory_mb = j.value("memory_mb", uint64_t{512});
    m.disk_mb = j.value("disk_mb", uint64_t{1024});
    m.format = j.value("format", 0);
    return m;
  } catch (const std::exception& e) {
    return make_error(ec::invalid_argument,
                      "bad manifest in " + dir + ": " + e.what());
  }
}

namespace {

/// Runs a program to completion, its output discarded.
caf::error run_program(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  auto rc = ::posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    return make_error(ec::system_error, argv[0] + ": " + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return make_error(ec::system_error, argv[0] + " failed");
  return caf::none;
}

} // namespace

caf::expected<std::string> ensure_base_template(const std::string& templates_dir,
                                                uint32_t root_uid) {
  auto dir = templates_dir + "/base";
  if (auto m = load_template(dir);
      m && m->format == template_manifest::current_format)
    return dir;
  auto lg = log::get("template");
  lg->info("building template base from this host's programs");
  auto tmp = fs::path{templates_dir} / ("base.build-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(tmp, ec);
  auto root = tmp / "rootfs";
  fs::create_directories(root, ec);
  if (ec)
    return make_error(ec::system_error,
                      "cannot create " + root.string() + ": " + ec.message());
  // Debian's merged /usr.
  for (auto dir : {"usr/bin", "usr/sbin", "usr/lib", "usr/lib64"})
    fs::create_directories(root / dir);
  for (auto [link, target] :
       {std::pair{"bin", "usr/bin"}, {"sbin", "usr/sbin"}, {"lib", "usr/lib"},
        {"lib64", "usr/lib64"}})
    fs::create_symlink(target, root / link, ec);
  for (auto dir : {"etc", "home/user", "root", "tmp", "var/tmp", "proc", "dev",
                   "sys", "run", "opt", "usr/local/bin", "mnt"})
    fs::create_directories(root / dir);
  builder b{root};
  for (auto& name : base_programs)
    for (auto dir : {"/usr/bin/", "/usr/sbin/", "/bin/"})
      if (fs::exists(std::string{dir} + name)) {
        b.copy(std::string{dir} + name);
        break;
      }
  if (fs::exists("/usr/bin/dash"))
    fs::create_symlink("dash", root / "usr/bin/sh", ec);
  else
    fs::create_symlink("bash", root / "usr/bin/sh", ec);
  // python3: the interpreter, its standard library and the libraries of its
  // extension modules.
  if (fs::exists("/usr/bin/python3")) {
    auto real = fs::canonical("/usr/bin/python3");
    auto ver = real.filename().string(); // python3.11
    b.copy("/usr/lib/" + ver);
    for (auto& e : fs::recursive_directory_iterator{"/usr/lib/" + ver, ec})
      if (e.path().extension() == ".so")
        for (auto& lib : libraries_of(e.path().string()))
          b.copy(lib);
    fs::create_symlink("python3", root / "usr/bin/python", ec);
  } else {
    lg->warn("no /usr/bin/python3 on this host: base has no python");
  }
  if (!fs::exists("/usr/bin/node"))
    lg->info("no node on this host: base has no node");
  // Terminal descriptions for PTY programs.
  for (auto t : {"/usr/share/terminfo/x/xterm-256color", "/lib/terminfo/x/xterm",
                 "/lib/terminfo/x/xterm-256color", "/lib/terminfo/d/dumb",
                 "/lib/terminfo/v/vt100"})
    b.copy(t, false);
  // The locale the SDK's PTYs ask for (LANG=C.UTF-8), also in an archive:
  // glibc then maps one file instead of opening a dozen at every shell's
  // start (a login shell sets LANG in /etc/profile).
  b.copy("/usr/lib/locale/C.utf8", false);
  if (fs::exists(root / "usr/lib/locale/C.utf8"))
    if (auto err = run_program({"/usr/bin/localedef", "--prefix=" + root.string(),
                                "--add-to-archive", "--replace",
                                (root / "usr/lib/locale/C.utf8").string()}))
      lg->warn("no locale archive in base: {}", message_of(err));
  write_file(root / "etc/passwd",
             "root:x:0:0:root:/root:/bin/bash\n"
             "user:x:1000:1000:user:/home/user:/bin/bash\n"
             "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
  write_file(root / "etc/group", "root:x:0:\ntty:x:5:\nuser:x:1000:\n"
                                 "nogroup:x:65534:\n");
  write_file(root / "etc/hosts", "127.0.0.1 localhost\n::1 localhost\n");
  write_file(root / "etc/hostname", "sandbox\n");
  write_file(root / "etc/resolv.conf", resolv_conf());
  write_file(root / "etc/nsswitch.conf", "passwd: files\ngroup: files\n"
                                         "hosts: files dns\n");
  write_file(root / "etc/profile",
             "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
             "/sbin:/bin\n"
             "export LANG=${LANG:-C.UTF-8}\n"
             "[ -n \"$PS1\" ] && PS1='\\u@\\h:\\w\\$ '\n");
  write_file(root / "home/user/.profile", "");
  // A library cache, so that every exec in a sandbox finds its libraries at
  // once instead of searching a dozen directories for each.
  b.copy("/etc/ld.so.conf", false);
  b.copy("/etc/ld.so.conf.d", false);
  if (auto err = run_program({"/sbin/ldconfig", "-r", root.string()}))
    lg->warn("no library cache in base: {}", message_of(err));
  chown_tree(root, root_uid, root_uid);
  chown_tree(root / "home/user", root_uid + 1000, root_uid + 1000);
  fs::permissions(root / "tmp", fs::perms::all | fs::perms::sticky_bit);
  fs::permissions(root / "var/tmp", fs::perms::all | fs::perms::sticky_bit);
  fs::permissions(root / "root", fs::perms::owner_all);
  nlohmann::json manifest = {{"name", "base"},
                             {"parent", ""},
                             {"default_user", "user"},
                             {"workdir", "/home/user"},
                             {"env", nlohmann::json::object()},
                             {"vcpu", 2},
                             {"memory_mb", 512},
                             {"disk_mb", 1024},
                             {"format", template_manifest::current_format}};
  write_file(tmp / "manifest.json", manifest.dump(2) + "\n");
  // Swap in atomically: a crash mid-build leaves only a *.build-* dir.
  fs::remove_all(dir, ec);
  fs::rename(tmp, dir, ec);
  if (ec)
    return make_error(ec::system_error,
                      "cannot install template base: " + ec.message());
  lg->info("template base ready in {}", dir);
  return dir;
}

} // namespace sbx
