// Workload: a verified load the campaign runner keeps running on one device
// while it injects faults — the disk's verified writer (workload_thread.h),
// the NIC's UDP echo (udp_echo_workload.h). The runner holds one per device
// that has one and, for a fault on device D, watches D's workload:
//   - progress(): a monotonic count of completed, verified operations; a
//     device that says "serving" while its workload makes no progress has
//     not recovered;
//   - verify(): pause, check everything done so far, resume; the problems
//     new to this check (after a recovery: they are pinned on that fault);
//   - finish(): the final check, after which the workload does no more;
//   - stop(): end it (after the supervisor went, a stuck operation fails).
// Each adds its own part to the report (counts, problems, invariants).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "faultinject/campaign/data_problem.h"
#include "faultinject/campaign/fault_outcome.h"

namespace uldd::campaign {

struct CampaignReport;

class Workload {
 public:
  virtual ~Workload() = default;

  virtual const std::string& name() const = 0;    // "verified-writer", "udp-echo"
  virtual const std::string& device() const = 0;  // the campaign device it runs on
  virtual Status start() = 0;
  virtual uint64_t progress() const = 0;
  // Operations it may have outstanding at once (disk: 1; echo: its window).
  virtual uint64_t in_flight() const = 0;
  // The problems new to this check; nullopt: it did not finish within
  // `timeout` (I/O stuck; it may still run). Only problems that break the
  // product's promise are returned here (an acknowledged write lost, a byte
  // changed); what the promise allows (a datagram in flight lost at a NIC
  // crash) is counted in the workload's own report and invariants.
  virtual std::optional<std::vector<DataProblem>> verify(int32_t after_fault,
                                                         std::chrono::milliseconds timeout) = 0;
  virtual std::optional<std::vector<DataProblem>> finish(int32_t after_fault,
                                                         std::chrono::milliseconds timeout) = 0;
  // Safe to call twice.
  virtual void stop() = 0;

  // After stop(): the counts that go into the campaign totals (disk: lost
  // writes, corrupted blocks, I/O errors, writes acknowledged) ...
  virtual DataCounts data_counts() const = 0;
  // ... its section of the report ...
  virtual void add_to_report(CampaignReport& r) const = 0;
  // ... and the invariants it checks itself (beyond evaluate_invariants).
  virtual std::vector<InvariantResult> check_invariants(const Invariants& inv) const = 0;
};

}  // namespace uldd::campaign
