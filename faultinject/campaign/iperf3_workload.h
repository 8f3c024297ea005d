// Iperf3Workload: "iperf3" of [workload], beside the udp-echo on every NIC: a
// TCP stream through the uldd NIC that must not break. An iperf3 server runs
// in the NIC's wire-side network namespace; a client in the host-side
// namespace runs again and again, each run 3 s at 10 Mbit/s to the wire
// address. A recovery of the NIC's driver is a stall for TCP (frames in
// flight are retransmitted), so a run that fails — the stream broke, it could
// not connect, it did not end within 30 s — breaks the product's promise:
// counted as a broken stream and checked by the invariant broken_streams
// (campaign.h; 0 unless [invariants] says otherwise). A run is one
// operation (progress() = runs that passed); the report section "iperf3"
// has the runs, the broken ones with iperf3's words, and the bytes moved.
// Not watched by the fault observer (the udp-echo is the NIC's primary).
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faultinject/campaign/campaign_environment.h"
#include "faultinject/campaign/repeated_runs.h"
#include "faultinject/campaign/spawned_process.h"
#include "faultinject/campaign/workload.h"
#include "faultinject/campaign/workload_failure.h"

namespace uldd::campaign {

inline constexpr uint16_t kIperf3Port = 5201;

struct Iperf3Summary {
  std::string device;
  std::string from, to;  // "198.18.0.1 (netns ...)", "198.18.0.2:5201 (netns ...)"
  uint64_t runs = 0;     // finished (passed + broken)
  uint64_t runs_passed = 0;
  uint64_t broken = 0;
  uint64_t bytes = 0;                     // received by the server in the runs that passed
  std::vector<WorkloadFailure> failures;  // the first kMaxFailuresKept
};
nlohmann::json to_json(const Iperf3Summary& s);
std::string describe(const Iperf3Summary& s);

class Iperf3Workload final : public Workload {
 public:
  // `logs`: a directory for iperf3's output (the campaign's temp dir).
  Iperf3Workload(const NicEndpoints& nic, std::filesystem::path logs,
                 std::chrono::steady_clock::time_point t0);
  ~Iperf3Workload() override { stop(); }
  Iperf3Workload(const Iperf3Workload&) = delete;
  Iperf3Workload& operator=(const Iperf3Workload&) = delete;

  const std::string& name() const override { return name_; }
  const std::string& device() const override { return summary_.device; }
  // Starts the server and waits (5 s at most) until it listens.
  Status start() override;
  uint64_t progress() const override { return progress_.load(std::memory_order_relaxed); }
  uint64_t in_flight() const override { return 1; }
  // Nothing to pin: a broken stream is counted, not a data problem.
  std::optional<std::vector<DataProblem>> verify(int32_t after_fault,
                                                 std::chrono::milliseconds timeout) override;
  // Lets the current run end (bounded by `timeout`), starts no other.
  std::optional<std::vector<DataProblem>> finish(int32_t after_fault,
                                                 std::chrono::milliseconds timeout) override;
  void stop() override;  // ends a running client (not counted), joins, stops the server

  DataCounts data_counts() const override { return {}; }
  void add_to_report(CampaignReport& r) const override;
  std::vector<InvariantResult> check_invariants(const Invariants& inv) const override;

  Iperf3Summary summary() const;

 private:
  std::optional<std::chrono::milliseconds> one_run();  // RepeatedRuns::OneRun

  std::string name_ = "iperf3";
  NicEndpoints nic_;
  std::filesystem::path logs_;
  std::chrono::steady_clock::time_point t0_;
  SpawnedProcess server_;
  std::atomic<uint64_t> progress_{0};
  mutable std::mutex mu_;  // guards summary_
  Iperf3Summary summary_;
  RepeatedRuns runs_;  // last: its thread ends before the rest goes
};

}  // namespace uldd::campaign
