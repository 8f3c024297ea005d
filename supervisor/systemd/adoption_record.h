// AdoptionRecord: what a restarted supervisor needs to know about a device
// beyond its fds: which device-model process serves it (pid + start time, so
// that it can be reattached), which driver process ran (to kill it if it
// outlived its supervisor), and the FUSE_INIT the kernel sent when the FUSE
// file was mounted (replayed to the new libfuse session, docs/fd-store.md).
// One small memfd per device, written only by the supervisor and never handed
// to a driver or model (so its content is trusted), kept in the fd store as
// "<device>.record".
#pragma once

#include <cstddef>
#include <cstdint>

namespace uldd::supervisor::systemd {

inline constexpr uint32_t kAdoptionRecordMagic = 0x55524543;  // "UREC"
inline constexpr uint32_t kAdoptionRecordVersion = 1;
inline constexpr size_t kAdoptionRecordSize = 4096;  // one page: the memfd's size

struct AdoptionRecord {
  uint32_t magic;     // kAdoptionRecordMagic once initialised
  uint32_t version;   // kAdoptionRecordVersion
  int32_t model_pid;  // device model (uldd-hw); -1 when none
  uint32_t reserved0;
  uint64_t model_start_ticks;  // /proc/<pid>/stat field 22
  int32_t driver_pid;          // latest driver process; -1 when none
  uint32_t reserved1;
  uint64_t driver_start_ticks;
  // The FUSE_INIT request exactly as the kernel sent it (fuse_in_header +
  // fuse_init_in), recorded by the FuseFrontend at mount; length 0 = none.
  uint32_t fuse_init_length;
  uint32_t reserved2;
  uint8_t fuse_init[128];
};
static_assert(sizeof(AdoptionRecord) <= kAdoptionRecordSize);
static_assert(offsetof(AdoptionRecord, fuse_init) == 48);

}  // namespace uldd::supervisor::systemd
