// crc32c (Castagnoli), used to checksum checkpoint slots. Software table
// version: checkpoints are small and written once per batch, not per byte.
#pragma once

#include <cstddef>
#include <cstdint>

namespace uldd {

uint32_t crc32c(const void* data, size_t len, uint32_t seed = 0);

}  // namespace uldd
