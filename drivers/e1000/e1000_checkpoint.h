// E1000Checkpoint: the e1000 driver's payload in a CheckpointSlot
// (device_class == kCheckpointClassE1000). It records what a restarted driver
// needs to adopt a running e1000 without resetting it, and what a cold restart
// needs to hand every posted buffer back to the shim:
//   - each descriptor ring's size and the slot indices as the driver knows
//     them: the next descriptor it will look at for DD (head side) and the
//     value it wrote to RDT/TDT (tail side). Ring sizes need not be powers of
//     two (multiples of 8), so these are slot numbers in [0, size), exactly
//     like the device's head/tail registers;
//   - which shim buffer each posted descriptor points at (slot -> buffer_id).
//     The posted slots are exactly [head, tail) modulo the ring size (a ring
//     holds at most size - 1, so that range is unambiguous): no busy bitmap;
//   - the MAC address the driver found, and the buffer size it posted.
//
// Commit discipline (like the NVMe driver's): the driver writes the checkpoint
// after filling descriptors and BEFORE the TDT/RDT doorbell, so the device can
// never own a descriptor that the checkpoint does not list.
//
// Written by an untrusted driver: a reader bound-checks every field against
// the DriverConfig and the device registers (RDH/RDT/TDH/TDT) before believing
// it. Only a prefix is used: the header plus rx_descriptors + tx_descriptors
// buffer ids (e1000_checkpoint_size); the slot's crc32c covers exactly that.
#pragma once

#include <cstddef>
#include <cstdint>

#include "abi/checkpoint.h"

namespace uldd::drivers {

inline constexpr uint32_t kE1000CheckpointVersion = 1;
// Largest descriptor ring the driver accepts per direction (RDLEN/TDLEN of
// 32 KiB). Both buffer-id maps of the largest rings fit in one slot.
inline constexpr uint32_t kE1000MaxDescriptors = 2048;

struct E1000Checkpoint {
  uint32_t version;         // driver: kE1000CheckpointVersion
  uint32_t rx_descriptors;  // driver: RX ring size in descriptors (RDLEN / 16)
  uint32_t tx_descriptors;  // driver: TX ring size in descriptors (TDLEN / 16)
  uint32_t buffer_size;     // driver: bytes of each posted RX buffer (RCTL.BSIZE)
  uint32_t rx_next;         // driver: next RX slot to check for DD
  uint32_t rx_tail;   // driver: RDT it writes with this checkpoint (posted = [rx_next, rx_tail))
  uint32_t tx_clean;  // driver: next TX slot to reclaim on DD
  uint32_t tx_tail;   // driver: TDT it writes with this checkpoint (posted = [tx_clean, tx_tail))
  uint8_t mac[6];     // driver: station address read at bring-up (EERD or RAL0/RAH0)
  uint16_t reserved0;
  uint32_t reserved1;
  uint64_t epoch_reserved;  // driver: 0; room for a device-generation stamp
  // rx_descriptors entries: buffer_id of the shim buffer in each RX slot, then
  // tx_descriptors entries for the TX slots. Meaningful only for posted slots.
  uint16_t buffer_ids[2 * kE1000MaxDescriptors];
};
static_assert(offsetof(E1000Checkpoint, rx_next) == 16);
static_assert(offsetof(E1000Checkpoint, tx_clean) == 24);
static_assert(offsetof(E1000Checkpoint, mac) == 32);
static_assert(offsetof(E1000Checkpoint, buffer_ids) == 56);
static_assert(sizeof(E1000Checkpoint) == 56 + 4 * kE1000MaxDescriptors);
static_assert(sizeof(E1000Checkpoint) <= abi::kCheckpointPayloadMax);

// Bytes of the payload in use for the given ring sizes.
inline constexpr uint32_t e1000_checkpoint_size(uint32_t rx_descriptors, uint32_t tx_descriptors) {
  return static_cast<uint32_t>(offsetof(E1000Checkpoint, buffer_ids)) +
         2 * (rx_descriptors + tx_descriptors);
}

}  // namespace uldd::drivers
