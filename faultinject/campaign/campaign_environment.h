// CampaignEnvironment: the private world a campaign runs in — a temporary
// directory, a private dbus-daemon listening on a unix socket in it, for
// every NIC two network namespaces (the host side with the shim's TAP, the
// wire side with the device model's TAP; 198.18.<i>.1 and .2, as
// scripts/netns-rig.sh), and uldd-supervisor on a configuration generated
// from the campaign's devices with `dbus` pointing at that bus — and its
// orderly teardown (supervisor, bus, namespaces, directory) on every path, by
// destruction. Nothing touches the host's system bus, /run/uldd or the
// host's network namespace.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "faultinject/campaign/campaign.h"
#include "faultinject/campaign/network_namespace.h"
#include "faultinject/campaign/spawned_process.h"

namespace uldd::campaign {

// Where the `index`-th NIC of a campaign whose directory is `dir` lives:
// names derived from the directory's unique suffix, so that parallel runs
// do not collide. Interface names fit IFNAMSIZ.
struct NicEndpoints {
  std::string device;        // "nic0"
  std::string host_netns;    // the shim's TAP is created in it
  std::string wire_netns;    // the device model's wire TAP; the echo peer runs here
  std::string tap;           // the host-side netdev
  std::string wire_tap;      // the wire netdev
  std::string mac;           // the device's station address
  std::string host_address;  // 198.18.<index>.1 (on tap)
  std::string wire_address;  // 198.18.<index>.2 (on wire_tap)
};
NicEndpoints nic_endpoints_for(const std::filesystem::path& dir, const std::string& device,
                               size_t index);

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
  // Once the NICs serve (their TAPs exist): addresses both sides and brings
  // them up.
  Status address_nics();
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
  // The NIC `device`'s endpoints; null if it is not a NIC of the campaign.
  const NicEndpoints* nic(const std::string& device) const;

 private:
  CampaignEnvironment(std::filesystem::path dir, std::filesystem::path bin_dir);
  void kill_orphans();

  std::filesystem::path dir_;
  std::filesystem::path bin_dir_;
  std::vector<NicEndpoints> nics_;
  // Declared before the processes: destroyed after them (the supervisor
  // closes the TAPs first).
  std::vector<NetworkNamespace> namespaces_;
  std::string bus_address_;
  SpawnedProcess bus_;
  SpawnedProcess supervisor_;
  bool supervisor_started_ = false;
};

}  // namespace uldd::campaign
