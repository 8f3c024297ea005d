// fill_block / check_block: see block_pattern.h.
#include "faultinject/campaign/block_pattern.h"

#include <cstring>
#include <vector>

#include "common/crc32c.h"
#include "faultinject/campaign/fault_schedule.h"

namespace uldd::campaign {
namespace {

uint64_t load64(const std::byte* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool all_zero(std::span<const std::byte> b) {
  for (std::byte x : b)
    if (x != std::byte{0}) return false;
  return true;
}

// Offset of the first byte where `got` differs from the block `expected_gen`
// would have written (zeros for generation 0), or -1.
int64_t first_difference(std::span<const std::byte> got, uint64_t stream, uint64_t lba,
                         uint64_t expected_gen) {
  std::vector<std::byte> want(got.size());
  if (expected_gen != 0) fill_block(want, stream, lba, expected_gen);
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i]) return static_cast<int64_t>(i);
  return -1;
}

}  // namespace

void fill_block(std::span<std::byte> block, uint64_t stream, uint64_t lba, uint64_t generation) {
  const uint64_t header[4] = {kBlockMagic, lba, generation, stream};
  std::memcpy(block.data(), header, sizeof header);
  SplitMix64 rng(stream ^ (lba * 0x9e3779b97f4a7c15ull) ^ (generation << 1));
  size_t end = block.size() - 4;
  for (size_t i = kBlockHeaderBytes; i < end; i += 8) {
    uint64_t v = rng.next();
    std::memcpy(block.data() + i, &v, std::min<size_t>(8, end - i));
  }
  uint32_t crc = crc32c(block.data(), end);
  std::memcpy(block.data() + end, &crc, sizeof crc);
}

BlockCheck check_block(std::span<const std::byte> block, uint64_t stream, uint64_t lba,
                       uint64_t acknowledged, uint64_t in_doubt) {
  BlockCheck out;
  size_t end = block.size() - 4;
  uint32_t stored;
  std::memcpy(&stored, block.data() + end, sizeof stored);
  bool intact = load64(block.data()) == kBlockMagic && load64(block.data() + 8) == lba &&
                load64(block.data() + 24) == stream && load64(block.data() + 16) != 0 &&
                crc32c(block.data(), end) == stored;
  if (!intact) {
    if (all_zero(block)) {
      // Never written, or every write since lost.
      if (acknowledged == 0) return out;
      out.verdict = BlockCheck::Verdict::kLost;
      return out;
    }
    out.verdict = BlockCheck::Verdict::kCorrupted;
    out.first_wrong_offset = first_difference(block, stream, lba, acknowledged);
    return out;
  }
  uint64_t gen = load64(block.data() + 16);
  out.found_generation = gen;
  if (gen == acknowledged || (in_doubt != 0 && gen == in_doubt)) return out;
  if (gen < acknowledged) {
    out.verdict = BlockCheck::Verdict::kLost;
    return out;
  }
  // A valid block of a write never issued here (or issued after the one in
  // doubt): not data this workload can account for.
  out.verdict = BlockCheck::Verdict::kCorrupted;
  out.first_wrong_offset = first_difference(block, stream, lba, acknowledged);
  return out;
}

}  // namespace uldd::campaign
