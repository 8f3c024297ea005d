#include "supervisor/disk_resources.h"

#include <cstring>

#include "drivers/nvme/nvme_dma_layout.h"

namespace uldd::supervisor {
namespace {

uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

}  // namespace

uint64_t nvme_driver_area_size(const abi::DriverConfig& config) {
  return round_up(drivers::NvmeDmaLayout::compute(config).total_size, 2u << 20);
}

Result<DiskResources> DiskResources::create(const DiskDeviceConfig& cfg) {
  DiskResources r;
  const std::string& n = cfg.name;
  auto bar = SharedMemory::create("uldd-" + n + "-bar0", kNvmeBarSize);
  if (!bar) return bar.error();
  r.bar = std::move(bar.value());

  abi::DriverConfig dc{};
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
  uint64_t dma_size = driver_area + uint64_t{cfg.buffers} * cfg.max_transfer;
  auto dma = SharedMemory::create("uldd-" + n + "-dma", dma_size);
  if (!dma) return dma.error();
  r.dma = std::move(dma.value());

  abi::RingRegionHeader layout = abi::ring_region_layout(cfg.ring_capacity);
  auto rings = SharedMemory::create("uldd-" + n + "-rings", layout.region_size);
  if (!rings) return rings.error();
  r.rings = std::move(rings.value());
  std::memcpy(r.rings.data(), &layout, sizeof layout);
  r.ring_view = abi::RingRegionView{r.rings.data(), layout};

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
