// FaultPoint: the catalogue of fault points compiled into the drivers and
// armed through ControlBlock::faults[] (abi/control_block.h). The ids are ABI:
// the supervisor writes them, a driver of another build reads them, so a
// number is never reused. What the supervisor then expects to see is in
// faultinject/README.md. "Pass" below is what counts towards `after`.
#pragma once

#include <cstdint>
#include <string_view>

namespace uldd::abi {

enum class FaultPoint : uint32_t {
  kNone = 0,
  // abort() in completion handling, once completions were reaped from the
  // device (pass: a reap that returned completions). Both drivers.
  kCrashHere = 1,
  // Do not write the SQ tail (NVMe) / TDT (e1000) doorbell of this batch;
  // the commands stay unissued until a later batch rings it (pass: a batch
  // that would write it). Both drivers.
  kSkipDoorbell = 2,
  // Report one completion to the shim with len + kWrongLengthDelta (pass:
  // each completion posted). Both drivers (e1000: tx_done and rx_done).
  kWrongLength = 3,
  // Give the device one command whose buffer address lies just outside the
  // DMA region (pass: each I/O command / TX frame). The device must refuse
  // it: the NVMe model fails it with Data Transfer Error (the shim sees
  // kIoError), the e1000 model drops the frame (tx_bad_descriptors).
  kWrongIova = 4,
  // Post one completion to the shim twice (pass: each completion). Both.
  kDoubleCompletion = 5,
  // Drop one completion instead of posting it (pass: each completion). Both.
  kLostCompletion = 6,
  // From the after-th loop iteration on, allocate and touch `arg` MiB on
  // EVERY iteration until the slot changes, so a memory limit kills the
  // process (the only point that fires more than once per generation).
  kLeakMemory = 7,
  // Sleep `arg` ms in the event loop without beating (pass: loop iteration):
  // the heartbeat stops, the supervisor's watch must call it hung.
  kStall = 8,
};

inline constexpr uint32_t kFaultPointIdLimit = 9;  // ids are 1..kFaultPointIdLimit-1
inline constexpr uint32_t kWrongLengthDelta = 4096;
inline constexpr uint32_t kDefaultLeakMib = 16;
inline constexpr uint32_t kDefaultStallMs = 5000;

// The operator's name of a point ("crash-here", ...), or "" for an unknown id.
constexpr std::string_view fault_point_name(FaultPoint p) {
  switch (p) {
    case FaultPoint::kCrashHere:
      return "crash-here";
    case FaultPoint::kSkipDoorbell:
      return "skip-doorbell";
    case FaultPoint::kWrongLength:
      return "wrong-length";
    case FaultPoint::kWrongIova:
      return "wrong-iova";
    case FaultPoint::kDoubleCompletion:
      return "double-completion";
    case FaultPoint::kLostCompletion:
      return "lost-completion";
    case FaultPoint::kLeakMemory:
      return "leak-memory";
    case FaultPoint::kStall:
      return "stall";
    case FaultPoint::kNone:
      break;
  }
  return "";
}

}  // namespace uldd::abi
