// BlockDescriptor: one block request (shim -> driver) or its completion
// (driver -> shim) in the ring region. The same 32-byte struct travels both
// ways, as in seL4's sDDF: the driver echoes tag/op/iova/len/lba and fills in
// status. Data never travels in the ring, only the IOVA (offset into the
// device's DMA region) of a buffer the shim owns.
#pragma once

#include <cstddef>
#include <cstdint>

namespace uldd::abi {

enum class BlockOp : uint16_t {
  kRead = 1,
  kWrite = 2,
  kFlush = 3,  // iova, len and lba are 0
};

enum class BlockStatus : uint16_t {
  kOk = 0,
  kIoError = 1,       // the device reported a generic error
  kMediaError = 2,    // unrecovered read error / write fault on the media
  kInvalid = 3,       // the driver refused the descriptor (bad op, range, IOVA)
  kDeviceFailed = 4,  // no driver can serve the device (policy gave up)
};

inline constexpr uint32_t kSectorSize = 512;

// Request flag, warm resume only (DriverLaunch::resume_mode == kWarm): "this
// request was handed to your predecessor and is not complete". The driver
// adopts it if its checkpoint shows the command in the device (it completes
// it when the device does), and submits it afresh if not. The first
// DriverLaunch::adopt_count requests of the ring carry it; no others do.
inline constexpr uint32_t kBlockFlagAdopt = 1u << 0;

// Completion flag: the device marked the error permanent — the same command
// would fail again (NVMe status field bit DNR, "Do Not Retry", NVMe 1.4
// §4.6.1). Set by the driver in error completions only. Advice, not a
// verdict: the driver is untrusted, so the shim's retry policy decides
// (docs/recovery.md, "Errors a driver reports").
inline constexpr uint32_t kBlockFlagDoNotRetry = 1u << 1;

struct BlockDescriptor {
  uint32_t tag;     // shim-assigned request id; the driver echoes it unchanged
  uint16_t op;      // BlockOp
  uint16_t status;  // BlockStatus; 0 in a request, set by the driver in a completion
  uint32_t len;     // bytes, a multiple of kSectorSize, <= the ring's max transfer
  uint32_t flags;   // kBlockFlag* bits: requests kBlockFlagAdopt or 0; completions
                    //   kBlockFlagDoNotRetry or 0
  uint64_t iova;    // offset of the data buffer in the DMA region
  uint64_t lba;     // first sector (kSectorSize bytes each)
};

static_assert(sizeof(BlockDescriptor) == 32);
static_assert(offsetof(BlockDescriptor, tag) == 0);
static_assert(offsetof(BlockDescriptor, op) == 4);
static_assert(offsetof(BlockDescriptor, status) == 6);
static_assert(offsetof(BlockDescriptor, len) == 8);
static_assert(offsetof(BlockDescriptor, flags) == 12);
static_assert(offsetof(BlockDescriptor, iova) == 16);
static_assert(offsetof(BlockDescriptor, lba) == 24);

}  // namespace uldd::abi
