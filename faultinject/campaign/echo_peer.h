// EchoPeer: the far end of the udp-echo workload — a thread that sends every
// datagram arriving on its socket (bound on the NIC's wire side, in the wire
// network namespace) back to where it came from, unchanged. For the tests
// that show the echo check can fail it can misbehave on purpose (test only:
// uldd-campaign takes it from the environment variable
// ULDD_CAMPAIGN_TEST_ECHO_PEER, "drop-every=N" or "corrupt-every=N").
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>
#include <thread>

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

 private:
  void run();

  UniqueFd socket_;
  EchoPeerFault fault_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> echoed_{0};
};

}  // namespace uldd::campaign
