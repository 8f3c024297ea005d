// UdpEchoWorkload: the NIC's Workload (workload.h), "udp-echo". A thread
// sends self-describing datagrams (echo_tracker.h) through the uldd NIC — a
// socket in the host-side network namespace, where the shim's TAP is — to an
// EchoPeer on the device's wire, at most `rate` a second and at most
// `window` outstanding, and checks every echo: verified, corrupted,
// duplicated, reordered, late; not echoed within `timeout_ms`: lost.
// progress() = verified echoes (+ finished checks): a NIC whose driver is
// being restarted makes none, which is the stall the runner watches.
// verify() pauses sending, waits until every outstanding datagram is echoed
// or lost, and returns the corrupted echoes new since the last check (a lost
// datagram is counted and checked against [invariants] lost_datagrams, not
// returned: the product allows frames in flight at a crash to be lost).
// A failed send (ENOBUFS, the link down) is not a loss: the same datagram
// is sent again a millisecond later, and the failures are counted.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/unique_fd.h"
#include "faultinject/campaign/campaign.h"
#include "faultinject/campaign/echo_summary.h"
#include "faultinject/campaign/echo_tracker.h"
#include "faultinject/campaign/workload.h"

namespace uldd::campaign {

class UdpEchoWorkload final : public Workload {
 public:
  // `socket`: connected to the peer, in the host-side namespace. `from`,
  // `to` describe the two ends for the report.
  UdpEchoWorkload(std::string device, UniqueFd socket, const NicWorkload& config, uint64_t stream,
                  std::chrono::steady_clock::time_point t0, std::string from, std::string to);
  ~UdpEchoWorkload() override { stop(); }
  UdpEchoWorkload(const UdpEchoWorkload&) = delete;
  UdpEchoWorkload& operator=(const UdpEchoWorkload&) = delete;

  // Before the clock starts: one datagram must come back within
  // `timeout` (ARP resolved, peer up); it is not counted.
  Status wait_until_echoing(std::chrono::milliseconds timeout);
  // Before start(): how to ask the peer whether it received a datagram
  // twice (EchoTracker::set_peer_received_twice).
  void set_peer_received_twice(std::function<bool(uint64_t)> f) {
    tracker_.set_peer_received_twice(std::move(f));
  }

  const std::string& name() const override { return name_; }
  const std::string& device() const override { return device_; }
  Status start() override;
  uint64_t progress() const override { return progress_.load(std::memory_order_relaxed); }
  uint64_t in_flight() const override { return config_.window; }
  std::optional<std::vector<DataProblem>> verify(int32_t after_fault,
                                                 std::chrono::milliseconds timeout) override;
  std::optional<std::vector<DataProblem>> finish(int32_t after_fault,
                                                 std::chrono::milliseconds timeout) override;
  void stop() override;

  DataCounts data_counts() const override { return {}; }
  void add_to_report(CampaignReport& r) const override;
  std::vector<InvariantResult> check_invariants(const Invariants& inv) const override;

  EchoSummary summary() const;  // after stop()

 private:
  void run();
  uint64_t now_us() const;
  void receive_all(int32_t after_fault);
  void drain(int32_t after_fault);  // until nothing is outstanding (echoed or lost)

  std::string name_ = "udp-echo";
  std::string device_;
  UniqueFd socket_;
  NicWorkload config_;
  std::chrono::steady_clock::time_point t0_;
  std::string from_, to_;
  EchoTracker tracker_;
  std::vector<uint8_t> out_, in_;
  uint64_t send_errors_ = 0;
  uint64_t verifications_ = 0;
  std::atomic<int32_t> last_fault_{-1};  // tags problems seen between checks

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> progress_{0};
  bool stopping_ = false;
  bool verify_requested_ = false;
  bool stop_after_verify_ = false;
  int32_t verify_after_fault_ = -1;
  uint64_t verify_done_count_ = 0;
  std::vector<DataProblem> verify_result_;
};

}  // namespace uldd::campaign
