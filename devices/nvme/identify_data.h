// The Identify data structures (§5.15.2) the NVMe model returns. Kept apart
// from the controller so the values a driver depends on (MDTS, queue entry
// sizes, LBA format, namespace size) are in one place.
#pragma once

#include <cstdint>
#include <string_view>

#include "devices/nvme/nvme_spec.h"

namespace uldd::nvme {

// Max data transfer size reported in Identify Controller: 2^5 pages = 128 KiB.
inline constexpr uint8_t kModelMdts = 5;

struct IdentifyInputs {
  std::string_view serial;  // SN, truncated to 20 characters
  std::string_view model;   // MN, truncated to 40 characters
  uint64_t blocks = 0;      // namespace size in logical blocks
  uint32_t lba_shift = 9;   // log2 of the logical block size
};

IdentifyController make_identify_controller(const IdentifyInputs& in);
IdentifyNamespace make_identify_namespace(const IdentifyInputs& in);

}  // namespace uldd::nvme
