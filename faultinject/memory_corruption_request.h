// MemoryCorruptionRequest: an operator's (or a campaign's) request to flip one
// bit in shared memory the supervisor owns — a disk's ring region (an index or
// a descriptor of the request or completion ring, abi/ring_region.h), a NIC's
// (one of its four rings, abi/net_ring_region.h) or a device's driver
// checkpoint (abi/checkpoint.h) — as a stray write of a buggy
// driver or a memory fault would. {type, params} is checked before anything is
// touched; the flip itself is one atomic xor on memory the supervisor has
// mapped. What must notice it: the shim or the driver (an impossible index or
// descriptor is a protocol violation → restart), the next driver (a checkpoint
// whose crc32c fails → no warm resume, cold restart). faultinject/README.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "abi/checkpoint.h"
#include "abi/net_ring_region.h"
#include "abi/ring_region.h"
#include "common/result.h"

namespace uldd::faultinject {

struct MemoryCorruptionRequest {
  enum class Target { kRing, kCheckpoint };
  Target target = Target::kRing;
  // ring=: "" (the device's default), disk "request" | "completion", NIC
  // "tx-request" | "tx-done" | "rx-free" | "rx-done". Which names a device
  // takes is checked when it is performed (the parser knows no device).
  std::string ring;
  bool descriptor = false;      // field=index (default): the producer's tail | descriptor
  std::optional<uint32_t> bit;  // which bit of the field; none: chosen from the seed
  uint64_t seed = 1;
};

// Parses {type, params}: corrupt-ring takes ring (request|completion on a
// disk, tx-request|tx-done|rx-free|rx-done on a NIC), field (index|descriptor),
// bit (index: 0..31; descriptor: 0..255, 0..127 on a NIC) and seed;
// corrupt-checkpoint takes bit (of the newest slot's payload; checked against
// its size when performed) and seed. EINVAL names the bad parameter; ENOENT:
// `type` is not a memory corruption (the caller tries other classes).
Result<MemoryCorruptionRequest> parse_memory_corruption_request(
    std::string_view type, const std::map<std::string, std::string>& params);

std::vector<std::string> memory_corruption_types();

// Flips the bit in a disk's live ring region (default ring: completion):
// field=index the producer's tail of that ring, field=descriptor the slot
// written last (tail - 1). Returns a line naming the byte offset in the
// region and the bit. EINVAL for a NIC ring name.
Result<std::string> corrupt_disk_ring(const abi::RingRegionView& rings,
                                      const MemoryCorruptionRequest& request);

// The same in a NIC's net ring region; without ring= the seed picks one of
// the four rings. EINVAL for a disk ring name or a descriptor bit >= 128.
Result<std::string> corrupt_net_ring(const abi::NetRingRegionView& rings,
                                     const MemoryCorruptionRequest& request);

// Flips the bit in the payload of the newest slot (highest epoch); ENOENT
// when no slot was ever written.
Result<std::string> corrupt_checkpoint(abi::CheckpointRegion& checkpoint,
                                       const MemoryCorruptionRequest& request);

}  // namespace uldd::faultinject
