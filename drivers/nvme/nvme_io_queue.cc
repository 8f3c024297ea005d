#include "drivers/nvme/nvme_io_queue.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "drivers/nvme/nvme_completion.h"

namespace uldd::drivers {

NvmeIoQueue::NvmeIoQueue(uio::UioDevice* dev, const Geometry& g, NvmeCheckpoint* shadow,
                         uint16_t cid_base)
    : dev_(dev),
      g_(g),
      sq_(dev->dma().at<nvme::SubmissionEntry>(g.sq_iova)),
      cq_(dev->dma().at<nvme::CompletionEntry>(g.cq_iova)),
      sq_doorbell_(nvme::sq_tail_doorbell(g.qid, g.dstrd)),
      cq_doorbell_(nvme::cq_head_doorbell(g.qid, g.dstrd)),
      shadow_(shadow),
      cid_base_(cid_base),
      cids_(g.cid_count) {
  // Pop from the back: cid 0 is handed out first (easier to read in traces).
  free_cids_.reserve(g.cid_count);
  for (uint32_t c = g.cid_count; c-- > 0;) free_cids_.push_back(static_cast<uint16_t>(c));
}

uint32_t NvmeIoQueue::free_capacity() const {
  uint32_t sq_used = (sq_tail_ + g_.depth - sq_head_) % g_.depth;
  uint32_t sq_free = g_.depth - 1 - sq_used;
  return std::min(static_cast<uint32_t>(free_cids_.size()), sq_free);
}

void NvmeIoQueue::set_busy_bit(uint16_t cid, bool busy) {
  uint32_t i = uint32_t{cid_base_} + cid;
  uint32_t bit = 1u << (i % 32);
  if (busy) {
    shadow_->busy[i / 32] |= bit;
  } else {
    shadow_->busy[i / 32] &= ~bit;
  }
}

uint16_t NvmeIoQueue::allocate_cid(const abi::BlockDescriptor& d) {
  uint16_t cid = free_cids_.back();
  free_cids_.pop_back();
  cids_[cid].desc = d;
  cids_[cid].busy = true;
  shadow_->tags[cid_base_ + cid] = d.tag;
  set_busy_bit(cid, true);
  ++inflight_;
  return cid;
}

nvme::SubmissionEntry& NvmeIoQueue::push(const nvme::SubmissionEntry& sqe) {
  nvme::SubmissionEntry& slot = sq_[sq_tail_];
  std::memcpy(&slot, &sqe, sizeof sqe);
  sq_tail_ = (sq_tail_ + 1) % g_.depth;
  sq_dirty_ = true;
  return slot;
}

bool NvmeIoQueue::ring_sq_doorbell() {
  if (!sq_dirty_) return false;
  sq_dirty_ = false;
  // SQEs and PRP lists are plain stores to DMA memory; they must be visible
  // before the controller can see the new tail.
  std::atomic_thread_fence(std::memory_order_release);
  dev_->write32(sq_doorbell_, sq_tail_);
  return true;
}

size_t NvmeIoQueue::harvest(std::span<abi::BlockDescriptor> out, NvmeQueueCounters* counters) {
  size_t n = 0;
  nvme::CompletionEntry c;
  while (n < out.size() && take_completion(&cq_[cq_head_], cq_phase_, &c)) {
    if (++cq_head_ == g_.depth) {
      cq_head_ = 0;
      cq_phase_ ^= 1;
    }
    cq_dirty_ = true;
    // The controller's SQ head frees SQ slots; believe it only if it lies
    // between our last known head and our tail.
    uint32_t advance = (c.sq_head + g_.depth - sq_head_) % g_.depth;
    uint32_t pending = (sq_tail_ + g_.depth - sq_head_) % g_.depth;
    if (c.sq_head < g_.depth && advance <= pending) {
      // The controller has fetched the entries it passed: zero them, so a
      // wrong SQ tail doorbell later makes it fetch zeros (opcode 00h Flush
      // with NSID 0: Invalid Namespace), never a stale read or write again.
      for (; sq_head_ != c.sq_head; sq_head_ = (sq_head_ + 1) % g_.depth)
        std::memset(static_cast<void*>(&sq_[sq_head_]), 0, sizeof(nvme::SubmissionEntry));
    } else {
      ++counters->bad_sq_head;
    }
    if (c.sq_id != g_.qid || c.cid >= cids_.size() || !cids_[c.cid].busy || cids_[c.cid].orphan) {
      ++counters->stray;
      continue;
    }
    CidEntry& e = cids_[c.cid];
    e.busy = false;
    set_busy_bit(c.cid, false);
    free_cids_.push_back(c.cid);
    --inflight_;
    abi::BlockDescriptor d = e.desc;
    abi::BlockStatus s = block_status(c.status);
    if (s != abi::BlockStatus::kOk) ++counters->device_errors;
    d.status = static_cast<uint16_t>(s);
    d.flags = completion_flags(c.status);
    out[n++] = d;
  }
  return n;
}

bool NvmeIoQueue::ring_cq_doorbell() {
  if (!cq_dirty_) return false;
  cq_dirty_ = false;
  // Lazy: the controller needs a new CQ head only to post into slots it would
  // otherwise find full, and we never let that happen (at most depth - 1
  // commands in flight, so every completion fits). The model takes the head at
  // its next wake-up (our next SQ doorbell), which saves it one wake-up per
  // reap.
  dev_->write32_lazy(cq_doorbell_, cq_head_);
  return true;
}

uint32_t NvmeIoQueue::restore(const NvmeCheckpointQueue& q) {
  sq_tail_ = q.sq_tail;
  sq_head_ = q.sq_head;
  cq_head_ = q.cq_head;
  cq_phase_ = q.cq_phase;
  inflight_ = 0;
  free_cids_.clear();
  for (uint32_t c = g_.cid_count; c-- > 0;) {
    uint32_t i = uint32_t{cid_base_} + c;
    bool busy = (shadow_->busy[i / 32] >> (i % 32)) & 1u;
    cids_[c] = CidEntry{};
    if (busy) {
      cids_[c].busy = true;
      cids_[c].orphan = true;
      cids_[c].desc.tag = shadow_->tags[i];
      ++inflight_;
    } else {
      free_cids_.push_back(static_cast<uint16_t>(c));
    }
  }
  // Entries between the checkpointed head and tail may not have been rung
  // yet: the next ring_sq_doorbell() writes the tail again (idempotent).
  sq_dirty_ = true;
  cq_dirty_ = true;
  return inflight_;
}

void NvmeIoQueue::adopt(uint16_t cid, const abi::BlockDescriptor& d) {
  cids_[cid].desc = d;
  cids_[cid].orphan = false;
}

void NvmeIoQueue::snapshot(NvmeCheckpointQueue* q) const {
  q->qid = g_.qid;
  q->cid_count = static_cast<uint16_t>(g_.cid_count);
  q->cid_base = cid_base_;
  q->sq_tail = static_cast<uint16_t>(sq_tail_);
  q->sq_head = static_cast<uint16_t>(sq_head_);
  q->cq_head = static_cast<uint16_t>(cq_head_);
  q->cq_phase = static_cast<uint8_t>(cq_phase_);
  q->reserved0 = 0;
  q->inflight = static_cast<uint16_t>(inflight_);
}

}  // namespace uldd::drivers
