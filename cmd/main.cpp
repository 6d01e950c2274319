// sandhive: one binary, one subcommand per role.

#include "cmd/commands.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <vector>

namespace {

struct role {
  CLI::App* cmd;
  std::unique_ptr<sbx::config_loader> loader;
  int (*run)(const sbx::config&);
  bool print_config = false;
};

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"sandhive: self-hostable, E2B-compatible sandboxes for AI "
               "agents"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "show help for every subcommand");
  std::vector<role> roles;
  auto add = [&](const char* name, const char* help,
                 int (*run)(const sbx::config&)) {
    auto cmd = app.add_subcommand(name, help);
    roles.push_back({cmd, std::make_unique<sbx::config_loader>(*cmd), run});
  };
  add("up", "run the whole platform on this machine, with its own PostgreSQL "
            "and Redis unless URLs are given",
      sbx::run_up);
  add("control", "run a cluster's control (scheduler, directory, teams) on "
                 "--cluster-listen",
      sbx::run_control);
  add("node", "run sandboxes for the cluster whose control is at --join",
      sbx::run_node);
  add("gateway", "serve the HTTP API of the cluster whose control is at "
                 "--join",
      sbx::run_gateway);
  for (auto& r : roles)
    r.cmd->add_flag("--print-config", r.print_config,
                    "print the effective configuration and exit");
  auto admin = app.add_subcommand(
    "admin", "the operators' shell: run commands on the cluster whose control "
             "is at --connect (interactive, or one with -c)");
  sbx::config_loader admin_loader{*admin};
  sbx::admin_options admin_opt;
  admin->add_option("--connect", admin_opt.connect,
                    "the control's cluster address HOST:PORT (default: "
                    "--join, else <data-dir>/cluster-address)");
  admin->add_option("-c,--command", admin_opt.command,
                    "run this command and exit (exit code 0 worked, 1 "
                    "failed, 2 typed wrong, 3 control unreachable)");
  admin->add_flag("--json", admin_opt.json, "print results as JSON");
  auto version = app.add_subcommand("version", "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (*version) {
    std::cout << "sandhive " << SBX_VERSION << "\n";
    return 0;
  }
  if (*admin) {
    sbx::config cfg;
    if (auto err = admin_loader.load(cfg)) {
      std::cerr << "sandhive: " << *err << "\n";
      return 2;
    }
    return sbx::run_admin(cfg, admin_opt);
  }
  for (auto& r : roles) {
    if (!*r.cmd)
      continue;
    sbx::config cfg;
    if (auto err = r.loader->load(cfg)) {
      std::cerr << "sandhive: " << *err << "\n";
      return 2;
    }
    if (r.print_config) {
      std::cout << sbx::to_ini(cfg);
      return 0;
    }
    return r.run(cfg);
  }
  return 2;
}
