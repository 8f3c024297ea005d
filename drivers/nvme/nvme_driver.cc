// NvmeDriver, I/O side: descriptor validation, command building, batching of
// doorbells, completion harvesting, checkpoint commits and status counters.
// Controller bring-up and shutdown are in nvme_driver_bring_up.cc.
#include "drivers/nvme/nvme_driver.h"

#include <fmt/format.h>

#include <atomic>
#include <cstring>

#ifdef ULDD_NVME_CORRUPT_EVERY_NTH_READ
#include <sys/mman.h>
#endif

#include "common/crc32c.h"
#include "devices/nvme/nvme_spec.h"
#include "drivers/nvme/nvme_command_check.h"
#include "drivers/nvme/nvme_prp.h"

namespace uldd::drivers {
namespace {

constexpr uint32_t kNamespaceId = 1;

template <class T>
void store_relaxed(T& field, T value) {
  std::atomic_ref<T>(field).store(value, std::memory_order_relaxed);
}

}  // namespace

Result<std::unique_ptr<NvmeDriver>> NvmeDriver::create(uio::UioDevice& dev,
                                                       const abi::DriverConfig& cfg,
                                                       abi::ControlBlock* cb,
                                                       abi::CheckpointRegion* ckpt) {
  std::string bad = check_driver_config(cfg, dev.dma().size());
  if (!bad.empty()) return plain_error(bad);
  return std::unique_ptr<NvmeDriver>(new NvmeDriver(dev, cfg, cb, ckpt));
}

NvmeDriver::NvmeDriver(uio::UioDevice& dev, const abi::DriverConfig& cfg, abi::ControlBlock* cb,
                       abi::CheckpointRegion* ckpt)
    : dev_(dev),
      cfg_(cfg),
      cb_(cb),
      ckpt_(ckpt),
      layout_(NvmeDmaLayout::compute(cfg)),
      shadow_(std::make_unique<NvmeCheckpoint>()),
      faults_(cb) {
  pending_.reserve(64);
  if (ckpt_ != nullptr) {
    // Continue the epoch sequence of whoever wrote the region before us, and
    // overwrite the older slot first so the newest checkpoint survives until
    // ours is complete.
    uint64_t e0 = abi::load_shared(ckpt_->slots[0].epoch);
    uint64_t e1 = abi::load_shared(ckpt_->slots[1].epoch);
    epoch_ = std::max(e0, e1);
    if (epoch_ > (uint64_t{1} << 62)) epoch_ = 0;  // garbage: start over
    next_slot_ = e0 <= e1 ? 0 : 1;
  }
}

bool NvmeDriver::validate(const abi::BlockDescriptor& d) const {
  switch (static_cast<abi::BlockOp>(d.op)) {
    case abi::BlockOp::kFlush:
      return d.len == 0;
    case abi::BlockOp::kRead:
    case abi::BlockOp::kWrite:
      break;
    default:
      return false;
  }
  if (d.len == 0 || d.len % abi::kSectorSize != 0 || d.len > cfg_.max_transfer) return false;
  // Inside the shim's buffer area (never the driver area: no command may make
  // the device overwrite queues or PRP lists), dword aligned for PRP1 (§4.3).
  uint64_t dma_size = dev_.dma().size();
  if (d.iova < cfg_.dma_buffer_area_offset || d.iova > dma_size || d.len > dma_size - d.iova)
    return false;
  if (d.iova % 4 != 0) return false;
  uint64_t sectors = d.len / abi::kSectorSize;
  return d.lba < namespace_sectors_ && sectors <= namespace_sectors_ - d.lba;
}

void NvmeDriver::reject(const abi::BlockDescriptor& d, abi::BlockStatus status) {
  abi::BlockDescriptor c = d;
  c.status = static_cast<uint16_t>(status);
  pending_.push_back(c);
  ++stats_.rejected;
}

uint32_t NvmeDriver::free_slots() const {
  // While adopting, flagged requests need no device slot: either the device
  // already has the command or the request waits in deferred_.
  if (adopt_remaining_ > 0) return adopt_remaining_;
  uint32_t n = 0;
  for (const NvmeIoQueue& q : queues_) n += q.free_capacity();
  uint32_t waiting = static_cast<uint32_t>(deferred_.size() - deferred_taken_);
  return n > waiting ? n - waiting : 0;
}

uint32_t NvmeDriver::outstanding() const {
  uint32_t n = static_cast<uint32_t>(pending_.size() - pending_taken_);
  n += static_cast<uint32_t>(deferred_.size() - deferred_taken_);
  for (const NvmeIoQueue& q : queues_) n += q.inflight();
  return n;
}

void NvmeDriver::submit(const abi::BlockDescriptor& d) {
  if (adopt_remaining_ > 0) {
    take_adopt_request(d);
    return;
  }
  submit_now(d);
}

void NvmeDriver::submit_now(const abi::BlockDescriptor& d) {
  if (!up_ || !validate(d)) {
    reject(d, up_ ? abi::BlockStatus::kInvalid : abi::BlockStatus::kIoError);
    return;
  }
  // All commands of a batch go to one queue (one doorbell per batch); the
  // next queue takes over when this one is full, and ring_doorbells() moves
  // the cursor so that batches rotate over the queues.
  uint32_t qi = cursor_;
  uint32_t tried = 0;
  while (queues_[qi].free_capacity() == 0) {
    if (++tried == queues_.size()) {
      reject(d, abi::BlockStatus::kIoError);  // caller ignored free_slots()
      return;
    }
    qi = (qi + 1) % queues_.size();
  }
  cursor_ = qi;
  NvmeIoQueue& q = queues_[qi];
  uint16_t cid = q.allocate_cid(d);

  nvme::SubmissionEntry e{};
  e.cid = cid;
  e.nsid = kNamespaceId;
  if (static_cast<abi::BlockOp>(d.op) == abi::BlockOp::kFlush) {
    e.opcode = nvme::io::kFlush;
  } else {
    e.opcode =
        static_cast<abi::BlockOp>(d.op) == abi::BlockOp::kRead ? nvme::io::kRead : nvme::io::kWrite;
    PrpPair p = build_prps(dev_.dma(), d.iova, d.len, layout_.prp_list_offset(qi, cid));
    e.prp1 = p.prp1;
    e.prp2 = p.prp2;
    e.cdw10 = static_cast<uint32_t>(d.lba);        // SLBA 31:0
    e.cdw11 = static_cast<uint32_t>(d.lba >> 32);  // SLBA 63:32
    e.cdw12 = d.len / abi::kSectorSize - 1;        // NLB, 0's based (§6.9, §6.15)
  }
  // Fail-stop on a command that is not what the request asked for
  // (nvme_command_check.h), checked where the controller will read it: the
  // SQ slot after the copy (a campaign's skipped 16-byte store in that copy
  // left a quarter of the entry zero). Nothing of this batch is rung then;
  // the loop stops.
  nvme::SubmissionEntry& queued = q.push(e);
  std::string bad =
      check_io_command(queued, d, cid, kNamespaceId, dev_.dma(), layout_.prp_list_offset(qi, cid));
  if (!bad.empty()) {
    if (command_error_.ok())
      command_error_ = plain_error(fmt::format(
          "I/O queue {} command {} for request tag {} (op {}, lba {}, {} bytes): {}; stopping "
          "before the doorbell",
          q.qid(), cid, d.tag, d.op, d.lba, d.len, bad));
    return;
  }
  // Fault point: a data page just past the end of the DMA region (after the
  // check: it stands for a device-side address error, not a driver slip).
  if (e.opcode != nvme::io::kFlush && faults_.fire(abi::FaultPoint::kWrongIova))
    queued.prp1 = dev_.dma().device_address(dev_.dma().size() - 4096) + 4096;
  ++stats_.submitted;
}

void NvmeDriver::ring_doorbells() {
  if (!command_error_.ok()) return;  // never show the controller a wrong command
  bool dirty = false;
  for (const NvmeIoQueue& q : queues_) dirty = dirty || q.sq_dirty();
  if (!dirty) return;
  // Checkpoint first: after a crash it must know every command the
  // controller may have been told about.
  commit_checkpoint();
  // Fault point: the SQEs stay unissued (sq_dirty) until a later batch rings.
  if (faults_.fire(abi::FaultPoint::kSkipDoorbell)) return;
  for (NvmeIoQueue& q : queues_)
    if (q.ring_sq_doorbell()) ++stats_.doorbells;
  ++stats_.batches;
  cursor_ = (cursor_ + 1) % queues_.size();
  publish_stats();
}

size_t NvmeDriver::reap(std::span<abi::BlockDescriptor> out) {
  size_t n = 0;
  while (n < out.size() && pending_taken_ < pending_.size()) out[n++] = pending_[pending_taken_++];
  if (pending_taken_ == pending_.size()) {
    pending_.clear();
    pending_taken_ = 0;
  }
  size_t from_device = 0;
  // Until every adopted command has its descriptor back, device completions
  // stay in the CQ: they could not be echoed with the shim's descriptor.
  for (size_t i = 0; adopt_remaining_ == 0 && i < queues_.size() && n < out.size(); ++i) {
    NvmeIoQueue& q = queues_[(reap_cursor_ + i) % queues_.size()];
    size_t got = q.harvest(out.subspan(n), &queue_counters_);
    n += got;
    from_device += got;
  }
  if (!queues_.empty()) reap_cursor_ = (reap_cursor_ + 1) % queues_.size();
#ifdef ULDD_NVME_CORRUPT_EVERY_NTH_READ
  // Deliberately broken test build only (uldd-nvme-driver-corrupting, for the
  // fault campaigns' must-fail test): flips one byte, 100 bytes past the
  // middle, of every Nth successful read (len >= 512) before the shim sees it.
  static uint64_t reads_seen = 0;
  for (size_t i = n - from_device; i < n; ++i) {
    const abi::BlockDescriptor& d = out[i];
    if (d.op != static_cast<uint16_t>(abi::BlockOp::kRead) ||
        d.status != static_cast<uint16_t>(abi::BlockStatus::kOk) || d.len == 0 ||
        d.iova + d.len > dev_.dma().size())
      continue;
    if (++reads_seen % ULDD_NVME_CORRUPT_EVERY_NTH_READ == 0) {
      // The driver process maps the buffers read-only (uio_backend.h).
      std::byte* at = dev_.dma().base() + d.iova + d.len / 2 + 100;
      auto* page = reinterpret_cast<std::byte*>(reinterpret_cast<uintptr_t>(at) & ~uintptr_t{4095});
      ::mprotect(page, 4096, PROT_READ | PROT_WRITE);
      *at ^= std::byte{0xff};
    }
  }
#endif

  bool consumed = false;
  for (const NvmeIoQueue& q : queues_) consumed = consumed || q.cq_dirty();
  if (consumed) {
    // Checkpoint before the CQ head moves: the controller may reuse a CQ slot
    // only after the checkpoint stopped counting its command as in flight.
    commit_checkpoint();
    for (NvmeIoQueue& q : queues_)
      if (q.ring_cq_doorbell()) ++stats_.doorbells;
  }
  if (deferred_taken_ < deferred_.size() && consumed) {
    submit_deferred();
    ring_doorbells();
  }
  stats_.stray_completions = queue_counters_.stray;
  stats_.device_errors = queue_counters_.device_errors + queue_counters_.stray +
                         queue_counters_.bad_sq_head + admin_.stray_completions();
  stats_.completed += n;
  if (n != 0 || consumed) publish_stats();
  return n;
}

int NvmeDriver::irq_fd() const {
  return dev_.irq_fd();
}

Status NvmeDriver::on_interrupt() {
  auto taken = dev_.take_irq();
  if (!taken) return taken.error();
  stats_.interrupts += taken.value();
  ULDD_TRY(dev_.unmask_irq());
  if (cb_ != nullptr) store_relaxed(cb_->status.interrupts, stats_.interrupts);
  return {};
}

void NvmeDriver::commit_checkpoint() {
  if (ckpt_ == nullptr) return;
  for (size_t i = 0; i < queues_.size(); ++i) queues_[i].snapshot(&shadow_->queues[i]);
  uint32_t size = nvme_checkpoint_size(shadow_->cid_total);
  abi::CheckpointSlot& slot = ckpt_->slots[next_slot_];
  // Epoch 0 marks the slot unwritten while it is torn; the real epoch is
  // stored last, with release, after the checksum that covers the payload.
  abi::store_shared(slot.epoch, uint64_t{0});
  std::memcpy(slot.payload, shadow_.get(), size);
  slot.magic = abi::kCheckpointMagic;
  slot.version = abi::kAbiVersion;
  slot.payload_size = size;
  slot.device_class = abi::kCheckpointClassNvme;
  slot.checksum = crc32c(shadow_.get(), size);
  abi::store_shared(slot.epoch, ++epoch_);
  next_slot_ ^= 1;
}

void NvmeDriver::publish_stats() {
  if (cb_ == nullptr) return;
  abi::DriverStatus& s = cb_->status;
  store_relaxed(s.interrupts, stats_.interrupts);
  store_relaxed(s.doorbells, stats_.doorbells);
  store_relaxed(s.batches, stats_.batches);
  store_relaxed(s.device_errors, stats_.device_errors);
  store_relaxed(s.rejected, stats_.rejected);
}

}  // namespace uldd::drivers
