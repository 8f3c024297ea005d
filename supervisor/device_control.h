// DeviceControl: what every kind of device (DiskDevice, NicDevice) offers the
// control plane — a snapshot of its state and figures, and the operator's
// restart / stop / start of its driver — so that the supervisor's
// SupervisorControl implementation handles disks and NICs alike. Loop thread
// only, like everything else on a device.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "abi/control_block.h"
#include "abi/device_fault.h"
#include "common/result.h"
#include "faultinject/memory_corruption_request.h"
#include "supervisor/control/device_snapshot.h"
#include "supervisor/restart_engine.h"

namespace uldd::supervisor {

class DeviceControl {
 public:
  virtual ~DeviceControl() = default;
  virtual const std::string& name() const = 0;
  virtual DeviceSnapshot snapshot() const = 0;
  // Null for a colocated device (no driver process; nothing to restart).
  virtual RestartEngine* engine() = 0;
  // The driver's control block, where fault points are armed.
  virtual abi::ControlBlock* fault_arming_block() = 0;
  // The device model's fault region (abi/device_fault.h), where device faults
  // are armed; the supervisor's and the model's only.
  virtual abi::DeviceFaultRegion* device_fault_region() = 0;
  // Flips one bit in the device's ring region or driver checkpoint (memory
  // the supervisor owns); returns what was flipped. ENOTSUP where the device
  // has no such target.
  virtual Result<std::string> corrupt_shared_memory(
      const faultinject::MemoryCorruptionRequest& request) = 0;
  virtual bool failed() const = 0;

  // The supervisor's loop: fds to watch, one became readable, time-driven
  // work and when it is next due, the periodic status line.
  virtual std::vector<int> watched_fds() const = 0;
  virtual void on_fd_ready(int fd) = 0;
  virtual void tick() = 0;
  virtual std::chrono::steady_clock::time_point next_deadline() const = 0;
  virtual std::string status_line(std::chrono::steady_clock::duration since_last) = 0;
  // The operator's actions; ENOTSUP on a colocated device.
  Status restart_driver();
  Status stop_driver();
  Status start_driver();
};

// The fields every device fills the same way: state, driver processes and
// the restart engine's history (null engine: colocated).
void fill_engine_fields(const RestartEngine* engine, bool failed, DeviceSnapshot& s);

}  // namespace uldd::supervisor
