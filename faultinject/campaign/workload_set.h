// WorkloadSet: the verified workloads of one campaign run: a primary one per
// device that has one — the disk's verified writer on the first disk
// ([workload] disk), the udp-echo on every NIC ([workload] nic, with its echo
// peer on the NIC's wire side) — and beside them the side workloads asked
// for (fio_verify and ext4_fsck on the writer's disk, iperf3 on every NIC;
// each checks itself and reports its own section) — started together after
// the devices serve, finished together at the end, and stopped on every
// path by destruction (workloads first, then the echo peers). The runner
// asks for the primary workload of a fault's device and adds each one's
// part to the report.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "faultinject/campaign/campaign.h"
#include "faultinject/campaign/campaign_environment.h"
#include "faultinject/campaign/echo_peer.h"
#include "faultinject/campaign/workload.h"

namespace uldd::campaign {

inline constexpr uint16_t kEchoPort = 7007;

class WorkloadSet {
 public:
  // Opens and starts every workload of `c` (the NICs must be addressed:
  // CampaignEnvironment::address_nics). `peer_fault` makes the echo peers
  // misbehave (tests only; echo_peer.h).
  static Result<std::unique_ptr<WorkloadSet>> start(const Campaign& c, CampaignEnvironment& env,
                                                    uint64_t seed,
                                                    std::chrono::steady_clock::time_point t0,
                                                    const EchoPeerFault& peer_fault);
  WorkloadSet() = default;
  ~WorkloadSet() { stop(); }
  WorkloadSet(const WorkloadSet&) = delete;
  WorkloadSet& operator=(const WorkloadSet&) = delete;

  // The primary workload on `device` (the one the runner watches for
  // progress and asks for read-backs), or null.
  Workload* for_device(const std::string& device) const;
  bool empty() const { return workloads_.empty(); }
  // The final check of every workload; false if one did not finish within
  // `timeout`. Stop afterwards.
  bool finish(int32_t after_fault, std::chrono::milliseconds timeout);
  void stop();  // idempotent
  // After stop(): the summed totals counts, each one's report section and
  // its own invariants (appended to r.invariants).
  DataCounts data_counts() const;
  void add_to_report(CampaignReport& r, const Invariants& inv) const;

 private:
  std::vector<std::unique_ptr<Workload>> workloads_;
  std::vector<std::unique_ptr<EchoPeer>> peers_;
};

}  // namespace uldd::campaign
