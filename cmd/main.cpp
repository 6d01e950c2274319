// sandhive: one binary, one subcommand per role.

#include "cmd/commands.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"sandhive: self-hostable, E2B-compatible sandboxes for AI "
               "agents"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "show help for every subcommand");
  auto up = app.add_subcommand(
    "up", "run the whole platform on this machine, with its own PostgreSQL "
          "and Redis unless URLs are given");
  sbx::config_loader loader{*up};
  bool print_config = false;
  up->add_flag("--print-config", print_config,
               "print the effective configuration and exit");
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
  sbx::config cfg;
  if (auto err = loader.load(cfg)) {
    std::cerr << "sandhive: " << *err << "\n";
    return 2;
  }
  if (print_config) {
    std::cout << sbx::to_ini(cfg);
    return 0;
  }
  return sbx::run_up(cfg);
}
