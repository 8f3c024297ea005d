// run_campaign: `uldd-campaign run`. Loads a campaign file, builds its fault
// schedule, starts the private bus and the supervisor (campaign_environment.h),
// runs the verified workload (workload_thread.h), injects each scheduled
// fault through the supervisor's InjectFault call, follows the Recovered and
// DeviceStateChanged signals to classify it (fault_outcome.h), reads the
// disk back after every recovery and at the end, and writes the report
// (campaign_report.h). SIGINT/SIGTERM stop injecting; the final read-back
// and a partial report marked "interrupted" still happen.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

namespace uldd::campaign {

// Exit statuses of uldd-campaign.
inline constexpr int kExitPass = 0;
inline constexpr int kExitInvariantFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitSetup = 3;

struct RunOptions {
  std::filesystem::path file;
  std::optional<uint64_t> seed;      // overrides [campaign] seed
  std::filesystem::path report_dir;  // empty: ./campaign-<name>-<seed>
  std::filesystem::path bin_dir;     // uldd-supervisor and the default drivers
  bool progress_tty = false;         // live one-line progress instead of plain lines
};

int run_campaign(const RunOptions& o);

}  // namespace uldd::campaign
