// DataProblem: one thing a verified workload found wrong with its data when
// it checked (a read-back of the disk, the echoes of the NIC): lost — an
// acknowledged write missing — or corrupted — bytes that are not what was
// written or sent. The runner pins the problems of a check on the fault
// injected before it (after_fault) and counts them in the report.
#pragma once

#include <cstdint>

namespace uldd::campaign {

struct DataProblem {
  enum class Kind { kLost, kCorrupted };
  Kind kind = Kind::kLost;
  uint64_t lba = 0;                  // block index (block_size units); NIC: sequence number
  uint64_t expected_generation = 0;  // = request index of the acknowledged write
  uint64_t found_generation = 0;     // 0 = zeros / not a valid block
  int64_t first_wrong_offset = -1;   // corrupted: byte offset within the block
  int32_t after_fault = -1;          // index of the last fault injected before the read-back
  uint64_t at_ms = 0;                // when the read-back saw it
};

}  // namespace uldd::campaign
