// NvmeIoQueue: one I/O submission/completion queue pair (same qid for both)
// and its command-id table. The table maps a cid (its index, 0..cid_count-1)
// to the shim's descriptor, so a completion can be echoed back and a CQE that
// names an idle or unknown cid is recognised as stray instead of completing
// somebody else's request.
//
// At most cid_count <= depth - 1 commands are outstanding, so the CQ can never
// overflow (a CQ of depth entries holds depth - 1, §4.1) and the SQ never
// fills. Doorbells are not written here per command: the owner rings the SQ
// tail once per batch and the CQ head once per reap.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "abi/block_descriptor.h"
#include "devices/nvme/nvme_spec.h"
#include "drivers/nvme/nvme_checkpoint.h"
#include "uio/uio_device.h"

namespace uldd::drivers {

struct NvmeQueueCounters {
  uint64_t device_errors = 0;  // completions with an error status
  uint64_t stray = 0;          // CQEs for an idle/unknown cid or another SQ
  uint64_t bad_sq_head = 0;    // CQEs whose SQ head is outside [head, tail]
};

class NvmeIoQueue {
 public:
  struct Geometry {
    uint16_t qid;
    uint32_t depth;
    uint32_t cid_count;
    uint64_t sq_iova;
    uint64_t cq_iova;
    uint32_t dstrd;
  };

  // `shadow` is the driver's private checkpoint image; the queue keeps its
  // cid -> tag entries (starting at `cid_base`) up to date there.
  NvmeIoQueue(uio::UioDevice* dev, const Geometry& g, NvmeCheckpoint* shadow, uint16_t cid_base);

  // Commands that can be pushed now.
  uint32_t free_capacity() const;
  uint32_t inflight() const { return inflight_; }
  uint16_t qid() const { return g_.qid; }
  bool sq_dirty() const { return sq_dirty_; }  // pushed since the last SQ doorbell
  bool cq_dirty() const { return cq_dirty_; }  // harvested since the last CQ doorbell

  // Takes a free cid for `d`; the caller builds the SQE (PRP list of this
  // cid) and hands it to push(). Requires free_capacity() > 0.
  uint16_t allocate_cid(const abi::BlockDescriptor& d);
  // Copies `sqe` into the SQ at the tail (the doorbell waits for ring());
  // returns the slot, as the controller will read it.
  nvme::SubmissionEntry& push(const nvme::SubmissionEntry& sqe);

  // Writes the SQ tail doorbell if commands were pushed since the last call;
  // returns whether it did.
  bool ring_sq_doorbell();

  // Harvests new CQEs into `out` (stops when `out` is full); returns the count.
  size_t harvest(std::span<abi::BlockDescriptor> out, NvmeQueueCounters* counters);
  // Writes the CQ head doorbell if harvest() consumed entries; returns whether it did.
  bool ring_cq_doorbell();

  // Copies the indices into a checkpoint queue record.
  void snapshot(NvmeCheckpointQueue* q) const;

  // Warm resume: takes over the indices of a validated checkpoint record and
  // marks the cids whose busy bit is set in the shadow as outstanding but
  // not yet adopted (their descriptors come back from the shim through
  // adopt()). Returns the number of such cids.
  uint32_t restore(const NvmeCheckpointQueue& q);
  // Tag of cid `cid` if it is outstanding and awaits adoption.
  bool awaiting_adoption(uint16_t cid) const { return cid < cids_.size() && cids_[cid].busy && cids_[cid].orphan; }
  uint32_t tag_of(uint16_t cid) const { return cids_[cid].desc.tag; }
  // Gives an adopted cid its descriptor back (the shim's copy of the request).
  void adopt(uint16_t cid, const abi::BlockDescriptor& d);
  uint32_t cid_count() const { return g_.cid_count; }

 private:
  struct CidEntry {
    abi::BlockDescriptor desc;
    bool busy = false;
    bool orphan = false;  // warm resume: in the device, descriptor not yet adopted
  };

  void set_busy_bit(uint16_t cid, bool busy);

  uio::UioDevice* dev_;
  Geometry g_;
  nvme::SubmissionEntry* sq_;
  nvme::CompletionEntry* cq_;
  size_t sq_doorbell_;
  size_t cq_doorbell_;
  NvmeCheckpoint* shadow_;
  uint16_t cid_base_;

  uint32_t sq_tail_ = 0;
  uint32_t sq_head_ = 0;
  uint32_t cq_head_ = 0;
  uint16_t cq_phase_ = 1;  // §7.4.1: the first pass over a zeroed CQ posts phase 1
  uint32_t inflight_ = 0;
  bool sq_dirty_ = false;
  bool cq_dirty_ = false;
  std::vector<CidEntry> cids_;
  std::vector<uint16_t> free_cids_;
};

}  // namespace uldd::drivers
