// crc32c (Castagnoli), used to checksum checkpoint slots. The driver commits a
// checkpoint twice per request, so the common entry point uses the CPU's CRC32
// instruction where there is one (SSE4.2); crc32c_portable is the table
// version every machine has. Both give the same value.
#pragma once

#include <cstddef>
#include <cstdint>

namespace uldd {

uint32_t crc32c(const void* data, size_t len, uint32_t seed = 0);
uint32_t crc32c_portable(const void* data, size_t len, uint32_t seed = 0);

}  // namespace uldd
