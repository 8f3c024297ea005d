// uldd-campaign: seeded fault-injection campaigns against a private
// uldd-supervisor (faultinject/campaigns/README.md).
//
//   uldd-campaign run FILE [--seed N] [--report DIR] [--bin-dir DIR]
//   uldd-campaign schedule FILE [--seed N]   the fault list as JSON, nothing run
//   uldd-campaign check FILE                 parse the file only
//
// Exit status: 0 invariants hold, 1 an invariant failed, 2 usage or file
// error, 3 setup failed.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "faultinject/campaign/campaign.h"
#include "faultinject/campaign/campaign_runner.h"
#include "faultinject/campaign/fault_schedule.h"

namespace {

namespace fs = std::filesystem;
using namespace uldd::campaign;

fs::path own_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path(".") : exe.parent_path();
}

int print_schedule(const fs::path& file, std::optional<uint64_t> seed) {
  auto c = load_campaign_file(file);
  if (!c) {
    std::fprintf(stderr, "uldd-campaign: %s\n", c.error().describe().c_str());
    return kExitUsage;
  }
  uint64_t s = seed.value_or(c->seed);
  nlohmann::json faults = nlohmann::json::array();
  for (const ScheduledFault& f : build_schedule(*c, s))
    faults.push_back({{"index", f.index},
                      {"at_ms", f.at_ms},
                      {"device", f.device},
                      {"type", f.type},
                      {"params", f.params}});
  nlohmann::json j = {{"campaign", c->name}, {"seed", s}, {"faults", faults}};
  std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"uldd-campaign: seeded fault-injection campaigns with verified workloads"};
  app.require_subcommand(1);
  RunOptions run;
  std::string file;
  uint64_t seed = 0;
  std::string report_dir, bin_dir;

  CLI::App* run_cmd = app.add_subcommand("run", "run a campaign and write its report");
  run_cmd->add_option("FILE", file, "campaign file (TOML)")->required();
  CLI::Option* run_seed = run_cmd->add_option("--seed", seed, "seed (overrides [campaign] seed)");
  run_cmd->add_option("--report", report_dir, "report directory (default ./campaign-NAME-SEED)");
  run_cmd->add_option("--bin-dir", bin_dir,
                      "directory of uldd-supervisor and the drivers (default: uldd-campaign's)");
  CLI::App* sched_cmd = app.add_subcommand("schedule", "print the fault schedule as JSON");
  sched_cmd->add_option("FILE", file, "campaign file (TOML)")->required();
  CLI::Option* sched_seed = sched_cmd->add_option("--seed", seed, "seed");
  CLI::App* check_cmd = app.add_subcommand("check", "parse a campaign file");
  check_cmd->add_option("FILE", file, "campaign file (TOML)")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  if (*sched_cmd) return print_schedule(file, *sched_seed ? std::optional(seed) : std::nullopt);
  if (*check_cmd) {
    auto c = load_campaign_file(file);
    if (!c) {
      std::fprintf(stderr, "uldd-campaign: %s\n", c.error().describe().c_str());
      return kExitUsage;
    }
    std::printf("%s: campaign %s, %zu device(s), %zu fault kind(s)\n", file.c_str(),
                c->name.c_str(), c->devices.size(), c->fault_kinds.size());
    return 0;
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "uldd-campaign: run needs root (FUSE, the supervisor's drivers)\n");
    return kExitSetup;
  }
  run.file = file;
  if (*run_seed) run.seed = seed;
  run.report_dir = report_dir;
  run.bin_dir = bin_dir.empty() ? own_dir() : fs::path(bin_dir);
  run.progress_tty = isatty(STDOUT_FILENO) != 0;
  return run_campaign(run);
}
