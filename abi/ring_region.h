// RingRegion: the per-driver memfd holding the request ring (shim -> driver)
// and the completion ring (driver -> shim) of BlockDescriptors.
//
// Layout (all offsets from the start of the memfd, fixed by ring_region_layout):
//   0      RingRegionHeader (64 B), written by the supervisor before the driver
//          is spawned and never again; the driver copies it once and checks it
//   64     request ring indices   (RingIndices, 128 B)
//   192    completion ring indices (RingIndices, 128 B)
//   4096   request slots    [capacity]
//   ...    completion slots [capacity]
//
// Who writes the slots (abi/spsc_ring.h): the producer of a ring writes its
// free slots, the consumer none. Request slots outside the ring's [head, tail)
// are blank: the shim overwrites each slot the driver's head has passed with
// kBlankRequest (SpscProducer::free_slots_blanking, on every look for space),
// so a faulty driver that reads past the published tail gets op 0 (no
// BlockOp), len 0, tag 0: the driver rejects it (BlockStatus::kInvalid), and
// its completion matches nothing the shim has in flight (op 0 is never sent),
// which is a protocol violation: restart, never a device command with another
// request's buffer. The completion ring is not blanked (the shim trusts
// nothing in it anyway: every completion is matched against what was sent).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "abi/abi_version.h"
#include "abi/block_descriptor.h"
#include "abi/spsc_ring.h"

namespace uldd::abi {

struct RingRegionHeader {
  uint32_t magic;            // kRingRegionMagic
  uint32_t version;          // kAbiVersion
  uint32_t capacity;         // descriptors per ring; a power of two, 2..65536
  uint32_t descriptor_size;  // sizeof(BlockDescriptor)
  uint64_t request_indices_offset;
  uint64_t completion_indices_offset;
  uint64_t request_slots_offset;
  uint64_t completion_slots_offset;
  uint64_t region_size;  // bytes of the whole memfd
  uint64_t reserved;
};

static_assert(sizeof(RingRegionHeader) == 64);
static_assert(offsetof(RingRegionHeader, magic) == 0);
static_assert(offsetof(RingRegionHeader, version) == 4);
static_assert(offsetof(RingRegionHeader, capacity) == 8);
static_assert(offsetof(RingRegionHeader, request_indices_offset) == 16);
static_assert(offsetof(RingRegionHeader, completion_slots_offset) == 40);
static_assert(offsetof(RingRegionHeader, region_size) == 48);

inline constexpr uint32_t kMaxRingCapacity = 65536;

// What the shim leaves in a released request slot: all zero (see above).
inline constexpr BlockDescriptor kBlankRequest{};

// The one layout for a given capacity; both sides compute it and compare.
inline RingRegionHeader ring_region_layout(uint32_t capacity) {
  RingRegionHeader h{};
  h.magic = kRingRegionMagic;
  h.version = kAbiVersion;
  h.capacity = capacity;
  h.descriptor_size = sizeof(BlockDescriptor);
  h.request_indices_offset = 64;
  h.completion_indices_offset = 64 + sizeof(RingIndices);
  h.request_slots_offset = 4096;
  h.completion_slots_offset = 4096 + uint64_t{capacity} * sizeof(BlockDescriptor);
  uint64_t end = h.completion_slots_offset + uint64_t{capacity} * sizeof(BlockDescriptor);
  h.region_size = (end + 4095) & ~uint64_t{4095};
  return h;
}

inline bool valid_ring_capacity(uint32_t capacity) {
  return capacity >= 2 && capacity <= kMaxRingCapacity && (capacity & (capacity - 1)) == 0;
}

// Checks a header copied out of shared memory against the layout it must
// have and the size of the memfd it came from. Returns "" if it is good,
// otherwise what is wrong.
inline std::string check_ring_region_header(const RingRegionHeader& h, size_t memfd_size) {
  if (h.magic != kRingRegionMagic) return "ring region: bad magic";
  if (h.version != kAbiVersion)
    return "ring region: ABI version " + std::to_string(h.version) + ", expected " +
           std::to_string(kAbiVersion);
  if (!valid_ring_capacity(h.capacity))
    return "ring region: capacity " + std::to_string(h.capacity) +
           " is not a power of two in [2, 65536]";
  RingRegionHeader want = ring_region_layout(h.capacity);
  if (h.descriptor_size != want.descriptor_size ||
      h.request_indices_offset != want.request_indices_offset ||
      h.completion_indices_offset != want.completion_indices_offset ||
      h.request_slots_offset != want.request_slots_offset ||
      h.completion_slots_offset != want.completion_slots_offset ||
      h.region_size != want.region_size)
    return "ring region: layout fields do not match capacity " + std::to_string(h.capacity);
  if (h.region_size > memfd_size)
    return "ring region: header says " + std::to_string(h.region_size) + " bytes, memfd has " +
           std::to_string(memfd_size);
  return "";
}

// Typed access to a mapped ring region whose header has been checked.
struct RingRegionView {
  std::byte* base;
  RingRegionHeader header;  // private copy, taken once

  RingIndices* request_indices() const {
    return reinterpret_cast<RingIndices*>(base + header.request_indices_offset);
  }
  RingIndices* completion_indices() const {
    return reinterpret_cast<RingIndices*>(base + header.completion_indices_offset);
  }
  BlockDescriptor* request_slots() const {
    return reinterpret_cast<BlockDescriptor*>(base + header.request_slots_offset);
  }
  BlockDescriptor* completion_slots() const {
    return reinterpret_cast<BlockDescriptor*>(base + header.completion_slots_offset);
  }
};

}  // namespace uldd::abi
