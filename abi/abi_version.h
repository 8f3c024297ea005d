// Version and magic numbers of uldd's shared-memory ABI. Every shared region
// opens with {magic, version}; a process that finds another magic or version
// refuses the region instead of guessing at its layout.
#pragma once

#include <cstdint>

namespace uldd::abi {

inline constexpr uint32_t kAbiVersion = 1;

inline constexpr uint32_t kRingRegionMagic = 0x52444c55;    // "ULDR" little-endian
inline constexpr uint32_t kCheckpointMagic = 0x43444c55;    // "ULDC"
inline constexpr uint32_t kControlBlockMagic = 0x42444c55;  // "ULDB"

inline constexpr uint32_t kCacheLine = 64;

}  // namespace uldd::abi
