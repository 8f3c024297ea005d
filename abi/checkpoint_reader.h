// read_newest_checkpoint: the one way a restarted driver picks the checkpoint
// slot it may believe (abi/checkpoint.h), whatever its device class.
//
// The newest slot that validates wins: magic, ABI version, device class,
// payload size within what the class allows, crc32c of the payload, and an
// epoch that did not move while it was read. A slot being written has epoch 0
// (drivers store the epoch last), so a slot with a non-zero epoch newer than
// the winner that does NOT validate is no torn write: the newest state was
// damaged, the older slot is stale, and nothing may be believed. The payload
// is copied out once and its checksum checked again on the copy, so the
// caller's later field checks see exactly what was validated.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "abi/checkpoint.h"
#include "abi/control_block.h"  // load_shared
#include "common/crc32c.h"
#include "common/result.h"

namespace uldd::abi {

// Copies the payload of the newest valid slot of class `device_class` whose
// size is in [min_size, max_size] to `out` (max_size bytes, zero-filled past
// the payload); returns the payload's size.
inline Result<uint32_t> read_newest_checkpoint(const CheckpointRegion& region,
                                               uint32_t device_class, uint32_t min_size,
                                               uint32_t max_size, void* out) {
  int best = -1;
  uint64_t best_epoch = 0;
  uint64_t newest_damaged = 0;
  for (int i = 0; i < 2; ++i) {
    const CheckpointSlot& slot = region.slots[i];
    uint64_t epoch = load_shared(slot.epoch);
    if (epoch == 0) continue;
    uint32_t size = slot.payload_size;
    bool ok = slot.magic == kCheckpointMagic && slot.version == kAbiVersion &&
              slot.device_class == device_class && size >= min_size && size <= max_size &&
              size <= kCheckpointPayloadMax && crc32c(slot.payload, size) == slot.checksum;
    ok = ok && load_shared(slot.epoch) == epoch;  // not rewritten while we read
    if (!ok) {
      newest_damaged = std::max(newest_damaged, epoch);
      continue;
    }
    if (epoch > best_epoch) {
      best = i;
      best_epoch = epoch;
    }
  }
  if (best < 0)
    return plain_error("warm resume: no checkpoint slot validates (checksum/magic/size)");
  if (newest_damaged > best_epoch)
    return plain_error("warm resume: checkpoint epoch " + std::to_string(newest_damaged) +
                       " is damaged and epoch " + std::to_string(best_epoch) + " is stale");
  const CheckpointSlot& slot = region.slots[best];
  const uint32_t size = slot.payload_size;
  if (size < min_size || size > max_size)
    return plain_error("warm resume: checkpoint changed while being read");
  std::memset(out, 0, max_size);
  std::memcpy(out, slot.payload, size);  // copied once, then checked
  if (crc32c(out, size) != slot.checksum)
    return plain_error("warm resume: checkpoint changed while being read");
  return size;
}

}  // namespace uldd::abi
