#include "faultinject/memory_corruption_request.h"

#include <atomic>
#include <cerrno>
#include <charconv>

#include "abi/control_block.h"  // load_shared
#include "abi/net_ring_region.h"

namespace uldd::faultinject {
namespace {

constexpr uint32_t kIndexBits = 32;
constexpr uint32_t kDescriptorBits = sizeof(abi::BlockDescriptor) * 8;
constexpr uint32_t kNetDescriptorBits = sizeof(abi::NetDescriptor) * 8;
constexpr std::string_view kNetRingNames[abi::kNetRingCount] = {"tx-request", "tx-done", "rx-free",
                                                                "rx-done"};  // by abi::NetRing

Error bad(std::string_view type, const std::string& what) {
  return Error{EINVAL, "'" + std::string(type) + "': " + what};
}

Result<uint64_t> parse_number(std::string_view type, const std::string& key,
                              const std::string& text, uint64_t max) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v > max)
    return bad(type, "parameter '" + key + "' must be a number in 0.." + std::to_string(max) +
                         "; got '" + text + "'");
  return v;
}

// splitmix64: the seeded choice of a bit when none is given.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint32_t pick_bit(const MemoryCorruptionRequest& r, uint32_t bits) {
  return r.bit ? *r.bit : static_cast<uint32_t>(mix(r.seed) % bits);
}

void flip(std::byte* base, uint64_t bit) {
  std::atomic_ref<uint8_t>(*reinterpret_cast<uint8_t*>(base + bit / 8))
      .fetch_xor(static_cast<uint8_t>(1u << (bit % 8)), std::memory_order_acq_rel);
}

}  // namespace

std::vector<std::string> memory_corruption_types() {
  return {"corrupt-ring", "corrupt-checkpoint"};
}

Result<MemoryCorruptionRequest> parse_memory_corruption_request(
    std::string_view type, const std::map<std::string, std::string>& params) {
  MemoryCorruptionRequest r;
  if (type == "corrupt-ring") {
    r.target = MemoryCorruptionRequest::Target::kRing;
  } else if (type == "corrupt-checkpoint") {
    r.target = MemoryCorruptionRequest::Target::kCheckpoint;
  } else {
    return Error{ENOENT, "'" + std::string(type) + "' is not a memory corruption"};
  }
  const bool ring = r.target == MemoryCorruptionRequest::Target::kRing;
  std::optional<uint64_t> bit;
  for (const auto& [key, value] : params) {
    if (key == "ring" && ring) {
      bool known = value == "request" || value == "completion";
      for (std::string_view n : kNetRingNames) known = known || value == n;
      if (!known)
        return bad(type,
                   "parameter 'ring' must be 'request' or 'completion' (disk), 'tx-request', "
                   "'tx-done', 'rx-free' or 'rx-done' (NIC); got '" +
                       value + "'");
      r.ring = value;
    } else if (key == "field" && ring) {
      if (value != "index" && value != "descriptor")
        return bad(type, "parameter 'field' must be 'index' or 'descriptor'; got '" + value + "'");
      r.descriptor = value == "descriptor";
    } else if (key == "bit") {
      auto v = parse_number(type, key, value, abi::kCheckpointPayloadMax * 8ull - 1);
      if (!v) return v.error();
      bit = *v;
    } else if (key == "seed") {
      auto v = parse_number(type, key, value, UINT64_MAX);
      if (!v) return v.error();
      r.seed = *v;
    } else {
      return bad(type, "no parameter '" + key + "' (it takes " +
                           (ring ? "'ring', 'field', 'bit' and 'seed'" : "'bit' and 'seed'") + ")");
    }
  }
  if (bit) {
    const uint64_t limit = !ring          ? abi::kCheckpointPayloadMax * 8ull
                           : r.descriptor ? kDescriptorBits
                                          : kIndexBits;
    if (*bit >= limit)
      return bad(type,
                 "parameter 'bit' must be below " + std::to_string(limit) + " for this field");
    r.bit = static_cast<uint32_t>(*bit);
  }
  return r;
}

namespace {

// One ring of either region: its indices, slots and capacity.
struct RingTarget {
  std::byte* base;  // of the region, for the offset in the report
  abi::RingIndices* indices;
  std::byte* slots;
  uint32_t capacity;
  uint32_t descriptor_size;
  std::string_view name;
};

Result<std::string> flip_in_ring(const RingTarget& t, const MemoryCorruptionRequest& request) {
  uint64_t offset;
  uint32_t bit;
  std::string field;
  if (!request.descriptor) {
    bit = pick_bit(request, kIndexBits);
    offset = static_cast<uint64_t>(reinterpret_cast<std::byte*>(&t.indices->producer.tail) - t.base);
    field = "producer tail";
  } else {
    const uint32_t bits = t.descriptor_size * 8;
    if (request.bit && *request.bit >= bits)
      return bad("corrupt-ring", "parameter 'bit' must be below " + std::to_string(bits) +
                                     " for a descriptor of this ring");
    bit = pick_bit(request, bits);
    const uint32_t tail = abi::load_shared(t.indices->producer.tail);
    const uint32_t slot = (tail + t.capacity - 1) % t.capacity;  // the one written last
    offset = static_cast<uint64_t>(t.slots + uint64_t{slot} * t.descriptor_size - t.base);
    field = "descriptor in slot " + std::to_string(slot);
  }
  flip(t.base + offset, bit);
  return std::string(t.name) + " ring " + field + ": bit " + std::to_string(bit) +
         " flipped (region offset " + std::to_string(offset + bit / 8) + ")";
}

}  // namespace

Result<std::string> corrupt_disk_ring(const abi::RingRegionView& rings,
                                      const MemoryCorruptionRequest& request) {
  const uint32_t capacity = rings.header.capacity;
  if (rings.base == nullptr || capacity == 0)
    return Error{EINVAL, "corrupt-ring: the ring region is not laid out"};
  if (!request.ring.empty() && request.ring != "request" && request.ring != "completion")
    return bad("corrupt-ring", "ring '" + request.ring +
                                   "' is a NIC ring; a disk has 'request' and 'completion'");
  const bool completion = request.ring != "request";
  RingTarget t{rings.base,
               completion ? rings.completion_indices() : rings.request_indices(),
               reinterpret_cast<std::byte*>(completion ? rings.completion_slots()
                                                       : rings.request_slots()),
               capacity,
               static_cast<uint32_t>(sizeof(abi::BlockDescriptor)),
               completion ? "completion" : "request"};
  return flip_in_ring(t, request);
}

Result<std::string> corrupt_net_ring(const abi::NetRingRegionView& rings,
                                     const MemoryCorruptionRequest& request) {
  if (rings.base == nullptr || rings.header.tx_capacity == 0)
    return Error{EINVAL, "corrupt-ring: the net ring region is not laid out"};
  uint32_t which = abi::kNetRingCount;
  for (uint32_t i = 0; i < abi::kNetRingCount; ++i)
    if (request.ring == kNetRingNames[i]) which = i;
  if (request.ring.empty()) {
    which = static_cast<uint32_t>(mix(request.seed ^ 0x5a5a) % abi::kNetRingCount);
  } else if (which == abi::kNetRingCount) {
    return bad("corrupt-ring", "ring '" + request.ring +
                                   "' is a disk ring; a NIC has 'tx-request', 'tx-done', "
                                   "'rx-free' and 'rx-done'");
  }
  const auto ring = static_cast<abi::NetRing>(which);
  static_assert(kNetDescriptorBits == 128);
  RingTarget t{rings.base,
               rings.indices(ring),
               reinterpret_cast<std::byte*>(rings.slots(ring)),
               rings.capacity(ring),
               static_cast<uint32_t>(sizeof(abi::NetDescriptor)),
               kNetRingNames[which]};
  return flip_in_ring(t, request);
}

Result<std::string> corrupt_checkpoint(abi::CheckpointRegion& checkpoint,
                                       const MemoryCorruptionRequest& request) {
  int newest = -1;
  uint64_t newest_epoch = 0;
  for (int i = 0; i < 2; ++i) {
    uint64_t e = abi::load_shared(checkpoint.slots[i].epoch);
    if (e > newest_epoch) newest = i, newest_epoch = e;
  }
  if (newest < 0)
    return Error{ENOENT, "corrupt-checkpoint: the driver has not written a checkpoint yet"};
  abi::CheckpointSlot& slot = checkpoint.slots[newest];
  uint32_t size = abi::load_shared(slot.payload_size);
  if (size == 0 || size > abi::kCheckpointPayloadMax)
    return Error{EINVAL, "corrupt-checkpoint: the newest slot has no usable payload size"};
  const uint32_t bits = size * 8;
  if (request.bit && *request.bit >= bits)
    return bad("corrupt-checkpoint", "parameter 'bit' must be below " + std::to_string(bits) +
                                         " (the newest payload's size in bits)");
  const uint32_t bit = pick_bit(request, bits);
  flip(reinterpret_cast<std::byte*>(slot.payload), bit);
  return "checkpoint slot " + std::to_string(newest) + " (epoch " + std::to_string(newest_epoch) +
         "): payload bit " + std::to_string(bit) + " flipped";
}

}  // namespace uldd::faultinject
