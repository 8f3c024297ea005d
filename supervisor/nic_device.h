// NicDevice: one configured NIC, put together: its shared memory, its TAP
// frontend, its e1000 device model process (uldd-hw e1000, whose wire is a
// TAP, optionally in a peer netns), its driver (a process, or in-process when
// colocated) and its NetShim. Starting brings them up in dependency order and
// stopping takes them down in reverse.
//
// In isolated mode the driver process belongs to a RestartEngine under the
// device's policy (crash, hang and protocol-violation recovery, as for
// disks); this class is its DriverHost: the spawn recipe (sandboxed, as the
// disk's), the control block, and the NetShim's hold/restart. A cold
// successor resets the e1000; the shim reissues or drops (policy
// nic_tx_inflight) the TX frames the dead driver held, in original order, and
// keeps the RX buffers the device held quarantined until the successor is
// running, i.e. the device was reset (docs/recovery.md, "NIC"). The e1000
// driver refuses warm starts (exit 6), so a warm policy falls back to cold.
//
// The device fails — the shim stops (the TAP is no longer read, so the
// kernel queues and then drops), the TAP loses carrier, the status line says
// FAILED — when the policy is exhausted (fail-device, run-hook), when the
// device model dies (the hardware is gone), or, in colocated mode (no driver
// process to restart), on a driver fault the shim reports: that one stays
// counted and logged only.
//
// Besides the status line, every status tick writes `<runtime_dir>/<name>.stats`
// (key=value lines, replaced atomically): the device's counters as the
// control plane sees them, readable without talking to the supervisor.
//
// Across a supervisor crash (supervisor/nic_device_adoption.cc,
// docs/fd-store.md) the NIC is adopted from the fd store like a disk: same
// memfds and TAP, the e1000 model reattached or restarted, a cold driver.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "supervisor/child_process.h"
#include "supervisor/config.h"
#include "supervisor/device_control.h"
#include "supervisor/device_handover.h"
#include "supervisor/kernel_device_files.h"
#include "supervisor/nic_resources.h"
#include "supervisor/restart_engine.h"

namespace uldd::uio {
class UioDevice;
}
namespace uldd::drivers {
class E1000Driver;
}
namespace uldd::shim {
class NetShim;
class TapFrontend;
}  // namespace uldd::shim

namespace uldd::supervisor {

class NicDevice final : public DeviceControl, private DriverHost {
 public:
  // `bin_dir` holds uldd-hw and uldd-e1000-driver; `policy` governs restarts.
  // `handover`: the fd store, and the fds a crashed supervisor left there to
  // adopt the NIC from (supervisor/nic_device_adoption.cc).
  static Result<std::unique_ptr<NicDevice>> start(const NicDeviceConfig& cfg,
                                                  const SupervisorConfig& sup,
                                                  const std::filesystem::path& bin_dir,
                                                  const policies::RestartPolicy& policy,
                                                  DeviceHandover handover = {});
  ~NicDevice();

  // Stops the shim, driver and model, then closes the TAP (which removes it).
  void stop();

  const std::string& name() const override { return cfg_.name; }
  DeviceSnapshot snapshot() const override;  // supervisor/nic_device_control.cc
  abi::ControlBlock* fault_arming_block() override { return res_.control_block(); }
  // Null for a real device (kernel UIO): device faults are the model's.
  abi::DeviceFaultRegion* device_fault_region() override {
    return kernel_ ? nullptr : res_.fault_region();
  }
  Result<std::string> corrupt_shared_memory(
      const faultinject::MemoryCorruptionRequest& request) override;  // *_device_control.cc
  shim::NetShim& shim() { return *shim_; }
  // -1 when the process does not exist (colocated driver, stopped device).
  pid_t driver_pid() const { return engine_ ? engine_->driver_pid() : -1; }
  pid_t model_pid() const { return model_.running() ? model_.pid() : -1; }
  // Null in colocated mode (the driver lives and dies with the supervisor).
  RestartEngine* engine() override { return engine_.get(); }
  bool failed() const override { return failed_; }

  // Fds the supervisor's loop watches (child pidfds, the engine's fault kick).
  std::vector<int> watched_fds() const override;
  // Called when one of watched_fds() became readable.
  void on_fd_ready(int fd) override;
  // Time-driven work (heartbeats, scheduled restarts, the end of a
  // quarantine) and when it is due next.
  void tick() override;
  std::chrono::steady_clock::time_point next_deadline() const override;
  // A reloaded policy (SIGHUP).
  void set_policy(const policies::RestartPolicy& policy);

  // One line for the log; also rewrites the stats file.
  std::string status_line(std::chrono::steady_clock::duration since_last) override;

 private:
  NicDevice(NicDeviceConfig cfg, std::filesystem::path stats_path, std::filesystem::path bin_dir,
            std::string driver_user);
  Status start_model();
  Status start_colocated_driver();
  void fail(const std::string& why);
  void write_stats_file();
  std::string state_name() const;

  // Surviving a supervisor restart (nic_device_adoption.cc): regions and TAP
  // from the fd store or new; the model reattached or started again on them;
  // the old driver killed; every fd handed to the store once serving.
  Status acquire_resources(systemd::FdInventory* inventory);
  Status open_tap();
  Status bring_up_adopted_model();
  void kill_previous_driver();
  void record_processes();
  Status publish_fds();
  DeviceHandover handover_;
  systemd::FdStoreEntries store_entries_;
  bool adopted_ = false;
  bool lifeline_renewed_ = false;
  UniqueFd adopted_tap_fd_;

  // DriverHost
  const std::string& device_name() const override { return cfg_.name; }
  SpawnSpec driver_spawn_spec(bool standby, int release_fd) override;
  abi::ControlBlock* control_block() override { return res_.control_block(); }
  void hold_requests() override;
  Result<uint32_t> prepare_successor(Resend how) override;
  int64_t first_completion_ns() const override;
  bool work_pending() const override;
  void fail_device(const std::string& reason) override;

  NicDeviceConfig cfg_;
  std::filesystem::path stats_path_;
  std::filesystem::path bin_dir_;
  std::string driver_user_;
  NicResources res_;
  std::unique_ptr<shim::TapFrontend> tap_;
  ChildProcess model_;
  std::unique_ptr<RestartEngine> engine_;
  // Cold restarts whose successor is known to have reset the device, i.e.
  // after which the shim's quarantined buffers were released.
  uint64_t quarantine_released_for_ = 0;
  // A real device (uio = "kernel:..."): its files and pinned DMA memory. No
  // device model runs then; model_ stays empty.
  std::unique_ptr<KernelDeviceFiles> kernel_;
  std::unique_ptr<uio::UioDevice> colocated_uio_;
  std::unique_ptr<drivers::E1000Driver> colocated_driver_;
  std::unique_ptr<shim::NetShim> shim_;
  bool failed_ = false;
  bool stopped_ = false;
  uint64_t stats_sequence_ = 0;
  uint64_t last_tx_bytes_ = 0;
  uint64_t last_rx_bytes_ = 0;
};

}  // namespace uldd::supervisor
