// DiskDevice: one configured disk, put together: its shared memory, its device
// model process, its driver (a process, or in-process when colocated), its
// shim and its frontends. Starting brings them up in dependency order and
// stopping takes them down in reverse, so that no frontend ever talks to a
// shim without a driver and no file or socket is left behind.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "supervisor/child_process.h"
#include "supervisor/config.h"
#include "supervisor/disk_resources.h"

namespace uldd::uio {
class EmulatedUio;
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

class DiskDevice {
 public:
  // `bin_dir` holds uldd-hw and uldd-nvme-driver.
  static Result<std::unique_ptr<DiskDevice>> start(const DiskDeviceConfig& cfg, const SupervisorConfig& sup,
                                                   const std::filesystem::path& bin_dir);
  ~DiskDevice();

  // Drains open requests (bounded), then stops frontends, shim, driver, model.
  void stop();

  const std::string& name() const { return cfg_.name; }
  shim::DiskShim& shim() { return *shim_; }
  // -1 when the process does not exist (colocated driver, stopped device).
  pid_t driver_pid() const { return driver_.running() ? driver_.pid() : -1; }
  pid_t model_pid() const { return model_.running() ? model_.pid() : -1; }

  // Child processes the supervisor's loop watches (pidfds).
  std::vector<int> pidfds() const;
  // Called when one of pidfds() became readable; returns false if the device
  // can no longer serve.
  bool on_child_exit(int pidfd);

  std::string status_line(std::chrono::steady_clock::duration since_last);

 private:
  explicit DiskDevice(DiskDeviceConfig cfg);
  Status start_model(const std::filesystem::path& bin_dir);
  Status start_isolated_driver(const std::filesystem::path& bin_dir, const std::string& user);
  Status start_colocated_driver();
  Status wait_driver_running(std::chrono::milliseconds timeout);

  DiskDeviceConfig cfg_;
  DiskResources res_;
  ChildProcess model_;
  ChildProcess driver_;
  std::unique_ptr<uio::EmulatedUio> colocated_uio_;
  std::unique_ptr<drivers::NvmeDriver> colocated_driver_;
  std::unique_ptr<shim::DiskShim> shim_;
  std::unique_ptr<shim::FuseFrontend> fuse_;
  std::unique_ptr<shim::NbdServer> nbd_;
  bool failed_ = false;
  bool shim_stopped_ = false;
  bool stopped_ = false;
  uint64_t last_read_bytes_ = 0;
  uint64_t last_write_bytes_ = 0;
};

}  // namespace uldd::supervisor
