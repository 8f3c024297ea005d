// CampaignEnvironment: the private world a campaign runs in — a temporary
// directory, a private dbus-daemon listening on a unix socket in it, and
// uldd-supervisor on a configuration generated from the campaign's devices
// with `dbus` pointing at that bus — and its orderly teardown (supervisor,
// bus, directory) on every path, by destruction. Nothing touches the host's
// system bus or /run/uldd.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"
#include "faultinject/campaign/campaign.h"
#include "faultinject/campaign/spawned_process.h"

namespace uldd::campaign {

// The supervisor configuration for `c` under `dir` (runtime dir dir/run,
// backing files dir/<name>.img, FUSE file dir/run/<name>, policies from
// dir/policies) on the bus at `bus_address`. Pure, for the unit test.
std::string supervisor_config_for(const Campaign& c, const std::filesystem::path& dir,
                                  const std::string& bus_address);

class CampaignEnvironment {
 public:
  // Creates the directory, copies the devices' policy files into it and
  // starts the bus. `bin_dir` holds uldd-supervisor and the default drivers.
  static Result<std::unique_ptr<CampaignEnvironment>> create(const Campaign& c,
                                                             const std::filesystem::path& bin_dir);
  ~CampaignEnvironment();
  CampaignEnvironment(const CampaignEnvironment&) = delete;
  CampaignEnvironment& operator=(const CampaignEnvironment&) = delete;

  // Starts the supervisor on the generated configuration.
  Status start_supervisor();
  // Stops it (SIGTERM, then SIGKILL; if it cannot be reaped, aborts the FUSE
  // connections below dir() and tries again); its wait status.
  std::optional<int> stop_supervisor();
  // True while the supervisor runs; once it died, why (describe_wait_status).
  bool supervisor_running();
  std::string supervisor_end() const;

  const std::string& bus_address() const { return bus_address_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path fuse_file(const std::string& device) const;
  std::filesystem::path supervisor_log() const { return dir_ / "supervisor.log"; }
  std::filesystem::path config_file() const { return dir_ / "uldd.toml"; }

 private:
  CampaignEnvironment(std::filesystem::path dir, std::filesystem::path bin_dir);
  void kill_orphans();

  std::filesystem::path dir_;
  std::filesystem::path bin_dir_;
  std::string bus_address_;
  SpawnedProcess bus_;
  SpawnedProcess supervisor_;
  bool supervisor_started_ = false;
};

}  // namespace uldd::campaign
