// ControlBlock: the per-driver page through which the supervisor configures a
// driver, watches it live (heartbeat, state, statistics) and arms fault points.
// One 4 KiB memfd. Each cache line has one writer, named on every field:
//   line 0  identity          supervisor, before spawn
//   line 1  DriverConfig      supervisor, before spawn (the driver copies it once)
//   line 2  DriverLaunch      supervisor, before spawn or before releasing a standby
//   line 3  DriverStatus      driver (the supervisor only reads it, untrusted)
//   line 5+ FaultPointArming  supervisor (the driver only reads)
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "abi/abi_version.h"

namespace uldd::abi {

enum class DriverState : uint32_t {
  kSpawned = 0,       // process exists, has not looked at the device yet
  kInitializing = 1,  // bringing the controller up / adopting it
  kRunning = 2,       // serving the rings
  kStopping = 3,      // asked to stop, draining
  kFailed = 4,        // gave up on the device; see DriverStatus::last_error
};

// What the driver must know about its device and buffers. All sizes in bytes.
struct alignas(kCacheLine) DriverConfig {
  uint32_t io_queue_count;          // supervisor: NVMe I/O queue pairs to create (1..8)
  uint32_t io_queue_depth;          // supervisor: entries per I/O SQ/CQ (power of two, 2..4096)
  uint32_t irq_coalesce_threshold;  // supervisor: completions per interrupt (1..256), NVMe FID 08h
  uint32_t irq_coalesce_time_us;    // supervisor: max interrupt delay; 0 = no time hold-off
  uint32_t heartbeat_interval_us;   // supervisor: the driver bumps `heartbeat` at least this often
  uint32_t max_transfer;            // supervisor: largest BlockDescriptor::len the shim sends
  uint64_t dma_driver_area_size;    // supervisor: [0, this) of the DMA region is the driver's own
                                    //   (device queues, PRP lists); the shim never touches it
  uint64_t dma_buffer_area_offset;  // supervisor: [this, dma size) holds the shim's data buffers
  uint64_t device_bytes;            // supervisor: capacity the shim expects the namespace to have
  // NIC drivers (e1000) only; 0 for a disk driver. A NIC driver reads
  // max_transfer as the packet buffer size (bytes of each shim buffer),
  // heartbeat_interval_us and the dma_* fields as above, and ignores the
  // NVMe queue and coalescing fields.
  uint32_t nic_rx_descriptors;  // supervisor: device RX descriptor ring size (multiple of 8)
  uint32_t nic_tx_descriptors;  // supervisor: device TX descriptor ring size (multiple of 8)
  uint32_t nic_itr_interval;    // supervisor: interrupt hold-off, in 256 ns units as the
                                //   e1000 ITR register (8254x SDM 13.4.18); 0 = none
  uint32_t nic_reserved;        // supervisor: 0
};
static_assert(sizeof(DriverConfig) == 64);
static_assert(offsetof(DriverConfig, nic_rx_descriptors) == 48);
static_assert(offsetof(DriverConfig, nic_tx_descriptors) == 52);
static_assert(offsetof(DriverConfig, nic_itr_interval) == 56);
static_assert(offsetof(DriverConfig, max_transfer) == 20);
static_assert(offsetof(DriverConfig, dma_driver_area_size) == 24);
static_assert(offsetof(DriverConfig, device_bytes) == 40);

// How a driver starts: from scratch (cold: reset the device) or by adopting
// the device and the commands its predecessor left in it (warm, from the
// checkpoint). Written by the supervisor before the driver process is spawned,
// or before a hot-standby process is released, and read once by the driver.
enum class ResumeMode : uint32_t {
  kCold = 0,  // reset the controller and bring it up; the shim reissues everything
  kWarm = 1,  // adopt the running controller from the checkpoint; see kBlockFlagAdopt
};

struct alignas(kCacheLine) DriverLaunch {
  uint32_t resume_mode;  // supervisor: ResumeMode
  uint32_t adopt_count;  // supervisor: warm only: the request ring starts with exactly this many
                         //   descriptors flagged kBlockFlagAdopt, one per request the shim still
                         //   has outstanding (abi/block_descriptor.h); for a NIC,
                         //   tx_request and rx_free together start with this many flagged
                         //   kNetFlagAdopt, one per buffer the dead driver held
                         //   (abi/net_descriptor.h)
  uint64_t incarnation;  // supervisor: 0 for the first driver of the device, +1 per restart
  uint8_t reserved[48];
};
static_assert(sizeof(DriverLaunch) == 64);
static_assert(offsetof(DriverLaunch, adopt_count) == 4);
static_assert(offsetof(DriverLaunch, incarnation) == 8);

// Live status. Written only by the driver; everything here is untrusted.
struct alignas(kCacheLine) DriverStatus {
  uint64_t heartbeat;      // driver: incremented at least every heartbeat_interval_us
  uint32_t state;          // driver: DriverState
  int32_t pid;             // driver: getpid()
  uint64_t requests_done;  // driver: completions posted to the completion ring
  uint64_t interrupts;     // driver: interrupts taken
  uint64_t doorbells;      // driver: doorbell writes (one per batch)
  uint64_t batches;        // driver: request batches taken from the ring
  uint64_t device_errors;  // driver: commands the device completed with an error
  uint64_t rejected;       // driver: descriptors refused as invalid
  char last_error[64];     // driver: NUL-terminated reason when state == kFailed
};
static_assert(sizeof(DriverStatus) == 128);

inline constexpr uint32_t kMaxArmedFaults = 8;

// A fault point compiled into the driver, armed by the supervisor. The
// catalogue of points and what each does is abi/fault_point.h; the writer is
// faultinject/fault_point_request.h, the reader drivers/fault_points.h.
// Update protocol (a seqlock, one writer per slot): the supervisor stores
// generation+1 (odd: being written), then point/after/arg with release, then
// generation+2 (even) with release. The driver accepts a slot only when it
// read the same even generation before and after the fields, and fires each
// arming at most once per generation (it cannot write here to disarm).
struct FaultPointArming {
  uint32_t point;       // supervisor: abi::FaultPoint id, 0 = unused slot
  uint32_t after;       // supervisor: fire on the after-th pass through the point (0 or 1 = next)
  uint32_t generation;  // supervisor: bumped on every change (odd while being written)
  uint32_t arg;         // supervisor: the point's parameter (stall ms, leak MiB); was `reserved`
};
static_assert(sizeof(FaultPointArming) == 16);
static_assert(offsetof(FaultPointArming, generation) == 8);
static_assert(offsetof(FaultPointArming, arg) == 12);

struct ControlBlock {
  uint32_t magic;    // supervisor: kControlBlockMagic
  uint32_t version;  // supervisor: kAbiVersion
  uint8_t reserved0[56];
  DriverConfig config;                       // supervisor, before spawn
  DriverLaunch launch;                       // supervisor, before spawn / standby release
  DriverStatus status;                       // driver
  FaultPointArming faults[kMaxArmedFaults];  // supervisor
  uint8_t reserved2[4096 - 448];
};
static_assert(sizeof(ControlBlock) == 4096);
static_assert(offsetof(ControlBlock, magic) == 0);
static_assert(offsetof(ControlBlock, config) == 64);
static_assert(offsetof(ControlBlock, launch) == 128);
static_assert(offsetof(ControlBlock, status) == 192);
static_assert(offsetof(ControlBlock, faults) == 320);

// Field accessors with the ordering the fields need: the heartbeat and state
// are read by the supervisor's watchdog while the driver writes them.
template <class T>
inline T load_shared(const T& field) {
  return std::atomic_ref<T>(const_cast<T&>(field)).load(std::memory_order_acquire);
}
template <class T>
inline void store_shared(T& field, T value) {
  std::atomic_ref<T>(field).store(value, std::memory_order_release);
}

// A driver giving up: writes `what` (truncated) to last_error, then state
// kFailed with release, so a reader that sees kFailed also sees the reason.
// `cb` may be null (tests without a control block).
inline void record_driver_failure(ControlBlock* cb, std::string_view what) {
  if (cb == nullptr) return;
  size_t n = std::min(what.size(), sizeof cb->status.last_error - 1);
  std::memcpy(cb->status.last_error, what.data(), n);
  cb->status.last_error[n] = '\0';
  store_shared(cb->status.state, static_cast<uint32_t>(DriverState::kFailed));
}

}  // namespace uldd::abi
