// NicResources: every shared-memory region and eventfd of one NIC, created by
// the supervisor so that none of them dies with a driver: the emulated BAR
// (128 KiB, with the model's MMIO side band at its end), the DMA region, the
// net ring region (four rings), the checkpoint and the control block. The net
// ring header and the driver's configuration are written here, once, before
// any untrusted process sees them.
//
// DMA region layout:  [0, driver_area)                   the driver's: e1000 RX/TX descriptor rings
//                     [driver_area, + buffers * 2 KiB)    the shim's packet buffers
#pragma once

#include "abi/checkpoint.h"
#include "abi/control_block.h"
#include "abi/net_ring_region.h"
#include "common/event_fd.h"
#include "common/shared_memory.h"
#include "supervisor/config.h"

namespace uldd::supervisor {

// The driver's configuration for a NIC (the e1000 fields of DriverConfig).
abi::DriverConfig nic_driver_config(const NicDeviceConfig& cfg);

struct NicResources {
  SharedMemory bar;         // emulated BAR0 + MMIO side band (model and driver)
  SharedMemory dma;         // DMA region (model, driver, shim)
  SharedMemory rings;       // net ring region (driver, shim)
  SharedMemory checkpoint;  // CheckpointRegion (driver writes)
  SharedMemory control;     // ControlBlock
  EventFd irq;              // model -> driver interrupt
  EventFd doorbell;         // driver -> model register-write kick
  EventFd driver_wake;      // shim -> driver
  EventFd shim_wake;        // driver -> shim
  abi::NetRingRegionView ring_view{};

  uint64_t buffer_area_offset() const { return control_block()->config.dma_buffer_area_offset; }
  abi::ControlBlock* control_block() const { return control.as<abi::ControlBlock>(); }

  static Result<NicResources> create(const NicDeviceConfig& cfg);
};

}  // namespace uldd::supervisor
