// DiskResources: every shared-memory region and eventfd of one disk device,
// created by the supervisor so that none of them dies with a driver (or with
// the device model's view of them). Laying out the ring region header and the
// driver's configuration in the control block also happens here, once, before
// any untrusted process sees them.
//
// DMA region layout:  [0, driver_area)            the driver's: NVMe queues, PRP lists
//                     [driver_area, + buffers*mt)  the shim's data buffers, mt = max_transfer
#pragma once

#include "abi/checkpoint.h"
#include "abi/control_block.h"
#include "abi/ring_region.h"
#include "common/event_fd.h"
#include "common/shared_memory.h"
#include "supervisor/config.h"

namespace uldd::supervisor {

inline constexpr size_t kNvmeBarSize = 0x2000;  // registers + doorbells for 9 queue pairs

// Bytes of DMA memory the NVMe driver needs for its own structures (its own
// layout, drivers/nvme/nvme_dma_layout.h), rounded to 2 MiB so the buffer area
// starts on a huge page (kernel UIO DMA).
uint64_t nvme_driver_area_size(const abi::DriverConfig& config);

struct DiskResources {
  SharedMemory bar;           // emulated BAR0 (model and driver)
  SharedMemory dma;           // DMA region (model, driver, shim)
  SharedMemory rings;         // ring region (driver, shim)
  SharedMemory checkpoint;    // CheckpointRegion (driver writes)
  SharedMemory control;       // ControlBlock
  EventFd irq;                // model -> driver interrupt
  EventFd doorbell;           // driver -> model register-write kick
  EventFd driver_wake;        // shim -> driver
  EventFd shim_wake;          // driver -> shim
  abi::RingRegionView ring_view{};

  uint64_t buffer_area_offset() const { return control_block()->config.dma_buffer_area_offset; }
  abi::ControlBlock* control_block() const { return control.as<abi::ControlBlock>(); }

  static Result<DiskResources> create(const DiskDeviceConfig& cfg);
};

}  // namespace uldd::supervisor
