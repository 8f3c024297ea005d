// NvmeDriver: the user-level NVMe driver core. It turns shim BlockDescriptors
// into NVMe Read/Write/Flush commands on one or more I/O queue pairs of a
// controller reached through a UioDevice, and NVMe completions back into
// BlockDescriptors.
//
// It owns neither the shim rings nor an event loop, so the same code runs in
// both modes: isolated (DriverLoop drives it in the uldd-nvme-driver process)
// and colocated (the shim calls it directly in its own process). One thread
// calls it; nothing here blocks except bring_up() and shutdown().
//
// Typical use, per loop iteration:
//   n = min(ready requests, free_slots());  submit() each;  ring_doorbells();
//   on irq: on_interrupt();  reap(out) until it returns less than out.size().
//
// Every descriptor is validated before the device sees it (op, length, IOVA
// inside the shim's buffer area, LBA range); a bad one completes with kInvalid
// on the next reap(). All device memory the driver needs lives in the driver
// area of the DMA region (see nvme_dma_layout.h). After each batch of submits
// and each reap the driver commits a checkpoint (nvme_checkpoint.h) before it
// writes the doorbells, so the checkpoint always knows every command the
// controller may know.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "abi/block_descriptor.h"
#include "abi/checkpoint.h"
#include "abi/control_block.h"
#include "common/result.h"
#include "drivers/fault_points.h"
#include "drivers/nvme/nvme_admin_queue.h"
#include "drivers/nvme/nvme_checkpoint.h"
#include "drivers/nvme/nvme_dma_layout.h"
#include "drivers/nvme/nvme_io_queue.h"
#include "uio/uio_device.h"

namespace uldd::drivers {

// Counters the driver keeps privately and publishes to DriverStatus.
struct NvmeDriverStats {
  uint64_t interrupts = 0;
  uint64_t doorbells = 0;          // SQ tail and CQ head doorbell writes
  uint64_t batches = 0;            // ring_doorbells() calls that had commands to send
  uint64_t device_errors = 0;      // error completions + stray CQEs + bad SQ heads
  uint64_t rejected = 0;           // descriptors refused (kInvalid) or over capacity
  uint64_t stray_completions = 0;  // CQEs for an idle/unknown cid (part of device_errors)
  uint64_t submitted = 0;          // commands sent to the device
  uint64_t completed = 0;          // completions returned by reap() (including kInvalid)
  uint64_t adopted = 0;            // warm resume: commands taken over from the predecessor
  uint64_t resubmitted = 0;        // warm resume: flagged requests the device never saw
};

class NvmeDriver {
 public:
  // Checks `cfg` against dev's DMA region (check_driver_config) and prepares,
  // without touching the device. `cb` (DriverStatus counters) and `ckpt` may
  // be null; both must outlive the driver.
  static Result<std::unique_ptr<NvmeDriver>> create(uio::UioDevice& dev,
                                                    const abi::DriverConfig& cfg,
                                                    abi::ControlBlock* cb,
                                                    abi::CheckpointRegion* ckpt);

  NvmeDriver(const NvmeDriver&) = delete;
  NvmeDriver& operator=(const NvmeDriver&) = delete;

  // Resets the controller and brings it up: admin queues, Identify, queue
  // count, interrupt coalescing, I/O queue pairs. Blocks (bounded by CAP.TO).
  // This is the cold start (abi::ResumeMode::kCold).
  Status bring_up();

  // Warm start (abi::ResumeMode::kWarm, nvme_driver_adopt.cc): takes over a
  // running controller from the newest valid checkpoint without resetting
  // it. Refuses (returns an error, device untouched) unless the checkpoint's
  // checksum, epoch order and contents agree with the DriverConfig and the
  // controller registers (enabled, ready, no fatal status, admin queues where
  // the layout puts them). Then expects exactly `adopt_count` requests
  // flagged kBlockFlagAdopt from the shim: each one that names a command the
  // checkpoint shows in the device is adopted, every other one is submitted
  // afresh; device completions are not harvested until all are in, so each
  // completion can be echoed with the shim's own descriptor.
  Status adopt(uint32_t adopt_count);
  // After adopt(): ok while the adoption is consistent; an error once all
  // adopt_count requests arrived and the checkpoint still lists a command the
  // shim does not have outstanding (the checkpoint was stale or forged: only
  // a reset makes the device safe, so the driver must stop).
  Status adoption_status() const { return adoption_error_; }
  // Ok unless a command built for a request failed its check against that
  // request (nvme_command_check.h); then ring_doorbells() rings nothing and
  // the driver must stop: the supervisor restarts it, the shim resends.
  Status command_status() const { return command_error_; }
  bool adopting() const { return adopt_remaining_ > 0; }

  // Requests submit() can take now (commands the device queues have room for).
  uint32_t free_slots() const;
  // Validates `d` and queues its command (doorbell deferred to
  // ring_doorbells()). Invalid descriptors complete with kInvalid on the next
  // reap(); so does (with kIoError) a valid one submitted beyond free_slots().
  void submit(const abi::BlockDescriptor& d);
  // Commits the checkpoint and writes one SQ tail doorbell per queue that got
  // commands since the last call.
  void ring_doorbells();
  // Fills `out` with completions (pending rejects first, then CQEs), commits
  // the checkpoint and writes each advanced CQ head doorbell once. Returns the
  // count; fewer than out.size() means nothing more was ready.
  size_t reap(std::span<abi::BlockDescriptor> out);

  // Interrupt line: readable when the controller interrupts.
  int irq_fd() const;
  // Takes the pending interrupt notification and re-enables the line. Call
  // before reap(), so an interrupt for entries posted after the reap is not
  // consumed by it.
  Status on_interrupt();

  // Normal shutdown notification (CC.SHN = 01b), waits for SHST complete.
  Status shutdown();
  // Reads CSTS: an error if the controller reports fatal status or is gone.
  Status check_controller() const;

  uint64_t namespace_bytes() const { return namespace_bytes_; }
  // Commands in the device plus completions waiting for reap().
  uint32_t outstanding() const;
  const NvmeDriverStats& stats() const { return stats_; }
  const NvmeDmaLayout& layout() const { return layout_; }
  uint64_t checkpoint_epoch() const { return epoch_; }
  // Armed fault points (drivers/fault_points.h): the loop refreshes them per
  // batch; submit_now() (wrong-iova) and ring_doorbells() (skip-doorbell) check.
  FaultPoints& fault_points() { return faults_; }

 private:
  NvmeDriver(uio::UioDevice& dev, const abi::DriverConfig& cfg, abi::ControlBlock* cb,
             abi::CheckpointRegion* ckpt);

  bool validate(const abi::BlockDescriptor& d) const;
  void reject(const abi::BlockDescriptor& d, abi::BlockStatus status);
  Status wait_ready(bool ready, const char* what) const;
  Status check_contiguous(uint64_t iova, uint64_t len, const char* what) const;
  Status identify();
  Status set_features();
  Status create_io_queues();
  void commit_checkpoint();
  void publish_stats();
  Status check_adoptable_registers();
  Status load_checkpoint(NvmeCheckpoint* out) const;
  Status check_checkpoint(const NvmeCheckpoint& c) const;
  void take_adopt_request(const abi::BlockDescriptor& d);
  void finish_adoption();
  void submit_deferred();
  void submit_now(const abi::BlockDescriptor& d);

  uio::UioDevice& dev_;
  abi::DriverConfig cfg_;
  abi::ControlBlock* cb_;
  abi::CheckpointRegion* ckpt_;
  NvmeDmaLayout layout_;

  uint32_t dstrd_ = 0;
  std::chrono::milliseconds timeout_{500};
  uint64_t namespace_bytes_ = 0;
  uint64_t namespace_sectors_ = 0;
  bool up_ = false;

  NvmeAdminQueue admin_;
  std::vector<NvmeIoQueue> queues_;
  uint32_t cursor_ = 0;                        // queue that takes this batch's commands
  uint32_t reap_cursor_ = 0;                   // queue reap() looks at first (fairness)
  std::vector<abi::BlockDescriptor> pending_;  // rejected, completed on next reap()
  size_t pending_taken_ = 0;

  std::unique_ptr<NvmeCheckpoint> shadow_;
  uint64_t epoch_ = 0;
  uint32_t next_slot_ = 0;

  NvmeDriverStats stats_;
  FaultPoints faults_;
  NvmeQueueCounters queue_counters_;

  // Warm resume (nvme_driver_adopt.cc).
  uint32_t adopt_remaining_ = 0;                // flagged requests still to come
  uint32_t orphans_ = 0;                        // commands in the device without a descriptor
  std::vector<abi::BlockDescriptor> deferred_;  // flagged requests unknown to the device
  size_t deferred_taken_ = 0;
  Status adoption_error_;
  Status command_error_;  // first command that failed check_io_command()
};

}  // namespace uldd::drivers
