#include "supervisor/nic_resources.h"

#include <cstring>

#include "devices/e1000/e1000_spec.h"
#include "drivers/e1000/e1000_dma_layout.h"
#include "shim/net_shim.h"

namespace uldd::supervisor {

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
  const std::string& n = cfg.name;
  auto bar = SharedMemory::create("uldd-" + n + "-bar0", e1000::kBarSize);
  if (!bar) return bar.error();
  r.bar = std::move(bar.value());

  abi::DriverConfig dc = nic_driver_config(cfg);
  auto dma =
      SharedMemory::create("uldd-" + n + "-dma", dc.dma_buffer_area_offset +
                                                     uint64_t{cfg.buffers} * shim::kNetBufferSize);
  if (!dma) return dma.error();
  r.dma = std::move(dma.value());

  abi::NetRingRegionHeader layout =
      abi::net_ring_region_layout(cfg.ring_capacity, cfg.ring_capacity);
  auto rings = SharedMemory::create("uldd-" + n + "-rings", layout.region_size);
  if (!rings) return rings.error();
  r.rings = std::move(rings.value());
  std::memcpy(r.rings.data(), &layout, sizeof layout);
  r.ring_view = abi::NetRingRegionView{r.rings.data(), layout};

  auto ckpt = SharedMemory::create("uldd-" + n + "-checkpoint", sizeof(abi::CheckpointRegion));
  if (!ckpt) return ckpt.error();
  r.checkpoint = std::move(ckpt.value());

  auto control = SharedMemory::create("uldd-" + n + "-control", sizeof(abi::ControlBlock));
  if (!control) return control.error();
  r.control = std::move(control.value());
  auto* cb = r.control.as<abi::ControlBlock>();
  cb->magic = abi::kControlBlockMagic;
  cb->version = abi::kAbiVersion;
  cb->config = dc;

  for (EventFd* e : {&r.irq, &r.doorbell, &r.driver_wake, &r.shim_wake}) {
    auto fd = EventFd::create();
    if (!fd) return fd.error();
    *e = std::move(fd.value());
  }
  return r;
}

}  // namespace uldd::supervisor
