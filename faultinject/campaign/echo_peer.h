// EchoPeer: the far end of the udp-echo workload — a thread that sends every
// datagram arriving on its socket (bound on the NIC's wire side, in the wire
// network namespace) back to where it came from, unchanged. For the tests
// that show the echo check can fail it can misbehave on purpose (test only:
// uldd-campaign takes it from the environment variable
// ULDD_CAMPAIGN_TEST_ECHO_PEER, "drop-every=N" or "corrupt-every=N").
// It notes which sequence numbers it received more than once (the
// udp-echo's header, echo_tracker.h), so that the tracker can tell a
// reissued frame from a reordered one.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace uldd::campaign {

struct EchoPeerFault {
  uint32_t drop_every = 0;     // every Nth datagram is not echoed (0 = never)
  uint32_t corrupt_every = 0;  // every Nth echo has one payload byte flipped (0 = never)
};
// "" -> none; "drop-every=N" | "corrupt-every=N" (N >= 1).
Result<EchoPeerFault> parse_echo_peer_fault(std::string_view text);

class EchoPeer {
 public:
  EchoPeer(UniqueFd socket, EchoPeerFault fault);
  ~EchoPeer() { stop(); }
  EchoPeer(const EchoPeer&) = delete;
  EchoPeer& operator=(const EchoPeer&) = delete;

  void start();
  void stop();  // joins; idempotent
  uint64_t echoed() const { return echoed_.load(std::memory_order_relaxed); }
  // Whether a udp-echo datagram with this sequence number arrived twice or
  // more (before its echo went out). Any thread.
  bool received_twice(uint64_t seq) const;

 private:
  static constexpr uint64_t kMaxSeqTracked = uint64_t{1} << 27;  // 128 MiB of counts at most
  void run();
  void note_received(const uint8_t* d, size_t n);

  UniqueFd socket_;
  EchoPeerFault fault_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> echoed_{0};
  mutable std::mutex seen_mutex_;
  uint64_t stream_ = 0;        // the udp-echo stream seen_ counts for
  std::vector<uint8_t> seen_;  // per sequence number: times received (saturating at 2)
};

}  // namespace uldd::campaign
