#include "faultinject/memory_corruption_request.h"

#include <atomic>
#include <cerrno>
#include <charconv>

#include "abi/control_block.h"  // load_shared

namespace uldd::faultinject {
namespace {

constexpr uint32_t kIndexBits = 32;
constexpr uint32_t kDescriptorBits = sizeof(abi::BlockDescriptor) * 8;

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
      if (value != "request" && value != "completion")
        return bad(type, "parameter 'ring' must be 'request' or 'completion'; got '" + value + "'");
      r.completion_ring = value == "completion";
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

Result<std::string> corrupt_disk_ring(const abi::RingRegionView& rings,
                                      const MemoryCorruptionRequest& request) {
  const uint32_t capacity = rings.header.capacity;
  if (rings.base == nullptr || capacity == 0)
    return Error{EINVAL, "corrupt-ring: the ring region is not laid out"};
  abi::RingIndices* indices =
      request.completion_ring ? rings.completion_indices() : rings.request_indices();
  const char* which = request.completion_ring ? "completion" : "request";
  uint64_t offset;
  uint32_t bit;
  std::string field;
  if (!request.descriptor) {
    bit = pick_bit(request, kIndexBits);
    offset =
        static_cast<uint64_t>(reinterpret_cast<std::byte*>(&indices->producer.tail) - rings.base);
    field = "producer tail";
  } else {
    bit = pick_bit(request, kDescriptorBits);
    const uint32_t tail = abi::load_shared(indices->producer.tail);
    const uint32_t slot = (tail + capacity - 1) % capacity;  // the one written last
    abi::BlockDescriptor* slots =
        request.completion_ring ? rings.completion_slots() : rings.request_slots();
    offset = static_cast<uint64_t>(reinterpret_cast<std::byte*>(&slots[slot]) - rings.base);
    field = "descriptor in slot " + std::to_string(slot);
  }
  flip(rings.base + offset, bit);
  return std::string(which) + " ring " + field + ": bit " + std::to_string(bit) +
         " flipped (region offset " + std::to_string(offset + bit / 8) + ")";
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
