// NvmeDriver, warm resume: adopting a running controller and the commands a
// dead predecessor left in it, from the checkpoint (nvme_checkpoint.h), as in
// the architecture's recovery protocol step 4. Nothing here resets or
// reconfigures the device: if anything fails to agree, adopt() returns an
// error before the first register write and the supervisor falls back to a
// cold start (reset + reissue).
//
// What is believed, and why:
//   - the checkpoint is untrusted (the dead driver wrote it, maybe while
//     being corrupted): slot checksum, epoch order and every field are checked
//     against the DriverConfig and the layout this driver computes itself;
//   - the controller registers must show the device as the layout left it:
//     enabled, ready, not fatal, admin queues at the layout's addresses;
//   - the tags of outstanding commands are only believed once the shim names
//     the same tags (kBlockFlagAdopt requests): a tag the shim does not have
//     outstanding means the checkpoint is stale, and the device may DMA into a
//     buffer the shim has reused, so the driver stops and the device is reset.
#include <spdlog/spdlog.h>

#include <bit>
#include <cstring>
#include <string>

#include "abi/checkpoint_reader.h"
#include "devices/nvme/nvme_spec.h"
#include "drivers/nvme/nvme_driver.h"

namespace uldd::drivers {
namespace {

constexpr uint32_t kSqEntryLog2 = 6;
constexpr uint32_t kCqEntryLog2 = 4;

std::string hex(uint64_t v) { return fmt::format("{:#x}", v); }

}  // namespace

Status NvmeDriver::check_adoptable_registers() {
  uint64_t cap = dev_.read64(nvme::kRegCap);
  if (cap == ~uint64_t{0}) return plain_error("warm resume: CAP reads all ones (device gone)");
  dstrd_ = static_cast<uint32_t>(nvme::cap::dstrd(cap));
  timeout_ = std::chrono::milliseconds(500 * std::max<uint64_t>(1, nvme::cap::to(cap)));
  ULDD_TRY(check_controller());
  uint32_t cc = dev_.read32(nvme::kRegCc);
  uint32_t want_cc = nvme::cc::make(0, kSqEntryLog2, kCqEntryLog2);
  if (cc != want_cc)
    return plain_error("warm resume: CC is " + hex(cc) + ", the layout programs " + hex(want_cc));
  uint32_t aqa = dev_.read32(nvme::kRegAqa);
  if (aqa != nvme::aqa::make(kAdminQueueDepth, kAdminQueueDepth))
    return plain_error("warm resume: AQA is " + hex(aqa) + ", not the layout's admin queue depth");
  uint64_t asq = dev_.read64(nvme::kRegAsq);
  uint64_t acq = dev_.read64(nvme::kRegAcq);
  if (asq != dev_.dma().device_address(layout_.admin_sq_offset) ||
      acq != dev_.dma().device_address(layout_.admin_cq_offset))
    return plain_error("warm resume: ASQ/ACQ (" + hex(asq) + "/" + hex(acq) +
                       ") are not where the layout puts the admin queues");
  return {};
}

Status NvmeDriver::load_checkpoint(NvmeCheckpoint* out) const {
  if (ckpt_ == nullptr) return plain_error("warm resume: no checkpoint region");
  auto size = abi::read_newest_checkpoint(*ckpt_, abi::kCheckpointClassNvme,
                                          offsetof(NvmeCheckpoint, tags), sizeof(NvmeCheckpoint),
                                          out);
  if (!size) return size.error();
  if (nvme_checkpoint_size(out->cid_total) != size.value())
    return plain_error("warm resume: checkpoint payload size does not match its cid count");
  return {};
}

Status NvmeDriver::check_checkpoint(const NvmeCheckpoint& c) const {
  auto bad = [](const std::string& what) { return plain_error("warm resume: checkpoint " + what); };
  if (c.version != kNvmeCheckpointVersion) return bad("version " + std::to_string(c.version));
  if (c.queue_count != layout_.queue_count || c.queue_depth != layout_.queue_depth)
    return bad("geometry " + std::to_string(c.queue_count) + "x" + std::to_string(c.queue_depth) +
               " differs from the configured " + std::to_string(layout_.queue_count) + "x" +
               std::to_string(layout_.queue_depth));
  if (c.cid_total != layout_.queue_count * layout_.cids_per_queue)
    return bad("cid count " + std::to_string(c.cid_total));
  if (c.max_transfer != cfg_.max_transfer) return bad("max_transfer differs from the config");
  if (c.namespace_bytes < cfg_.device_bytes || c.namespace_bytes % abi::kSectorSize != 0)
    return bad("namespace size " + std::to_string(c.namespace_bytes));
  for (uint32_t i = 0; i < c.queue_count; ++i) {
    const NvmeCheckpointQueue& q = c.queues[i];
    std::string name = "queue " + std::to_string(i) + ": ";
    if (q.qid != i + 1 || q.cid_count != layout_.cids_per_queue ||
        q.cid_base != i * layout_.cids_per_queue)
      return bad(name + "identity does not match the layout");
    if (q.sq_tail >= c.queue_depth || q.sq_head >= c.queue_depth || q.cq_head >= c.queue_depth ||
        q.cq_phase > 1)
      return bad(name + "index out of range");
    uint32_t busy = 0;
    for (uint32_t cid = 0; cid < q.cid_count; ++cid) {
      uint32_t b = q.cid_base + cid;
      busy += (c.busy[b / 32] >> (b % 32)) & 1u;
    }
    if (busy != q.inflight) return bad(name + "in-flight count disagrees with the busy map");
    uint32_t queued = (q.sq_tail + c.queue_depth - q.sq_head) % c.queue_depth;
    if (queued > q.inflight) return bad(name + "more SQ entries than commands in flight");
  }
  return {};
}

Status NvmeDriver::adopt(uint32_t adopt_count) {
  up_ = false;
  ULDD_TRY(check_adoptable_registers());
  auto image = std::make_unique<NvmeCheckpoint>();
  ULDD_TRY(load_checkpoint(image.get()));
  ULDD_TRY(check_checkpoint(*image));

  // Believed: rebuild the queues exactly as bring_up() would have, with the
  // indices and cid map of the checkpoint.
  std::memcpy(shadow_.get(), image.get(), sizeof(NvmeCheckpoint));
  namespace_bytes_ = image->namespace_bytes;
  namespace_sectors_ = namespace_bytes_ / abi::kSectorSize;
  queues_.clear();
  queues_.reserve(layout_.queue_count);
  orphans_ = 0;
  for (uint32_t q = 0; q < layout_.queue_count; ++q) {
    NvmeIoQueue::Geometry g{static_cast<uint16_t>(q + 1), cfg_.io_queue_depth,
                            layout_.cids_per_queue,     layout_.io_sq_offset[q],
                            layout_.io_cq_offset[q],    dstrd_};
    queues_.emplace_back(&dev_, g, shadow_.get(), static_cast<uint16_t>(q * layout_.cids_per_queue));
    orphans_ += queues_.back().restore(image->queues[q]);
  }
  adopt_remaining_ = adopt_count;
  deferred_.clear();
  deferred_taken_ = 0;
  adoption_error_ = {};
  up_ = true;
  spdlog::info("nvme: warm resume from checkpoint: {} command(s) in the device, {} request(s) to adopt",
               orphans_, adopt_count);
  // Re-ring every SQ tail: commands the predecessor queued and checkpointed
  // but did not ring yet reach the device now (same value again is harmless).
  ring_doorbells();
  if (adopt_remaining_ == 0) finish_adoption();
  publish_stats();
  return {};
}

void NvmeDriver::take_adopt_request(const abi::BlockDescriptor& request) {
  --adopt_remaining_;
  abi::BlockDescriptor d = request;
  bool flagged = (d.flags & abi::kBlockFlagAdopt) != 0;
  d.flags = 0;
  if (flagged) {
    for (NvmeIoQueue& q : queues_) {
      for (uint32_t cid = 0; cid < q.cid_count(); ++cid) {
        if (!q.awaiting_adoption(static_cast<uint16_t>(cid)) || q.tag_of(static_cast<uint16_t>(cid)) != d.tag)
          continue;
        if (!validate(d)) {
          // The device has a command for this tag but the shim's request is
          // not one we would have sent: nothing safe to echo.
          adoption_error_ = plain_error("warm resume: adopted request tag " + hex(d.tag) + " does not validate");
          break;
        }
        q.adopt(static_cast<uint16_t>(cid), d);
        --orphans_;
        ++stats_.adopted;
        if (adopt_remaining_ == 0) finish_adoption();
        return;
      }
    }
  }
  // The device never saw it (the predecessor took it from the ring but died
  // before checkpointing the command, or completed it but died before
  // posting the completion): it runs again once adoption is complete.
  deferred_.push_back(d);
  ++stats_.resubmitted;
  if (adopt_remaining_ == 0) finish_adoption();
}

void NvmeDriver::finish_adoption() {
  if (!adoption_error_) return;  // already refused
  if (orphans_ > 0) {
    for (NvmeIoQueue& q : queues_)
      for (uint32_t cid = 0; cid < q.cid_count(); ++cid)
        if (q.awaiting_adoption(static_cast<uint16_t>(cid))) {
          adoption_error_ = plain_error(
              "warm resume: the checkpoint lists command tag " + hex(q.tag_of(static_cast<uint16_t>(cid))) +
              " in the device but the shim has no such request outstanding (stale checkpoint); "
              "the device must be reset");
          return;
        }
  }
  spdlog::info("nvme: adoption complete: {} adopted, {} to resubmit", stats_.adopted, stats_.resubmitted);
  submit_deferred();
}

void NvmeDriver::submit_deferred() {
  uint32_t room = 0;
  for (const NvmeIoQueue& q : queues_) room += q.free_capacity();
  while (room > 0 && deferred_taken_ < deferred_.size()) {
    submit_now(deferred_[deferred_taken_++]);
    --room;
  }
  if (deferred_taken_ == deferred_.size()) {
    deferred_.clear();
    deferred_taken_ = 0;
  }
}

}  // namespace uldd::drivers
