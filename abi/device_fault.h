// DeviceFaultRegion: how the supervisor tells a device model (uldd-hw) to
// misbehave as broken hardware would — lose or invent an interrupt, delay or
// fail a command, report media errors, hang until reset — and how the model
// reports what it did. One 4 KiB memfd per device, created by the supervisor
// (supervisor/device_fd_set.h, kept in the fd store) and handed to the model
// at fd hw::kModelFdFaults (devices/device_model_fds.h). Never given to a
// driver: device faults are the supervisor's, the driver is untrusted.
//
// Each cache line has one writer, named on every field:
//   line 0     header                supervisor, before the model starts
//   lines 1-4  DeviceFaultArming[8]  supervisor (the model only reads)
//   line 5     taken[8]              model: the generation of each slot it took
//   lines 6-7  DeviceFaultCounters   model (the supervisor and tests only read)
//
// Update protocol of a slot (a seqlock, one writer, as FaultPointArming in
// abi/control_block.h): the supervisor stores generation+1 (odd), then the
// fields with release, then generation+2 (even). The model accepts a slot
// only when it read the same even generation before and after the fields,
// and takes each generation once; it records it in taken[slot], so a model
// that starts again on the same region does not take an old arming twice.
// Writer: faultinject/device_fault_request.h; reader:
// devices/device_fault_reader.h. Catalogue: faultinject/README.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "abi/abi_version.h"

namespace uldd::abi {

inline constexpr uint32_t kDeviceFaultMagic = 0x46444c55;  // "ULDF"
inline constexpr uint32_t kDeviceFaultVersion = 1;
inline constexpr uint32_t kMaxDeviceFaults = 8;

// The ids are ABI (the supervisor writes them, a model of another build reads
// them): a number is never reused. "Pass" is what counts towards `after`.
enum class DeviceFault : uint32_t {
  kNone = 0,
  // The next interrupt the model would raise is not raised; what it reports
  // (CQ entries, ICR causes) is in place (pass: an interrupt to raise).
  kLostInterrupt = 1,
  // Raise one interrupt now with nothing to report (fires when taken).
  kSpuriousInterrupt = 2,
  // The next I/O command (NVMe) / TX frame (e1000) completes `arg` ms late
  // (pass: an I/O command / a TDT write with frames to send).
  kDelayedCommand = 3,
  // NVMe: the next I/O command completes with status `arg` (SCT << 8 | SC)
  // without being executed. e1000: arg kE1000FailTx: the next TX frame is not
  // sent and written back with DD | EC; kE1000FailRx: the next frame received
  // is delivered with errors = CE (pass: an I/O command / a frame).
  kFailedCommand = 4,
  // NVMe only: reads touching [lba, lba + count) complete with Unrecovered
  // Read Error (SCT 2h, SC 81h) until written or cleared; persists.
  kMediaError = 5,
  // The model stops processing commands and raising interrupts until the
  // driver resets the device (NVMe CC.EN 1 -> 0, e1000 CTRL.RST).
  kDeviceHang = 6,
  // Clears a media-error range and ends a hang (fires when taken).
  kClearDeviceFaults = 7,
};
inline constexpr uint32_t kDeviceFaultIdLimit = 8;  // ids are 1..kDeviceFaultIdLimit-1

inline constexpr uint32_t kE1000FailTx = 1;
inline constexpr uint32_t kE1000FailRx = 2;

inline constexpr uint32_t kDeviceModelNvme = 1;
inline constexpr uint32_t kDeviceModelE1000 = 2;

struct DeviceFaultArming {
  uint32_t fault;       // supervisor: DeviceFault id, 0 = unused slot
  uint32_t after;       // supervisor: fire on the after-th pass (0 or 1 = next)
  uint32_t generation;  // supervisor: +2 per change (odd while being written)
  uint32_t arg;         // supervisor: delayed-command ms, failed-command status
  uint64_t lba;         // supervisor: media-error first LBA
  uint64_t count;       // supervisor: media-error block count
};
static_assert(sizeof(DeviceFaultArming) == 32);
static_assert(offsetof(DeviceFaultArming, generation) == 8);
static_assert(offsetof(DeviceFaultArming, lba) == 16);
static_assert(offsetof(DeviceFaultArming, count) == 24);

// What the model did, per fault (indexed by DeviceFault id). Untrusted only in
// the sense that the model is our code, not the driver's: the supervisor shows
// it, tests check it.
struct alignas(kCacheLine) DeviceFaultCounters {
  uint64_t fired[kDeviceFaultIdLimit];  // model: times each fault took effect (media-error:
                                        //   reads failed; device-hang: hangs entered)
  uint32_t hung;                        // model: 1 while a device-hang holds
  uint32_t media_error_blocks;          // model: blocks still reporting URE (saturated)
  uint64_t hang_resets;                 // model: hangs ended by a device reset
  uint8_t reserved[48];
};
static_assert(sizeof(DeviceFaultCounters) == 128);

struct DeviceFaultRegion {
  uint32_t magic;         // supervisor: kDeviceFaultMagic
  uint32_t version;       // supervisor: kDeviceFaultVersion
  uint32_t device_model;  // supervisor: kDeviceModelNvme / kDeviceModelE1000
  uint8_t reserved0[52];
  DeviceFaultArming slots[kMaxDeviceFaults];  // supervisor
  uint32_t taken[kMaxDeviceFaults];           // model: generation of each slot taken
  uint8_t reserved1[32];
  DeviceFaultCounters counters;  // model
  uint8_t reserved2[4096 - 512];
};
static_assert(sizeof(DeviceFaultRegion) == 4096);
static_assert(offsetof(DeviceFaultRegion, slots) == 64);
static_assert(offsetof(DeviceFaultRegion, taken) == 320);
static_assert(offsetof(DeviceFaultRegion, counters) == 384);

// The operator's name of a fault ("lost-interrupt", ...), or "" for unknown.
constexpr std::string_view device_fault_name(DeviceFault f) {
  switch (f) {
    case DeviceFault::kLostInterrupt:
      return "lost-interrupt";
    case DeviceFault::kSpuriousInterrupt:
      return "spurious-interrupt";
    case DeviceFault::kDelayedCommand:
      return "delayed-command";
    case DeviceFault::kFailedCommand:
      return "failed-command";
    case DeviceFault::kMediaError:
      return "media-error";
    case DeviceFault::kDeviceHang:
      return "device-hang";
    case DeviceFault::kClearDeviceFaults:
      return "clear-device-faults";
    case DeviceFault::kNone:
      break;
  }
  return "";
}

}  // namespace uldd::abi
