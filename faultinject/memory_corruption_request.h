// MemoryCorruptionRequest: an operator's (or a campaign's) request to flip one
// bit in shared memory the supervisor owns — a disk's ring region (an index or
// a descriptor of the request or completion ring, abi/ring_region.h) or a
// device's driver checkpoint (abi/checkpoint.h) — as a stray write of a buggy
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
#include "abi/ring_region.h"
#include "common/result.h"

namespace uldd::faultinject {

struct MemoryCorruptionRequest {
  enum class Target { kRing, kCheckpoint };
  Target target = Target::kRing;
  bool completion_ring = true;  // ring=completion (default) | request
  bool descriptor = false;      // field=index (default): the producer's tail | descriptor
  std::optional<uint32_t> bit;  // which bit of the field; none: chosen from the seed
  uint64_t seed = 1;
};

// Parses {type, params}: corrupt-ring takes ring (request|completion), field
// (index|descriptor), bit (index: 0..31; descriptor: 0..255) and seed;
// corrupt-checkpoint takes bit (of the newest slot's payload; checked against
// its size when performed) and seed. EINVAL names the bad parameter; ENOENT:
// `type` is not a memory corruption (the caller tries other classes).
Result<MemoryCorruptionRequest> parse_memory_corruption_request(
    std::string_view type, const std::map<std::string, std::string>& params);

std::vector<std::string> memory_corruption_types();

// Flips the bit in a disk's live ring region: field=index the producer's tail
// of that ring, field=descriptor the slot written last (tail - 1). Returns a
// line naming the byte offset in the region and the bit.
Result<std::string> corrupt_disk_ring(const abi::RingRegionView& rings,
                                      const MemoryCorruptionRequest& request);

// Flips the bit in the payload of the newest slot (highest epoch); ENOENT
// when no slot was ever written.
Result<std::string> corrupt_checkpoint(abi::CheckpointRegion& checkpoint,
                                       const MemoryCorruptionRequest& request);

}  // namespace uldd::faultinject
