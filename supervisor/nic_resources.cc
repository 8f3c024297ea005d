#include "supervisor/nic_resources.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "devices/e1000/e1000_spec.h"
#include "drivers/e1000/e1000_dma_layout.h"
#include "faultinject/device_fault_request.h"
#include "shim/net_shim.h"
#include "supervisor/device_fd_set.h"

namespace uldd::supervisor {
namespace {

// What the configuration implies: the driver's configuration and every
// region's size, the same for create() and adopt().
struct NicPlan {
  abi::DriverConfig driver{};
  abi::NetRingRegionHeader rings{};
  uint64_t dma_size = 0;
};

NicPlan plan(const NicDeviceConfig& cfg) {
  NicPlan p;
  p.driver = nic_driver_config(cfg);
  p.dma_size = p.driver.dma_buffer_area_offset + uint64_t{cfg.buffers} * shim::kNetBufferSize;
  p.rings = abi::net_ring_region_layout(cfg.ring_capacity, cfg.ring_capacity);
  return p;
}

// Net ring header, control block identity and configuration: written before
// any driver sees them, on fresh and on adopted (zeroed) regions.
void lay_out(NicResources& r, const NicPlan& p) {
  std::memcpy(r.rings.data(), &p.rings, sizeof p.rings);
  r.ring_view = abi::NetRingRegionView{r.rings.data(), p.rings};
  auto* cb = r.control.as<abi::ControlBlock>();
  cb->magic = abi::kControlBlockMagic;
  cb->version = abi::kAbiVersion;
  cb->config = p.driver;
  // Its slots and the model's counters are kept on adoption (the model lives on).
  faultinject::init_device_fault_region(*r.fault_region(), abi::kDeviceModelE1000);
}

constexpr RegionRole<NicResources> kRegions[] = {
    {"bar", &NicResources::bar},         {"dma", &NicResources::dma},
    {"rings", &NicResources::rings},     {"checkpoint", &NicResources::checkpoint},
    {"control", &NicResources::control}, {"record", &NicResources::record},
    {"faults", &NicResources::faults}};
constexpr EventRole<NicResources> kEvents[] = {{"irq", &NicResources::irq},
                                               {"doorbell", &NicResources::doorbell},
                                               {"driver_wake", &NicResources::driver_wake},
                                               {"shim_wake", &NicResources::shim_wake}};

uint64_t region_size(const char* role, const NicPlan& p) {
  const std::string r = role;
  if (r == "bar") return e1000::kBarSize;
  if (r == "dma") return p.dma_size;
  if (r == "rings") return p.rings.region_size;
  if (r == "checkpoint") return sizeof(abi::CheckpointRegion);
  if (r == "control") return sizeof(abi::ControlBlock);
  if (r == "faults") return sizeof(abi::DeviceFaultRegion);
  return systemd::kAdoptionRecordSize;
}

}  // namespace

abi::DriverConfig nic_driver_config(const NicDeviceConfig& cfg) {
  abi::DriverConfig dc{};
  dc.heartbeat_interval_us = cfg.heartbeat_interval_ms * 1000;
  dc.max_transfer = shim::kNetBufferSize;  // a NIC driver reads it as the packet buffer size
  dc.nic_rx_descriptors = cfg.rx_descriptors;
  dc.nic_tx_descriptors = cfg.tx_descriptors;
  // ITR counts 256 ns units (8254x SDM 13.4.18).
  dc.nic_itr_interval = static_cast<uint32_t>(uint64_t{cfg.itr_us} * 1000 / 256);
  // The packet buffers start on a 2 MiB boundary, so that with kernel UIO
  // (hugetlb DMA) they never straddle a huge page.
  uint64_t driver_area = (drivers::E1000DmaLayout::compute(dc).total_size + (2u << 20) - 1) &
                         ~uint64_t{(2u << 20) - 1};
  dc.dma_driver_area_size = driver_area;
  dc.dma_buffer_area_offset = driver_area;
  return dc;
}

Result<NicResources> NicResources::create(const NicDeviceConfig& cfg) {
  NicResources r;
  const NicPlan p = plan(cfg);
  ULDD_TRY(create_device_fds(r, cfg.name, kRegions, kEvents,
                             [&](const char* role) { return region_size(role, p); }));
  lay_out(r, p);
  return r;
}

Result<NicResources> NicResources::adopt(const NicDeviceConfig& cfg,
                                         systemd::FdInventory& inventory) {
  NicResources r;
  const NicPlan p = plan(cfg);
  ULDD_TRY(adopt_device_fds(r, cfg.name, inventory, kRegions, kEvents,
                            [&](const char* role) { return region_size(role, p); }));
  lay_out(r, p);
  return r;
}

Status NicResources::new_lifeline() {
  return new_lifeline_pipe(lifeline, lifeline_model_end);
}

void NicResources::add_store_entries(const std::string& device,
                                     systemd::FdStoreEntries& out) const {
  add_device_store_entries(*this, device, kRegions, kEvents, out);
}

}  // namespace uldd::supervisor
