// NicDevice, the control plane's view: its snapshot (state, processes,
// recovery history, frame counters) for D-Bus, ulddctl and the metrics file.
#include <cerrno>

#include "shim/net_shim.h"
#include "supervisor/nic_device.h"

namespace uldd::supervisor {

Result<std::string> NicDevice::corrupt_shared_memory(
    const faultinject::MemoryCorruptionRequest& request) {
  if (request.target == faultinject::MemoryCorruptionRequest::Target::kRing)
    return faultinject::corrupt_net_ring(res_.ring_view, request);
  return faultinject::corrupt_checkpoint(*res_.checkpoint.as<abi::CheckpointRegion>(), request);
}

DeviceSnapshot NicDevice::snapshot() const {
  DeviceSnapshot s;
  s.name = cfg_.name;
  s.kind = "nic";
  s.driver = (cfg_.driver.empty() ? bin_dir_ / "uldd-e1000-driver" : cfg_.driver).string();
  s.policy = cfg_.policy;
  fill_engine_fields(engine_.get(), failed_, s);
  if (stopped_) s.state = "stopped";
  s.model_pid = std::max<pid_t>(model_pid(), 0);
  if (shim_) {
    const shim::NetShimStats& st = shim_->stats();
    s.io = {{"tx_frames", st.tx_frames.load()},    {"tx_bytes", st.tx_bytes.load()},
            {"rx_frames", st.rx_frames.load()},    {"rx_bytes", st.rx_bytes.load()},
            {"tx_errors", st.tx_errors.load()},    {"rx_errors", st.rx_errors.load()},
            {"rx_dropped", st.rx_dropped.load()},  {"violations", st.violations.load()},
            {"tx_posted", st.tx_posted.load()},    {"rx_posted", st.rx_posted.load()},
            {"tx_reissued", st.tx_reissued.load()}};
  }
  return s;
}

// DriverHost: an idle device's recovery settles when the successor serves.
bool NicDevice::work_pending() const {
  return shim_ && shim_->stats().tx_posted.load(std::memory_order_relaxed) > 0;
}

}  // namespace uldd::supervisor
