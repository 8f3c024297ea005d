// NvmeCheckpoint: the NVMe driver's payload in a CheckpointSlot
// (device_class == kCheckpointClassNvme). It records what a restarted driver
// needs to adopt a running controller without resetting it: where each I/O
// queue pair's indices stand and which shim tag each outstanding command id
// carries.
//
// The struct is written by an untrusted driver, so a reader must bound-check
// every field against the controller registers and the DriverConfig before
// believing it. Only a prefix is in use: payload_size covers the header, the
// queue array and the first `cid_total` entries of `tags` (and the crc32c in
// the slot covers exactly that prefix), which keeps a commit cheap when queues
// are shallow.
#pragma once

#include <cstddef>
#include <cstdint>

#include "abi/checkpoint.h"

namespace uldd::drivers {

inline constexpr uint32_t kMaxIoQueues = 8;
// Command ids the checkpoint can record across all I/O queues. The driver
// never has more commands outstanding than this, so the whole cid -> tag map
// always fits in one slot (8 queues x 480 cids).
inline constexpr uint32_t kMaxCheckpointCids = 3840;
inline constexpr uint32_t kNvmeCheckpointVersion = 1;

struct NvmeCheckpointQueue {
  uint16_t qid;        // I/O queue id (SQ and CQ share it)
  uint16_t cid_count;  // command ids of this queue: cids [0, cid_count)
  uint16_t cid_base;   // index in NvmeCheckpoint::tags of this queue's cid 0
  uint16_t sq_tail;    // next SQ slot the driver will fill (last doorbell value once rung)
  uint16_t sq_head;    // SQ head the controller reported in its latest CQE
  uint16_t cq_head;    // next CQ slot the driver will look at
  uint8_t cq_phase;    // phase tag that marks a new entry at cq_head
  uint8_t reserved0;
  uint16_t inflight;  // commands handed to the controller and not yet completed
};
static_assert(sizeof(NvmeCheckpointQueue) == 16);
static_assert(offsetof(NvmeCheckpointQueue, sq_tail) == 6);
static_assert(offsetof(NvmeCheckpointQueue, cq_phase) == 12);
static_assert(offsetof(NvmeCheckpointQueue, inflight) == 14);

struct NvmeCheckpoint {
  uint32_t version;          // kNvmeCheckpointVersion
  uint32_t queue_count;      // I/O queue pairs in use (1..kMaxIoQueues)
  uint32_t queue_depth;      // entries per I/O SQ and CQ
  uint32_t cid_total;        // sum of cid_count; entries of `tags` in use
  uint64_t namespace_bytes;  // size of namespace 1 as Identify reported it
  uint32_t max_transfer;     // DriverConfig::max_transfer the PRP pool was sized for
  uint32_t reserved0;
  NvmeCheckpointQueue queues[kMaxIoQueues];
  // Bit (cid_base + cid) set: that command is outstanding and tags[] is valid.
  uint32_t busy[kMaxCheckpointCids / 32];
  uint32_t tags[kMaxCheckpointCids];  // shim tag per command id
};
static_assert(offsetof(NvmeCheckpoint, namespace_bytes) == 16);
static_assert(offsetof(NvmeCheckpoint, queues) == 32);
static_assert(offsetof(NvmeCheckpoint, busy) == 32 + 16 * kMaxIoQueues);
static_assert(offsetof(NvmeCheckpoint, tags) == 160 + kMaxCheckpointCids / 8);
static_assert(sizeof(NvmeCheckpoint) == 160 + kMaxCheckpointCids / 8 + 4 * kMaxCheckpointCids);
static_assert(sizeof(NvmeCheckpoint) <= abi::kCheckpointPayloadMax);

// Bytes of the payload in use for `cid_total` command ids.
inline constexpr uint32_t nvme_checkpoint_size(uint32_t cid_total) {
  return static_cast<uint32_t>(offsetof(NvmeCheckpoint, tags)) + 4 * cid_total;
}

}  // namespace uldd::drivers
