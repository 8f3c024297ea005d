// NvmeController: registers, the CC/CSTS state machine, doorbells, the queue
// loop and interrupts. Admin and NVM commands are in nvme_controller_admin.cc
// and nvme_controller_io.cc.
#include "devices/nvme/nvme_controller.h"

#include <algorithm>
#include <atomic>

#include "uio/emulated_uio.h"

namespace uldd::nvme {
namespace {

// CAP.TO in 500 ms units: the time a driver should allow for CSTS.RDY. The
// model is ready within one poll; 2 s leaves room for a loaded machine.
constexpr uint8_t kReadyTimeout = 4;
constexpr uint32_t kShstMask = 3u << 2;  // CSTS.SHST, §3.1.6
// Commands fetched from one SQ before the next SQ gets its turn (round robin,
// §4.13.1), so a busy queue cannot starve the others or the admin queue.
constexpr int kBurst = 32;

}  // namespace

Result<std::unique_ptr<NvmeController>> NvmeController::create(std::span<std::byte> bar,
                                                               std::span<std::byte> dma,
                                                               BackingStore& store,
                                                               InterruptSink irq,
                                                               NvmeControllerConfig config) {
  if (bar.size() < kMinBarSize)
    return plain_error("NVMe model: BAR0 is " + std::to_string(bar.size()) +
                       " bytes, needs at least " + std::to_string(kMinBarSize));
  if (dma.empty()) return plain_error("NVMe model: empty DMA region");
  if (config.lba_shift != 9 && config.lba_shift != 12)
    return plain_error("NVMe model: block size must be 512 or 4096 bytes");
  uint64_t block = uint64_t{1} << config.lba_shift;
  if (store.size() == 0 || store.size() % block != 0)
    return plain_error("NVMe model: media size " + std::to_string(store.size()) +
                       " is not a non-zero multiple of the block size " + std::to_string(block));
  if (!irq) return plain_error("NVMe model: no interrupt sink");
  return std::unique_ptr<NvmeController>(
      new NvmeController(bar, dma, store, std::move(irq), std::move(config)));
}

NvmeController::NvmeController(std::span<std::byte> bar, std::span<std::byte> dma,
                               BackingStore& store, InterruptSink irq, NvmeControllerConfig config)
    : bar_(bar),
      dma_(dma),
      store_(store),
      irq_(std::move(irq)),
      config_(std::move(config)),
      blocks_(store.size() >> config_.lba_shift),
      faults_(config_.device_faults),
      prp_(dma) {
  power_on_reset();
}

// --- Registers ---------------------------------------------------------------

uint32_t NvmeController::reg(size_t offset) const {
  return uio::load_register(bar_.data(), offset);
}

void NvmeController::set_reg(size_t offset, uint32_t value) {
  uio::store_register(bar_.data(), offset, value);
}

uint64_t NvmeController::reg64(size_t offset) const {
  return uint64_t{reg(offset)} | (uint64_t{reg(offset + 4)} << 32);
}

void NvmeController::set_csts(uint32_t value) {
  csts_ = value;
  set_reg(kRegCsts, value);
}

void NvmeController::set_fatal(const char* reason) {
  if (fatal_reason_ == nullptr) fatal_reason_ = reason;
  set_csts(csts_ | csts::kFatal);
}

void NvmeController::power_on_reset() {
  uint64_t cap = cap::make(kMaxQueueEntries - 1, /*cqr=*/true, kReadyTimeout, /*dstrd=*/0);
  set_reg(kRegCap, static_cast<uint32_t>(cap));
  set_reg(kRegCap + 4, static_cast<uint32_t>(cap >> 32));
  set_reg(kRegVs, kVersion14);
  set_reg(kRegCc, 0);
  cc_ = 0;
  controller_reset();
}

void NvmeController::controller_reset() {
  // §7.3.2: a controller reset deletes every I/O queue, resets the admin
  // queue, aborts what was outstanding and returns features to defaults.
  for (uint16_t q = 0; q <= kMaxIoQueuePairs; ++q) {
    sqs_[q] = SubmissionQueue{};
    cqs_[q].close();
    set_reg(sq_tail_doorbell(q), 0);
    set_reg(cq_head_doorbell(q), 0);
  }
  set_reg(kRegIntms, 0);
  set_reg(kRegIntmc, 0);
  interrupt_mask_ = 0;
  pending_vectors_ = 0;
  aer_outstanding_ = false;
  features_ = Features{};
  fatal_reason_ = nullptr;
  set_csts(0);
  faults_.end_hang();  // device-hang holds until the driver resets the controller
}

void NvmeController::handle_cc() {
  uint32_t cc = reg(kRegCc);
  if (cc == cc_) return;
  uint32_t old = cc_;
  cc_ = cc;
  bool was_enabled = (old & cc::kEnable) != 0;
  bool enabled = (cc & cc::kEnable) != 0;
  if (was_enabled && !enabled) {
    controller_reset();
  } else if (!was_enabled && enabled) {
    enable();
  }
  // Shutdown notification, §7.6.2: make the media durable, then report
  // SHST = complete. Clearing SHN clears SHST again (as QEMU does).
  if (cc::shn(cc) != 0 && (csts_ & kShstMask) == 0) {
    if (!store_.flush().ok()) set_fatal("flush of the backing store failed during shutdown");
    set_csts((csts_ & ~kShstMask) | csts::kShutdownComplete);
  } else if (cc::shn(cc) == 0 && cc::shn(old) != 0) {
    set_csts(csts_ & ~kShstMask);
  }
}

bool NvmeController::queue_memory(uint64_t iova, uint32_t entries, size_t entry_size,
                                  std::byte** out) const {
  uint64_t bytes = uint64_t{entries} * entry_size;
  // Queues must be page aligned (CAP.CQR = 1: physically contiguous, PRP1
  // offset 0) and lie wholly inside the DMA region.
  if ((iova & (kPageSize - 1)) != 0) return false;
  if (iova > dma_.size() || bytes > dma_.size() - iova) return false;
  *out = dma_.data() + iova;
  return true;
}

void NvmeController::enable() {
  // §7.6.1: the admin queue comes from AQA/ASQ/ACQ as they are at CC.EN 0 -> 1.
  // A configuration the controller cannot run with is fatal: there is no
  // queue yet through which an error could be reported.
  if (cc::css(cc_) != 0) return set_fatal("CC.CSS selects an unsupported command set");
  if (cc::mps(cc_) != 0) return set_fatal("CC.MPS is outside CAP.MPSMIN..MPSMAX");
  uint32_t aqa = reg(kRegAqa);
  uint32_t sq_entries = aqa::asqs(aqa) + 1;
  uint32_t cq_entries = aqa::acqs(aqa) + 1;
  if (sq_entries < 2 || cq_entries < 2) return set_fatal("AQA: admin queue smaller than 2");
  std::byte* sq_base = nullptr;
  std::byte* cq_base = nullptr;
  if (!queue_memory(reg64(kRegAsq), sq_entries, sizeof(SubmissionEntry), &sq_base))
    return set_fatal("ASQ: unaligned or outside the DMA region");
  if (!queue_memory(reg64(kRegAcq), cq_entries, sizeof(CompletionEntry), &cq_base))
    return set_fatal("ACQ: unaligned or outside the DMA region");
  sqs_[0] = SubmissionQueue{true, 0, 0, sq_base, sq_entries, 0, 0};
  cqs_[0].open(0, cq_base, cq_entries, /*irq_enabled=*/true, /*vector=*/0);
  set_csts(csts::kReady);
}

void NvmeController::handle_interrupt_masks() {
  // INTMS/INTMC are write-1-to-set/clear (§3.1.3-4). Over shared memory the
  // model takes the written bits and zeroes the register, so writing the same
  // bits twice is seen twice. Reading them back does not give the mask.
  auto take = [this](size_t offset) -> uint32_t {
    auto* p = reinterpret_cast<uint32_t*>(bar_.data() + offset);
    std::atomic_ref<uint32_t> r(*p);
    if (r.load(std::memory_order_relaxed) == 0) return 0;
    return r.exchange(0, std::memory_order_acq_rel);
  };
  uint32_t set = take(kRegIntms);
  uint32_t clear = take(kRegIntmc);
  interrupt_mask_ = (interrupt_mask_ | set) & ~clear;
}

bool NvmeController::handle_doorbells() {
  for (uint16_t q = 0; q <= kMaxIoQueuePairs; ++q) {
    // Doorbells of queues that do not exist are ignored, as on hardware.
    if (CompletionQueue& cq = cqs_[q]; cq.active()) {
      uint32_t head = reg(cq_head_doorbell(q));
      if (head != cq.head()) {
        if (!cq.update_head(head)) {
          set_fatal("CQ head doorbell beyond the queue or past the posted entries");
          return false;
        }
        if (cq.irq_enabled() && cq.signaled_outstanding()) pending_vectors_ |= 1u << cq.vector();
      }
    }
    if (SubmissionQueue& sq = sqs_[q]; sq.active) {
      uint32_t tail = reg(sq_tail_doorbell(q));
      if (tail != sq.tail && !sq.update_tail(tail)) {
        set_fatal("SQ tail doorbell beyond the queue");
        return false;
      }
    }
  }
  return true;
}

// --- Queue loop and interrupts -------------------------------------------------

void NvmeController::poll(TimePoint now) {
  last_poll_ = now;
  faults_.refresh();
  handle_cc();  // CC.EN 1 -> 0 also ends a device-hang
  if (faults_.take_spurious()) {
    ++stats_.interrupts;  // nothing posted, nothing pending: a spurious interrupt
    irq_(1u);
  }
  if (faults_.hung()) return;  // device-hang: no doorbell, command or interrupt until reset
  if (!ready() || fatal()) return;
  handle_interrupt_masks();
  if (!handle_doorbells()) return;
  run_queues(now);
  update_interrupts(now);
}

void NvmeController::run_queues(TimePoint now) {
  bool progress = true;
  while (progress) {
    progress = false;
    for (uint16_t q = 0; q <= kMaxIoQueuePairs; ++q) {
      SubmissionQueue& sq = sqs_[q];
      for (int n = 0; n < kBurst && sq.active && !sq.empty(); ++n) {
        CompletionQueue& cq = cqs_[sq.cqid];
        if (!cq.can_accept()) break;  // back-pressure: leave the command in the SQ
        execute(sq, cq, now);
        progress = true;
      }
    }
    for (CompletionQueue& cq : cqs_) {
      if (!cq.active()) continue;
      uint32_t posted = cq.post_ready(now);
      stats_.completions += posted;
      if (posted > 0) progress = true;
    }
  }
}

void NvmeController::execute(SubmissionQueue& sq, CompletionQueue& cq, TimePoint now) {
  SubmissionEntry cmd = sq.fetch();
  ++stats_.commands;
  CompletionEntry cqe{};
  cqe.sq_head = static_cast<uint16_t>(sq.head);
  cqe.sq_id = sq.id;
  cqe.cid = cmd.cid;
  TimePoint ready = now;
  if (sq.id == 0) {
    AdminResult r = execute_admin(cmd);
    if (!r.complete) return;
    cqe.status = r.status;
    cqe.dw0 = r.dw0;
  } else {
    uint32_t arg = 0;
    if (faults_.fire(abi::DeviceFault::kFailedCommand, &arg))
      cqe.status = status::make(static_cast<uint8_t>((arg >> 8) & 7), static_cast<uint8_t>(arg));
    else
      cqe.status = execute_io(cmd);
    ready += config_.io_latency;
    if (faults_.fire(abi::DeviceFault::kDelayedCommand, &arg))
      ready += std::chrono::milliseconds(arg);
    if (config_.max_iops > 0) {
      // IOPS model: the media serves one command per 1/max_iops seconds, so
      // completions are spaced at least that far apart (a queue builds up
      // behind a slow device as it would behind a real one).
      ready = std::max(ready, next_io_completion_);
      next_io_completion_ = ready + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::nanoseconds(1'000'000'000 / config_.max_iops));
    }
  }
  if (cqe.status != 0) ++stats_.errors;
  cq.enqueue(cqe, ready);
}

Coalescing NvmeController::coalescing_for(const CompletionQueue& cq) const {
  // §5.21.1.8: coalescing applies to I/O completion queues only.
  if (cq.id() == 0) return Coalescing{};
  return Coalescing{(features_.coalescing & 0xFFu) + 1u,
                    std::chrono::microseconds{100 * ((features_.coalescing >> 8) & 0xFFu)}};
}

void NvmeController::update_interrupts(TimePoint now) {
  for (CompletionQueue& cq : cqs_) {
    if (cq.active() && cq.interrupt_due(now, coalescing_for(cq))) {
      pending_vectors_ |= 1u << cq.vector();
      cq.mark_signaled();
    }
  }
  // A masked vector stays pending and fires when INTMC unmasks it.
  uint32_t fire = pending_vectors_ & ~interrupt_mask_;
  if (fire == 0) return;
  pending_vectors_ &= ~fire;
  // lost-interrupt: the entries are posted, the interrupt for them never comes.
  if (faults_.fire(abi::DeviceFault::kLostInterrupt)) return;
  ++stats_.interrupts;
  irq_(fire);
}

bool NvmeController::next_deadline(TimePoint* when) const {
  if (!ready() || fatal() || faults_.hung()) return false;
  bool any = false;
  auto consider = [&](TimePoint t) {
    if (!any || t < *when) *when = t;
    any = true;
  };
  for (const CompletionQueue& cq : cqs_) {
    if (!cq.active()) continue;
    TimePoint t;
    if (cq.next_ready(&t)) consider(t);
    if (cq.coalescing_deadline(coalescing_for(cq), &t)) consider(t);
    if (cq.stalled()) consider(last_poll_ + kStalledCqRecheck);
  }
  return any;
}

}  // namespace uldd::nvme
