// EchoSummary: what the udp-echo workload of one NIC reports
// (udp_echo_workload.h; report.json "nic_workloads"): its configuration,
// the counts of its echo check, round trips, the stalls it saw, the
// problems in detail.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "faultinject/campaign/campaign.h"
#include "faultinject/campaign/echo_tracker.h"

namespace uldd::campaign {

// The NIC workload's section of the report (one per NIC device).
struct EchoSummary {
  std::string device;
  std::string name;  // "udp-echo"
  std::string from;  // "198.18.0.1 (netns ...)"
  std::string to;
  NicWorkload config;
  EchoCounts counts;
  uint64_t send_errors = 0;
  uint64_t verifications = 0;
  uint64_t rtt_p50_us = 0, rtt_p99_us = 0, rtt_max_us = 0;
  uint64_t max_stall_us = 0;  // longest time without a verified echo
  std::vector<EchoTracker::Stall> stalls;
  std::vector<EchoProblem> problems;  // the first EchoTracker::kMaxProblemsKept
  std::vector<uint32_t> echoes_per_100ms;
};

}  // namespace uldd::campaign
