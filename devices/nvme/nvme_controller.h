// NvmeController: the device logic of uldd's emulated NVMe disk (NVMe 1.4),
// i.e. the "hardware" the user-level NVMe driver programs. It owns no memory
// and no file descriptors: it works on a BAR0 span (registers + doorbells), a
// DMA span (queues, PRP lists, data) and a BackingStore, and reports interrupts
// through a callback. uldd-hw feeds it memfd mappings and eventfds; unit tests
// feed it plain memfds and drive poll() with their own clock.
//
// Everything the driver writes (registers, queue entries, PRPs) is untrusted:
// commands with bad addresses fail with an NVMe status; register writes that a
// real controller could not survive (doorbells beyond a queue, an unusable
// admin queue configuration) set CSTS.CFS, and only a reset (CC.EN 1 -> 0)
// clears that. State survives the driver going away; only CC.EN = 0 resets it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "abi/device_fault.h"
#include "common/result.h"
#include "devices/device_fault_reader.h"
#include "devices/nvme/backing_store.h"
#include "devices/nvme/completion_queue.h"
#include "devices/nvme/nvme_spec.h"
#include "devices/nvme/prp_mapper.h"
#include "devices/nvme/submission_queue.h"

namespace uldd::nvme {

struct NvmeControllerConfig {
  std::string serial = "ULDD0001";          // Identify Controller SN
  std::string model = "uldd-hw NVMe";       // Identify Controller MN
  uint32_t lba_shift = 9;                   // logical block size 2^lba_shift (9 or 12)
  std::chrono::microseconds io_latency{0};  // added before an I/O completion is posted
  uint32_t max_iops = 0;  // I/O completions per second at most, spaced evenly; 0 = no limit
  // The supervisor's device faults (abi/device_fault.h), read at every poll();
  // null = none. Must outlive the controller.
  abi::DeviceFaultRegion* device_faults = nullptr;
};

struct NvmeControllerStats {
  uint64_t commands = 0;     // fetched from any SQ
  uint64_t completions = 0;  // CQEs written
  uint64_t errors = 0;       // commands finished with a non-zero status
  uint64_t interrupts = 0;   // interrupt sink calls
};

class NvmeController {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  // Raises interrupts: bit v of `vectors` set = vector v fires. Called at most
  // once per poll(). uldd-hw signals its one IRQ eventfd whatever the vectors.
  using InterruptSink = std::function<void(uint32_t vectors)>;

  static constexpr uint16_t kMaxIoQueuePairs = 8;
  static constexpr uint16_t kMaxQueueEntries = 4096;  // CAP.MQES = 4095
  // Registers plus the doorbells of the admin pair and 8 I/O pairs.
  static constexpr size_t kMinBarSize = cq_head_doorbell(kMaxIoQueuePairs) + 4;
  // How often CQ head doorbells are re-read while a CQ is full and completions
  // wait for it. A driver may move a CQ head without a kick (emulated UIO's
  // write32_lazy; any driver can store to the BAR without one), so a full CQ
  // must not wait for the next kick, which may never come. Only while stalled:
  // an idle or merely busy controller takes no timer.
  static constexpr std::chrono::microseconds kStalledCqRecheck{100};

  // Fails when the BAR is too small, the DMA region is empty, or the store's
  // size is not a non-zero multiple of the block size. Performs the power-on
  // reset: writes CAP/VS, clears CC, CSTS, the interrupt masks and doorbells.
  static Result<std::unique_ptr<NvmeController>> create(std::span<std::byte> bar,
                                                        std::span<std::byte> dma,
                                                        BackingStore& store, InterruptSink irq,
                                                        NvmeControllerConfig config = {});

  NvmeController(const NvmeController&) = delete;
  NvmeController& operator=(const NvmeController&) = delete;

  // Looks at every register and doorbell the driver may have written since the
  // last call (whether or not it kicked), fetches and executes the commands that arrived, posts the
  // completions that are due and raises the interrupts that are due. Call it
  // after every doorbell kick and when next_deadline() passes.
  void poll(TimePoint now);
  // When poll() has timed work to do (latency model, coalescing time, the
  // re-check of a stalled CQ's head), if any.
  bool next_deadline(TimePoint* when) const;

  // Makes all written data durable (used at exit and on shutdown).
  Status flush() { return store_.flush(); }

  uint32_t csts() const { return csts_; }
  bool ready() const { return (csts_ & csts::kReady) != 0; }
  bool fatal() const { return (csts_ & csts::kFatal) != 0; }
  // Why CSTS.CFS was set (nullptr if it was not); static text.
  const char* fatal_reason() const { return fatal_reason_; }
  uint64_t namespace_blocks() const { return blocks_; }
  const NvmeControllerStats& stats() const { return stats_; }

 private:
  // Values set by Set Features; a controller reset restores the defaults.
  struct Features {
    uint16_t io_sq_allocated = kMaxIoQueuePairs;  // Number of Queues (07h), 1's based
    uint16_t io_cq_allocated = kMaxIoQueuePairs;
    bool queues_negotiated = false;
    uint16_t coalescing = 0;  // Interrupt Coalescing (08h): THR 7:0, TIME 15:8
    bool write_cache = true;  // Volatile Write Cache (06h): WCE
  };
  // What an admin command produced. complete = false: no CQE (yet), as for an
  // Asynchronous Event Request that waits for an event.
  struct AdminResult {
    uint16_t status = 0;
    uint32_t dw0 = 0;
    bool complete = true;
  };

  NvmeController(std::span<std::byte> bar, std::span<std::byte> dma, BackingStore& store,
                 InterruptSink irq, NvmeControllerConfig config);

  // Registers (nvme_controller.cc).
  uint32_t reg(size_t offset) const;
  void set_reg(size_t offset, uint32_t value);
  uint64_t reg64(size_t offset) const;
  void set_csts(uint32_t value);
  void set_fatal(const char* reason);
  void power_on_reset();
  void controller_reset();
  void handle_cc();
  void enable();
  void handle_interrupt_masks();
  bool handle_doorbells();
  bool queue_memory(uint64_t iova, uint32_t entries, size_t entry_size, std::byte** out) const;
  void run_queues(TimePoint now);
  void execute(SubmissionQueue& sq, CompletionQueue& cq, TimePoint now);
  Coalescing coalescing_for(const CompletionQueue& cq) const;
  void update_interrupts(TimePoint now);

  // Admin command set (nvme_controller_admin.cc).
  AdminResult execute_admin(const SubmissionEntry& cmd);
  AdminResult identify(const SubmissionEntry& cmd);
  AdminResult create_cq(const SubmissionEntry& cmd);
  AdminResult create_sq(const SubmissionEntry& cmd);
  AdminResult delete_cq(const SubmissionEntry& cmd);
  AdminResult delete_sq(const SubmissionEntry& cmd);
  AdminResult set_features(const SubmissionEntry& cmd);
  AdminResult get_features(const SubmissionEntry& cmd);

  // NVM command set (nvme_controller_io.cc).
  uint16_t execute_io(const SubmissionEntry& cmd);
  uint16_t read_write(const SubmissionEntry& cmd, bool is_write);
  uint16_t flush_command(const SubmissionEntry& cmd);
  uint16_t dataset_management(const SubmissionEntry& cmd);

  std::span<std::byte> bar_;
  std::span<std::byte> dma_;
  BackingStore& store_;
  InterruptSink irq_;
  NvmeControllerConfig config_;
  uint64_t blocks_;

  uint32_t cc_ = 0;    // last CC value acted upon
  uint32_t csts_ = 0;  // what the model last wrote to CSTS
  const char* fatal_reason_ = nullptr;
  hw::DeviceFaultReader faults_;  // the supervisor's device faults (config_.device_faults)
  uint32_t interrupt_mask_ = 0;   // INTMS/INTMC state, one bit per vector
  uint32_t pending_vectors_ = 0;  // due but not yet raised (e.g. masked)
  bool aer_outstanding_ = false;  // an Asynchronous Event Request is parked
  Features features_;
  SubmissionQueue sqs_[kMaxIoQueuePairs + 1];
  CompletionQueue cqs_[kMaxIoQueuePairs + 1];
  PrpMapper prp_;
  NvmeControllerStats stats_;
  TimePoint next_io_completion_{};  // IOPS model: earliest time the next I/O may complete
  TimePoint last_poll_{};           // `now` of the latest poll(): when CQ heads were last read
  alignas(8) std::byte scratch_[kPageSize];  // Identify data and DSM range lists
};

}  // namespace uldd::nvme
