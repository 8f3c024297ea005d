// NicResources: every shared-memory region and eventfd of one NIC, created by
// the supervisor so that none of them dies with a driver: the emulated BAR
// (128 KiB, with the model's MMIO side band at its end), the DMA region, the
// net ring region (four rings), the checkpoint and the control block. The net
// ring header and the driver's configuration are written here, once, before
// any untrusted process sees them.
//
// After a supervisor crash the same regions come back from the service
// manager's fd store (adopt(), docs/fd-store.md), as a disk's do: each fd is
// checked against what the configuration implies; the DMA region and BAR
// keep their contents (a live e1000 model works on them), the ring region,
// checkpoint and control block are laid out afresh (the next driver starts
// cold, the NetShim with every buffer free).
//
// DMA region layout:  [0, driver_area)                   the driver's: e1000 RX/TX descriptor rings
//                     [driver_area, + buffers * 2 KiB)    the shim's packet buffers
#pragma once

#include "abi/checkpoint.h"
#include "abi/control_block.h"
#include "abi/device_fault.h"
#include "abi/net_ring_region.h"
#include "common/event_fd.h"
#include "common/shared_memory.h"
#include "common/unique_fd.h"
#include "supervisor/config.h"
#include "supervisor/systemd/adoption_record.h"
#include "supervisor/systemd/fd_inventory.h"
#include "supervisor/systemd/fd_store.h"

namespace uldd::supervisor {

// The driver's configuration for a NIC (the e1000 fields of DriverConfig).
abi::DriverConfig nic_driver_config(const NicDeviceConfig& cfg);

struct NicResources {
  SharedMemory bar;         // emulated BAR0 + MMIO side band (model and driver)
  SharedMemory dma;         // DMA region (model, driver, shim)
  SharedMemory rings;       // net ring region (driver, shim)
  SharedMemory checkpoint;  // CheckpointRegion (driver writes)
  SharedMemory control;     // ControlBlock
  SharedMemory faults;      // DeviceFaultRegion: supervisor and model only, never the driver
  EventFd irq;              // model -> driver interrupt
  EventFd doorbell;         // driver -> model register-write kick
  EventFd driver_wake;      // shim -> driver
  EventFd shim_wake;        // driver -> shim
  abi::NetRingRegionView ring_view{};
  SharedMemory record;  // systemd::AdoptionRecord: the supervisor's only, never handed out
  UniqueFd lifeline;    // write end of the device model's lifeline pipe (kept in the fd store)
  UniqueFd lifeline_model_end;  // its read end, for the next model spawn; closed once spawned

  uint64_t buffer_area_offset() const { return control_block()->config.dma_buffer_area_offset; }
  abi::ControlBlock* control_block() const { return control.as<abi::ControlBlock>(); }
  abi::DeviceFaultRegion* fault_region() const { return faults.as<abi::DeviceFaultRegion>(); }
  systemd::AdoptionRecord* adoption_record() const { return record.as<systemd::AdoptionRecord>(); }

  static Result<NicResources> create(const NicDeviceConfig& cfg);
  // Takes "<device>.<role>" fds out of `inventory`; an error names the first
  // fd missing or not what the configuration implies.
  static Result<NicResources> adopt(const NicDeviceConfig& cfg, systemd::FdInventory& inventory);
  // A new lifeline pipe (a new device model on adopted regions).
  Status new_lifeline();
  // Every fd that must outlive the supervisor, named "<device>.<role>" (the
  // TAP's is the NicDevice's to add).
  void add_store_entries(const std::string& device, systemd::FdStoreEntries& out) const;
};

}  // namespace uldd::supervisor
