#include "supervisor/disk_resources.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "drivers/nvme/nvme_dma_layout.h"
#include "faultinject/device_fault_request.h"
#include "supervisor/device_fd_set.h"

namespace uldd::supervisor {
namespace {

uint64_t round_up(uint64_t v, uint64_t to) {
  return (v + to - 1) / to * to;
}

// What the configuration implies: the driver's configuration and every
// region's size, the same for create() and adopt().
struct DiskPlan {
  abi::DriverConfig driver{};
  abi::RingRegionHeader rings{};
  uint64_t dma_size = 0;
};

DiskPlan plan(const DiskDeviceConfig& cfg) {
  DiskPlan p;
  abi::DriverConfig& dc = p.driver;
  dc.io_queue_count = cfg.io_queues;
  dc.io_queue_depth = cfg.queue_depth;
  dc.irq_coalesce_threshold = cfg.irq_coalesce_threshold;
  dc.irq_coalesce_time_us = cfg.irq_coalesce_time_us;
  // The restart engine sets the heartbeat interval from the device's policy
  // before each driver starts (RestartEngine); this is the fallback.
  dc.heartbeat_interval_us = 50'000;
  dc.max_transfer = cfg.max_transfer;
  dc.device_bytes = cfg.size_bytes;
  uint64_t driver_area = nvme_driver_area_size(dc);
  dc.dma_driver_area_size = driver_area;
  dc.dma_buffer_area_offset = driver_area;
  p.dma_size = driver_area + uint64_t{cfg.buffers} * cfg.max_transfer;
  p.rings = abi::ring_region_layout(cfg.ring_capacity);
  return p;
}

// Ring region header, control block identity and configuration: written
// before any driver sees them, on fresh and on adopted (zeroed) regions.
void lay_out(DiskResources& r, const DiskPlan& p) {
  std::memcpy(r.rings.data(), &p.rings, sizeof p.rings);
  r.ring_view = abi::RingRegionView{r.rings.data(), p.rings};
  auto* cb = r.control.as<abi::ControlBlock>();
  cb->magic = abi::kControlBlockMagic;
  cb->version = abi::kAbiVersion;
  cb->config = p.driver;
  // Its slots and the model's counters are kept on adoption (the model lives on).
  faultinject::init_device_fault_region(*r.fault_region(), abi::kDeviceModelNvme);
}

constexpr RegionRole<DiskResources> kRegions[] = {
    {"bar", &DiskResources::bar},         {"dma", &DiskResources::dma},
    {"rings", &DiskResources::rings},     {"checkpoint", &DiskResources::checkpoint},
    {"control", &DiskResources::control}, {"record", &DiskResources::record},
    {"faults", &DiskResources::faults}};
constexpr EventRole<DiskResources> kEvents[] = {{"irq", &DiskResources::irq},
                                                {"doorbell", &DiskResources::doorbell},
                                                {"driver_wake", &DiskResources::driver_wake},
                                                {"shim_wake", &DiskResources::shim_wake}};

uint64_t region_size(const char* role, const DiskPlan& p) {
  const std::string r = role;
  if (r == "bar") return kNvmeBarSize;
  if (r == "dma") return p.dma_size;
  if (r == "rings") return p.rings.region_size;
  if (r == "checkpoint") return sizeof(abi::CheckpointRegion);
  if (r == "control") return sizeof(abi::ControlBlock);
  if (r == "faults") return sizeof(abi::DeviceFaultRegion);
  return systemd::kAdoptionRecordSize;
}

}  // namespace

uint64_t nvme_driver_area_size(const abi::DriverConfig& config) {
  return round_up(drivers::NvmeDmaLayout::compute(config).total_size, 2u << 20);
}

Result<DiskResources> DiskResources::create(const DiskDeviceConfig& cfg) {
  DiskResources r;
  const DiskPlan p = plan(cfg);
  ULDD_TRY(create_device_fds(r, cfg.name, kRegions, kEvents,
                             [&](const char* role) { return region_size(role, p); }));
  lay_out(r, p);
  return r;
}

Result<DiskResources> DiskResources::adopt(const DiskDeviceConfig& cfg,
                                           systemd::FdInventory& inventory) {
  DiskResources r;
  const DiskPlan p = plan(cfg);
  ULDD_TRY(adopt_device_fds(r, cfg.name, inventory, kRegions, kEvents,
                            [&](const char* role) { return region_size(role, p); }));
  lay_out(r, p);
  return r;
}

Status DiskResources::new_lifeline() {
  return new_lifeline_pipe(lifeline, lifeline_model_end);
}

void DiskResources::add_store_entries(const std::string& device,
                                      systemd::FdStoreEntries& out) const {
  add_device_store_entries(*this, device, kRegions, kEvents, out);
}

}  // namespace uldd::supervisor
