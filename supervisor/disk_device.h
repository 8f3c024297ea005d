// DiskDevice: one configured disk, put together: its shared memory, its device
// model process, its driver (a process, or in-process when colocated), its
// shim and its frontends. Starting brings them up in dependency order and
// stopping takes them down in reverse, so that no frontend ever talks to a
// shim without a driver and no file or socket is left behind.
//
// In isolated mode the driver process belongs to a RestartEngine (crash,
// hang and protocol-violation recovery under the device's policy); this
// class is its DriverHost: the spawn recipe, the control block and the
// shim's hold/resend calls. The device model is the hardware: it is never
// restarted, and its death fails the device.
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
#include "supervisor/disk_resources.h"
#include "supervisor/kernel_device_files.h"
#include "supervisor/restart_engine.h"

namespace uldd::uio {
class UioDevice;
}
namespace uldd::drivers {
class NvmeDriver;
}
namespace uldd::shim {
class DiskShim;
class FuseFrontend;
class NbdServer;
}  // namespace uldd::shim

namespace uldd::supervisor {

class DiskDevice final : public DeviceControl, private DriverHost {
 public:
  // `bin_dir` holds uldd-hw and uldd-nvme-driver; `policy` governs restarts.
  // `handover`: the fd store, and the fds a crashed supervisor left there to
  // adopt the device from (supervisor/disk_device_adoption.cc).
  static Result<std::unique_ptr<DiskDevice>> start(const DiskDeviceConfig& cfg,
                                                   const SupervisorConfig& sup,
                                                   const std::filesystem::path& bin_dir,
                                                   const policies::RestartPolicy& policy,
                                                   DeviceHandover handover = {});
  ~DiskDevice();

  // Drains open requests (bounded), then stops frontends, shim, driver, model.
  void stop();

  const std::string& name() const override { return cfg_.name; }
  DeviceSnapshot snapshot() const override;  // supervisor/disk_device_control.cc
  abi::ControlBlock* fault_arming_block() override { return res_.control_block(); }
  // Null for a real device (kernel UIO): device faults are the model's.
  abi::DeviceFaultRegion* device_fault_region() override {
    return kernel_ ? nullptr : res_.fault_region();
  }
  Result<std::string> corrupt_shared_memory(
      const faultinject::MemoryCorruptionRequest& request) override;  // *_device_control.cc
  shim::DiskShim& shim() { return *shim_; }
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
  // Time-driven work (heartbeats, scheduled restarts) and when it is due next.
  void tick() override;
  std::chrono::steady_clock::time_point next_deadline() const override;
  // A reloaded policy (SIGHUP).
  void set_policy(const policies::RestartPolicy& policy);

  std::string status_line(std::chrono::steady_clock::duration since_last) override;

 private:
  DiskDevice(DiskDeviceConfig cfg, std::filesystem::path bin_dir, std::string driver_user);
  Status start_model();
  Status start_colocated_driver();

  // Surviving a supervisor restart (disk_device_adoption.cc): regions from
  // the fd store or new; the device model reattached or started again on
  // them; the old driver killed; every fd handed to the store once serving.
  Status acquire_resources(systemd::FdInventory* inventory);
  Status bring_up_adopted_model();
  void kill_previous_driver();
  void record_processes();
  Status publish_fds();
  void log_adoption_progress();
  DeviceHandover handover_;
  systemd::FdStoreEntries store_entries_;
  bool adopted_ = false;
  bool lifeline_renewed_ = false;
  UniqueFd adopted_fuse_fd_, adopted_nbd_fd_;
  std::chrono::steady_clock::time_point adopted_at_{};
  bool adoption_logged_ = false;

  // DriverHost
  const std::string& device_name() const override { return cfg_.name; }
  SpawnSpec driver_spawn_spec(bool standby, int release_fd) override;
  abi::ControlBlock* control_block() override { return res_.control_block(); }
  void hold_requests() override;
  Result<uint32_t> prepare_successor(Resend how) override;
  int64_t first_completion_ns() const override;
  bool work_pending() const override;
  void fail_device(const std::string& reason) override;

  DiskDeviceConfig cfg_;
  std::filesystem::path bin_dir_;
  std::string driver_user_;
  DiskResources res_;
  ChildProcess model_;
  std::unique_ptr<RestartEngine> engine_;
  // A real device (uio = "kernel:..."): its files and pinned DMA memory. No
  // device model runs then; model_ stays empty.
  std::unique_ptr<KernelDeviceFiles> kernel_;
  std::unique_ptr<uio::UioDevice> colocated_uio_;
  std::unique_ptr<drivers::NvmeDriver> colocated_driver_;
  std::unique_ptr<shim::DiskShim> shim_;
  std::unique_ptr<shim::FuseFrontend> fuse_;
  std::unique_ptr<shim::NbdServer> nbd_;
  bool failed_ = false;
  bool shim_stopped_ = false;
  bool stopped_ = false;
  uint64_t last_read_bytes_ = 0;
  uint64_t last_write_bytes_ = 0;
  // engine_->counters().restarts_cold when the shim's quarantine was last released.
  uint64_t quarantine_released_for_ = 0;
};

}  // namespace uldd::supervisor
