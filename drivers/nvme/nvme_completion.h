// Reading completion queue entries the controller writes into DMA memory
// (NVMe 1.4 §4.6, §7.4.1): an entry at the CQ head is new when its phase tag
// equals the phase the host expects for the current pass over the queue.
// The status word (which holds the phase tag) is loaded with acquire before
// the rest of the entry is copied, so a model process that stores the status
// last (with release) is never seen half-written.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

#include "abi/block_descriptor.h"
#include "devices/nvme/nvme_spec.h"

namespace uldd::drivers {

// Copies the entry at `slot` into `out` if its phase tag is `phase`.
inline bool take_completion(nvme::CompletionEntry* slot, uint16_t phase,
                            nvme::CompletionEntry* out) {
  uint16_t st = std::atomic_ref<uint16_t>(slot->status).load(std::memory_order_acquire);
  if ((st & nvme::status::kPhase) != phase) return false;
  std::memcpy(out, slot, sizeof *out);
  out->status = st;
  return true;
}

// NVMe status (SCT/SC, §4.6.1) to the block status the shim understands.
inline abi::BlockStatus block_status(uint16_t status_field) {
  uint16_t sct = nvme::status::type(status_field);
  uint16_t sc = nvme::status::code(status_field);
  if (sct == nvme::status::kTypeGeneric && sc == nvme::status::kSuccess)
    return abi::BlockStatus::kOk;
  if (sct == nvme::status::kTypeMedia) return abi::BlockStatus::kMediaError;
  return abi::BlockStatus::kIoError;
}

// The completion flags for an NVMe status: kBlockFlagDoNotRetry when the
// controller set DNR on an error (§4.6.1), else 0.
inline uint32_t completion_flags(uint16_t status_field) {
  return block_status(status_field) != abi::BlockStatus::kOk && nvme::status::dnr(status_field) != 0
             ? abi::kBlockFlagDoNotRetry
             : 0;
}

inline std::string to_hex(uint32_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), kDigits[v & 0xF]);
    v >>= 4;
  } while (v != 0);
  return s;
}

}  // namespace uldd::drivers
