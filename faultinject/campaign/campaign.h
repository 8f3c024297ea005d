// Campaign: a fault-injection campaign as written in a campaign file
// (faultinject/campaigns/README.md): which devices to run, which faults to
// inject how often, which verified workload to run meanwhile, and which
// invariants must hold at the end. parse_campaign turns the TOML text into
// this struct or refuses it with "file:line:column: reason", as the
// supervisor configuration and the policy files do; nothing half-parsed is
// used. The schedule (fault_schedule.h) and the runner read only this.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace uldd::campaign {

struct CampaignDevice {
  std::string name;                   // "disk0"; [a-z0-9_-]{1,15}, unique
  std::string kind;                   // "disk" | "nic" (an emulated e1000 behind a TAP)
  std::filesystem::path driver;       // driver executable; empty = the bin dir's default
  std::filesystem::path policy;       // restart policy file; empty = built-in default
  uint64_t size_bytes = 64ull << 20;  // disk size, multiple of 4096 (disks only)
};

struct CampaignFault {
  std::string type;                           // InjectFault type string ("sigkill", ...)
  uint32_t weight = 1;                        // relative frequency, 1..1000000
  std::map<std::string, std::string> params;  // passed to InjectFault ("$seed": see README)
  std::vector<std::string> devices;           // where it may be injected; empty = every device
  std::string where;                          // "file:line:column" of `type`, for later errors
};

struct DiskWorkload {
  std::string name;            // "" = none, "verified-writer"
  uint32_t blocks = 2048;      // blocks written and verified, from offset 0
  uint32_t block_size = 4096;  // bytes, multiple of 4096, <= 1 MiB
  // Beside the writer, on the same disk, each in a region of its own after
  // the writer's blocks (disk_regions): repeated fio write+verify runs
  // (fio_verify_workload.h) and ext4 over a loop device (ext4_fsck_workload.h).
  bool fio_verify = false;
  bool ext4_fsck = false;
};

// Where the disk workloads live on the disk: the writer from 0, then (each
// only if enabled, 1 MiB aligned) fio's region and ext4's region.
inline constexpr uint64_t kFioRegionBytes = 8ull << 20;
inline constexpr uint64_t kExt4RegionBytes = 32ull << 20;
struct DiskRegions {
  uint64_t fio_offset = 0;   // meaningful if fio_verify
  uint64_t ext4_offset = 0;  // meaningful if ext4_fsck
  uint64_t end = 0;          // bytes the disk must hold at least
};
inline DiskRegions disk_regions(const DiskWorkload& w) {
  constexpr uint64_t kMiB = 1ull << 20;
  DiskRegions r;
  uint64_t at = (uint64_t{w.blocks} * w.block_size + kMiB - 1) / kMiB * kMiB;
  r.fio_offset = at;
  if (w.fio_verify) at += kFioRegionBytes;
  r.ext4_offset = at;
  if (w.ext4_fsck) at += kExt4RegionBytes;
  r.end = w.fio_verify || w.ext4_fsck ? at : uint64_t{w.blocks} * w.block_size;
  return r;
}

// The NIC workload (udp_echo_workload.h), run on every [[device]] of kind
// "nic": datagrams through the NIC to an echo peer on the device's wire.
struct NicWorkload {
  std::string name;            // "" = none, "udp-echo"
  uint32_t size = 512;         // datagram bytes (UDP payload), 64..1472
  uint32_t rate = 2000;        // datagrams sent per second at most, 1..100000
  uint32_t window = 32;        // datagrams outstanding at most, 1..4096
  uint32_t timeout_ms = 1000;  // not echoed within this: lost (10..60000)
  // Beside the echo, on every NIC: repeated iperf3 TCP runs host -> wire
  // (iperf3_workload.h).
  bool iperf3 = false;
};

inline constexpr uint64_t kNoLimit = UINT64_MAX;  // an invariant not checked ("any")

struct Invariants {
  uint64_t lost_writes = 0;             // at most this many acknowledged writes missing
  uint64_t corrupted = 0;               // at most this many blocks with wrong bytes
  uint64_t io_errors = 0;               // at most this many I/O errors seen by the workload
  bool supervisor_survives = true;      // the supervisor must outlive the campaign
  double min_recovered_percent = 99.9;  // of faults that had an effect, recovered warm or cold
  // The NIC (udp-echo): a recovery is a stall, but frames the device or the
  // dying driver held may be lost (docs/recovery.md, "NIC (e1000)").
  uint64_t lost_datagrams = 0;       // at most this many datagrams never echoed
  uint64_t corrupted_datagrams = 0;  // at most this many echoes with wrong bytes
  // A duplicate is within the promise (a TX frame the device sent before the
  // crash is reissued: docs/recovery.md): no limit unless set.
  uint64_t duplicated_datagrams = kNoLimit;  // at most this many echoes seen twice
  uint64_t reordered_datagrams = 0;          // at most this many echoes behind a later one
  // iperf3: a TCP stream must survive a recovery (a stall, not a break).
  uint64_t broken_streams = 0;  // at most this many iperf3 runs that failed
};

struct Campaign {
  std::filesystem::path file;  // where it was read from (relative paths resolve against it)
  std::string name;
  uint64_t seed = 1;
  uint32_t faults = 0;              // number of faults; or
  uint32_t duration_s = 0;          // faults until this many seconds are scheduled
  uint32_t interval_ms = 1000;      // mean gap between faults
  uint32_t settle_ms = 2000;        // "window": the wait after a fault; "progress": its bound
  std::string settle = "progress";  // "progress" (decide no-effect early) | "window"
  uint32_t min_settle_ms = 50;      // "progress": no decision before this
  std::vector<CampaignDevice> devices;
  std::vector<CampaignFault> fault_kinds;
  DiskWorkload disk_workload;
  NicWorkload nic_workload;
  Invariants invariants;
};

// Parses campaign TOML. `source` names it in messages and is the base of
// relative paths (driver, policy). Errors: "source:line:column: reason".
Result<Campaign> parse_campaign(std::string_view text, const std::string& source);
Result<Campaign> load_campaign_file(const std::filesystem::path& path);

}  // namespace uldd::campaign
