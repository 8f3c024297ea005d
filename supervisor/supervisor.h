// Supervisor: the long-lived, trusted process. Starts every configured device,
// then runs one event loop that watches signals (signalfd: SIGINT/SIGTERM stop,
// SIGHUP reloads the restart policies, all or nothing), the fds of every
// device (child pidfds, fault kicks), and the devices' deadlines (heartbeat
// checks, scheduled restarts) and the periodic status line. A device whose
// policy says "stop-supervisor" when exhausted ends run() with its status. Stopping takes devices
// down in reverse order of starting.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "policies/policy_store.h"
#include "supervisor/config.h"
#include "supervisor/control/supervisor_control.h"
#include "supervisor/disk_device.h"
#include "supervisor/nic_device.h"
#include "supervisor/systemd/fd_inventory.h"
#include "supervisor/systemd/fd_store.h"

namespace uldd::dbus {
class BusService;
}
namespace uldd::supervisor::systemd {
class ServiceNotifier;
class WatchdogKeeper;
}  // namespace uldd::supervisor::systemd

namespace uldd::supervisor {

// The supervisor is also the control plane's SupervisorControl
// (supervisor_control_plane.cc): every call arrives on the loop thread.
class Supervisor final : public SupervisorControl {
 public:
  Supervisor(SupervisorConfig config, std::filesystem::path bin_dir);
  ~Supervisor();

  // Blocks SIGINT/SIGTERM/SIGHUP (they are read from a signalfd) and starts
  // every device. On error, whatever was started is stopped again.
  Status start();
  // Runs until SIGINT/SIGTERM (returns 0) or a policy's stop-supervisor
  // (returns its exit status).
  int run();
  void stop();
  // Fds a crashed predecessor left in the service manager's fd store
  // (LISTEN_FDS, read in main.cc): start() adopts devices from them
  // (docs/fd-store.md). Call before start().
  void adopt_from(systemd::FdInventory inventory) { inventory_ = std::move(inventory); }

  // SupervisorControl (supervisor_control_plane.cc)
  std::vector<DeviceSnapshot> devices() const override;
  Result<DeviceSnapshot> device(std::string_view name) const override;
  std::string state() const override { return state_; }
  Status restart_driver(std::string_view device) override;
  Status stop_driver(std::string_view device) override;
  Status start_driver(std::string_view device) override;
  Result<std::string> reload_policies() override;
  Result<std::string> inject_fault(std::string_view device, const FaultRequest& fault) override;
  std::vector<std::string> fault_types() const override;
  std::string log_level() const override;
  Status set_log_level(std::string_view level) override;
  std::string metrics_text() const override;

 private:
  SupervisorConfig config_;
  std::filesystem::path bin_dir_;

  // Control plane (supervisor_control_plane.cc).
  Result<DeviceControl*> find_device(std::string_view name) const;
  // reload_policies(), with the log lines' prefix saying who asked ("SIGHUP").
  Result<std::string> reload_policies_for(std::string_view trigger);
  // After start: every device as DeviceControl, recovery listeners set.
  void attach_control_plane();
  // Tells `events_` what changed since the last call (state, pids, restarts).
  void publish_changes();
  void set_state(std::string state);
  std::vector<DeviceControl*> device_views_;  // disks, then NICs
  std::map<std::string, DowntimeHistogram> downtime_;
  struct Fingerprint {
    std::string state;
    pid_t driver_pid = 0, standby_pid = 0;
    uint64_t restarts = 0;
    uint64_t recoveries = 0;  // settled (downtime known): LastDowntimeUsec changed
    std::string last_fault;
    bool operator==(const Fingerprint&) const = default;
  };
  std::map<std::string, Fingerprint> published_;
  ControlEvents* events_ = nullptr;
  std::string state_ = "starting";

  void start_bus();
  void write_metrics_file() const;
  std::unique_ptr<systemd::ServiceNotifier> notifier_;
  std::unique_ptr<systemd::WatchdogKeeper> watchdog_;
  std::unique_ptr<dbus::BusService> bus_;
  bool stopping_announced_ = false;
  mutable bool metrics_write_failed_ = false;

  std::unique_ptr<systemd::FdStore> fd_store_;  // FDSTORE=1 (docs/fd-store.md)
  systemd::FdInventory inventory_;

  std::unique_ptr<policies::PolicyStore> policies_;
  std::vector<std::unique_ptr<DiskDevice>> disks_;
  std::vector<std::unique_ptr<NicDevice>> nics_;  // started after the disks, stopped before them
  int signal_fd_ = -1;
};

}  // namespace uldd::supervisor
