// DiskResources: every shared-memory region and eventfd of one disk device,
// created by the supervisor so that none of them dies with a driver (or with
// the device model's view of them). Laying out the ring region header and the
// driver's configuration in the control block also happens here, once, before
// any untrusted process sees them.
//
// After a supervisor crash the same regions come back from the service
// manager's fd store (adopt(), docs/fd-store.md): each fd is checked against
// what the configuration implies; the DMA region and the BAR keep their
// contents (a live device model works on them), the ring region, checkpoint
// and control block are laid out afresh (the next driver starts cold, the
// shim with empty rings).
//
// DMA region layout:  [0, driver_area)            the driver's: NVMe queues, PRP lists
//                     [driver_area, + buffers*mt)  the shim's data buffers, mt = max_transfer
#pragma once

#include <string>

#include "abi/checkpoint.h"
#include "abi/control_block.h"
#include "abi/device_fault.h"
#include "abi/ring_region.h"
#include "common/event_fd.h"
#include "common/shared_memory.h"
#include "common/unique_fd.h"
#include "supervisor/config.h"
#include "supervisor/systemd/adoption_record.h"
#include "supervisor/systemd/fd_inventory.h"
#include "supervisor/systemd/fd_store.h"

namespace uldd::supervisor {

inline constexpr size_t kNvmeBarSize = 0x2000;  // registers + doorbells for 9 queue pairs

// Bytes of DMA memory the NVMe driver needs for its own structures (its own
// layout, drivers/nvme/nvme_dma_layout.h), rounded to 2 MiB so the buffer area
// starts on a huge page (kernel UIO DMA).
uint64_t nvme_driver_area_size(const abi::DriverConfig& config);

struct DiskResources {
  SharedMemory bar;         // emulated BAR0 (model and driver)
  SharedMemory dma;         // DMA region (model, driver, shim)
  SharedMemory rings;       // ring region (driver, shim)
  SharedMemory checkpoint;  // CheckpointRegion (driver writes)
  SharedMemory control;     // ControlBlock
  SharedMemory faults;      // DeviceFaultRegion: supervisor and model only, never the driver
  EventFd irq;              // model -> driver interrupt
  EventFd doorbell;         // driver -> model register-write kick
  EventFd driver_wake;      // shim -> driver
  EventFd shim_wake;        // driver -> shim
  abi::RingRegionView ring_view{};
  SharedMemory record;  // systemd::AdoptionRecord: the supervisor's only, never handed out
  UniqueFd lifeline;    // write end of the device model's lifeline pipe (kept in the fd store)
  UniqueFd lifeline_model_end;  // its read end, for the next model spawn; closed once spawned

  uint64_t buffer_area_offset() const { return control_block()->config.dma_buffer_area_offset; }
  abi::ControlBlock* control_block() const { return control.as<abi::ControlBlock>(); }
  abi::DeviceFaultRegion* fault_region() const { return faults.as<abi::DeviceFaultRegion>(); }
  systemd::AdoptionRecord* adoption_record() const { return record.as<systemd::AdoptionRecord>(); }

  static Result<DiskResources> create(const DiskDeviceConfig& cfg);
  // Takes "<device>.<role>" fds out of `inventory`; an error names the first
  // fd missing or not what the configuration implies.
  static Result<DiskResources> adopt(const DiskDeviceConfig& cfg, systemd::FdInventory& inventory);
  // A new lifeline pipe (a new device model on adopted regions: the old
  // pipe's read end died with the old model).
  Status new_lifeline();
  // Every fd that must outlive the supervisor, named "<device>.<role>".
  void add_store_entries(const std::string& device, systemd::FdStoreEntries& out) const;
};

}  // namespace uldd::supervisor
