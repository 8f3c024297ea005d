// DiskDevice, the control plane's view: its snapshot (state, processes,
// recovery history, I/O counters) for D-Bus, ulddctl and the metrics file.
#include "shim/disk_shim.h"
#include "supervisor/disk_device.h"

namespace uldd::supervisor {

Result<std::string> DiskDevice::corrupt_shared_memory(
    const faultinject::MemoryCorruptionRequest& request) {
  if (request.target == faultinject::MemoryCorruptionRequest::Target::kRing)
    return faultinject::corrupt_disk_ring(res_.ring_view, request);
  return faultinject::corrupt_checkpoint(*res_.checkpoint.as<abi::CheckpointRegion>(), request);
}

DeviceSnapshot DiskDevice::snapshot() const {
  DeviceSnapshot s;
  s.name = cfg_.name;
  s.kind = "disk";
  s.driver = (cfg_.driver.empty() ? bin_dir_ / "uldd-nvme-driver" : cfg_.driver).string();
  s.policy = cfg_.policy;
  fill_engine_fields(engine_.get(), failed_, s);
  if (stopped_) s.state = "stopped";
  s.model_pid = std::max<pid_t>(model_pid(), 0);
  if (shim_) {
    const shim::DiskShimStats& st = shim_->stats();
    s.io = {{"reads", st.reads.load()},
            {"writes", st.writes.load()},
            {"flushes", st.flushes.load()},
            {"read_bytes", st.read_bytes.load()},
            {"write_bytes", st.write_bytes.load()},
            {"errors", st.errors.load()},
            {"violations", st.protocol_violations.load()},
            {"requests_open", st.requests_open.load()},
            {"descriptors_in_flight", st.descriptors_in_flight.load()},
            {"resent", st.resent.load()},
            {"error_retries", st.error_retries.load()},
            {"error_restarts", st.error_restarts.load()}};
  }
  return s;
}

// DriverHost: an idle device's recovery settles when the successor serves.
bool DiskDevice::work_pending() const {
  return shim_ && shim_->stats().requests_open.load(std::memory_order_relaxed) > 0;
}

}  // namespace uldd::supervisor
