// CheckpointRegion: what a restarted driver needs to resume without resetting
// the device (device queue indices, command-id <-> tag map, configuration).
// The driver writes it; the supervisor owns the memfd, so it outlives a crash.
//
// Two slots, written alternately: a crash in the middle of writing one leaves
// the other intact. A slot is valid when its magic and version match and the
// crc32c of its payload equals `checksum`; the valid slot with the higher epoch
// wins. Everything here is written by the (untrusted) driver: a restarted
// driver and the shim re-check every field against the device's registers
// before believing it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "abi/abi_version.h"

namespace uldd::abi {

inline constexpr uint32_t kCheckpointPayloadMax = 16384 - 64;

struct CheckpointSlot {
  uint32_t magic;         // driver: kCheckpointMagic
  uint32_t version;       // driver: kAbiVersion
  uint64_t epoch;         // driver: incremented on every commit; 0 = never written
  uint32_t checksum;      // driver: crc32c of payload[0, payload_size)
  uint32_t payload_size;  // driver: bytes of payload in use (<= kCheckpointPayloadMax)
  uint32_t device_class;  // driver: 1 = NVMe, 2 = e1000; selects the payload struct
  uint8_t reserved[36];
  uint8_t payload[kCheckpointPayloadMax];  // driver: device-class specific state
};
static_assert(sizeof(CheckpointSlot) == 16384);
static_assert(offsetof(CheckpointSlot, epoch) == 8);
static_assert(offsetof(CheckpointSlot, checksum) == 16);
static_assert(offsetof(CheckpointSlot, payload) == 64);

struct CheckpointRegion {
  CheckpointSlot slots[2];
};
static_assert(sizeof(CheckpointRegion) == 32768);

inline constexpr uint32_t kCheckpointClassNvme = 1;
inline constexpr uint32_t kCheckpointClassE1000 = 2;

}  // namespace uldd::abi
