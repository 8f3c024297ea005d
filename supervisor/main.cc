// uldd-supervisor: starts the configured devices and keeps them serving.
//
//   uldd-supervisor [--config FILE] [--log-level LEVEL] [--check-config]
//                   [--print-default-config] [--bin-dir DIR]
//
// Exit status: 0 after a clean stop (SIGINT/SIGTERM), 1 on a start-up failure,
// 2 on a bad command line or configuration.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "supervisor/config.h"
#include "supervisor/logging/configure_logging.h"
#include "supervisor/supervisor.h"
#include "supervisor/systemd/fd_inventory.h"

namespace {

std::filesystem::path own_directory() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path(".") : exe.parent_path();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"uldd-supervisor: user-level device drivers, supervised"};
  std::string config_path;
  std::string log_level;
  std::string bin_dir = own_directory().string();
  bool check_only = false;
  bool print_default = false;
  app.add_option("-c,--config", config_path, "TOML configuration file (default: the embedded one)");
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn or error (overrides the config)");
  app.add_option("--bin-dir", bin_dir, "directory holding uldd-hw and the driver programs")
      ->capture_default_str();
  app.add_flag("--check-config", check_only, "parse and validate the configuration, then exit");
  app.add_flag("--print-default-config", print_default,
               "print the embedded default configuration and exit");
  CLI11_PARSE(app, argc, argv);

  if (print_default) {
    std::cout << uldd::supervisor::kDefaultConfigToml;
    return 0;
  }
  auto config = config_path.empty()
                    ? uldd::supervisor::parse_config(uldd::supervisor::kDefaultConfigToml,
                                                     "<embedded default>")
                    : uldd::supervisor::load_config_file(config_path);
  if (!config) {
    std::cerr << "uldd-supervisor: " << config.error().describe() << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << (config_path.empty() ? "<embedded default>" : config_path) << ": OK, "
              << config->disks.size() << " disk(s), " << config->nics.size() << " NIC(s)\n";
    return 0;
  }
  // The journal with structured fields under systemd, readable text on
  // stderr otherwise (supervisor/logging/configure_logging.h).
  if (auto logging = uldd::supervisor::logging::configure_logging(
          log_level.empty() ? config->log_level : log_level);
      !logging) {
    std::cerr << "uldd-supervisor: " << logging.error().message << "\n";
    return 2;
  }

  uldd::supervisor::Supervisor supervisor(std::move(config.value()), bin_dir);
  // Restarted by a service manager that kept our fds (docs/fd-store.md).
  auto inherited = uldd::supervisor::systemd::FdInventory::from_environment();
  if (!inherited) {
    spdlog::error("start-up failed: {}", inherited.error().describe());
    return 1;
  }
  if (!inherited->empty())
    spdlog::info("fd store: {} fds inherited (LISTEN_FDS): adopting devices from them",
                 inherited->size());
  supervisor.adopt_from(std::move(inherited.value()));
  if (auto s = supervisor.start(); !s) {
    spdlog::error("start-up failed: {}", s.error().describe());
    return 1;
  }
  spdlog::info("all devices serving; Ctrl-C or SIGTERM stops");
  return supervisor.run();
}
