// BlockPattern: the self-describing content the verified disk workload writes,
// so that a block read back says by itself which write it came from and
// whether its bytes are intact. Layout of one block (little-endian):
//   0   u64 magic "ULDDCAMP"
//   8   u64 lba        block index (block_size units) the write was meant for
//   16  u64 generation the write's request index (unique, increasing), >= 1
//   24  u64 stream     the campaign seed: a block from another run is foreign
//   32  ..  payload    SplitMix64 bytes from (stream, lba, generation)
//   end-4 u32 crc32c   over bytes [0, end-4)
// check_block compares a block read back with what the workload knows it
// acknowledged (verified_disk.h says the acceptance rule).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace uldd::campaign {

inline constexpr uint64_t kBlockMagic = 0x504d414344444c55ull;  // "ULDDCAMP"
inline constexpr size_t kBlockHeaderBytes = 32;

void fill_block(std::span<std::byte> block, uint64_t stream, uint64_t lba, uint64_t generation);

struct BlockCheck {
  enum class Verdict {
    kOk,         // the expected generation, or the accepted in-doubt one
    kLost,       // an older generation (or zeros) where a newer write was acknowledged
    kCorrupted,  // bytes that no write of ours produced at this lba
  };
  Verdict verdict = Verdict::kOk;
  uint64_t found_generation = 0;    // 0: zeros or not a valid block
  int64_t first_wrong_offset = -1;  // kCorrupted: first byte differing from the expected content
};

// `acknowledged`: the generation last acknowledged at `lba` (0 = never
// written: zeros expected). `in_doubt`: a later write at `lba` that did not
// complete successfully (error, or cut off by the end of the run); its
// content is accepted as well (0 = none).
BlockCheck check_block(std::span<const std::byte> block, uint64_t stream, uint64_t lba,
                       uint64_t acknowledged, uint64_t in_doubt);

}  // namespace uldd::campaign
