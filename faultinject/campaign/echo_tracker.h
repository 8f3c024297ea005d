// EchoTracker: the bookkeeping of the udp-echo workload (udp_echo_workload.h)
// without any socket, so that its rules are unit-tested. Every datagram
// describes itself — magic, the crc32c of everything after the checksum,
// sequence number, send time, the run's stream tag, and a payload derived
// from stream and sequence — and the tracker knows which sequence numbers
// are outstanding. An echo is then exactly one of:
//   - verified: intact, outstanding (counts as progress; its round trip is
//     recorded); if a later sequence number was already echoed it is also
//     counted as REORDERED;
//   - CORRUPTED: checksum, magic, stream or payload wrong (an outstanding
//     sequence number it names is settled by it: not lost as well);
//   - DUPLICATED: intact, already echoed — or intact and behind a later one
//     while the peer received its datagram twice (set_peer_received_twice):
//     a TX frame the NIC's shim reissued after a restart (docs/recovery.md,
//     "never a reordering by us") whose first echo was lost; the peer saw
//     the datagrams in order, so this is a duplicate, not a reordering;
//   - LATE: intact, but already declared lost (then it is no longer lost);
// and an outstanding datagram not echoed within the timeout is LOST.
// Not thread-safe; the workload's thread owns it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace uldd::campaign {

inline constexpr uint32_t kEchoMagic = 0x4b434555;  // "UECK"
inline constexpr size_t kEchoHeader = 32;  // magic u32, crc u32, seq u64, sent_us u64, stream u64
inline constexpr size_t kEchoMinSize = 64;

// Writes datagram `seq` of `stream`, sent at `sent_us`, into `buf` (its size
// is the datagram's, >= kEchoMinSize).
void fill_echo_datagram(std::span<uint8_t> buf, uint64_t stream, uint64_t seq, uint64_t sent_us);

struct EchoProblem {
  enum class Kind { kLost, kCorrupted, kDuplicated, kReordered, kLate };
  Kind kind = Kind::kLost;
  uint64_t seq = 0;                 // the datagram (corrupted: as its header says, if plausible)
  int64_t first_wrong_offset = -1;  // corrupted: first byte that differs from what was sent
  int32_t after_fault = -1;         // the last fault injected before it was seen
  uint64_t at_ms = 0;               // when it was seen (since the campaign's t0)
};
const char* to_string(EchoProblem::Kind k);

struct EchoCounts {
  uint64_t sent = 0;
  uint64_t verified = 0;  // intact first echoes (reordered ones included)
  uint64_t lost = 0;      // declared lost and never echoed after all
  uint64_t late = 0;      // echoed after the timeout had declared them lost
  uint64_t corrupted = 0;
  uint64_t duplicated = 0;
  uint64_t reordered = 0;
};

class EchoTracker {
 public:
  EchoTracker(uint32_t size, uint64_t stream);

  uint32_t size() const { return size_; }
  // Fills `buf` (size() bytes) with the next datagram and records it as
  // outstanding; returns its sequence number (from 1).
  uint64_t next(std::span<uint8_t> buf, uint64_t now_us);
  // The last next() could not be sent after all: forget it (it is sent
  // again under the same number).
  void unsend(uint64_t seq);
  // One received echo. Returns true if it was a verified echo.
  bool on_echo(std::span<const uint8_t> data, uint64_t now_us, int32_t after_fault);
  // Whether the peer received datagram `seq` more than once (EchoPeer);
  // unset: an echo behind a later one is always REORDERED.
  void set_peer_received_twice(std::function<bool(uint64_t seq)> f) {
    peer_received_twice_ = std::move(f);
  }
  // Declares every datagram outstanding longer than `timeout_us` lost.
  void expire(uint64_t now_us, uint64_t timeout_us, int32_t after_fault);
  // Sending resumes after a pause of the workload's own (a check): the
  // time until the next verified echo counts from here, so that a stall
  // measures the NIC, not the pause.
  void resume(uint64_t now_us) { last_verified_us_ = std::max(last_verified_us_, now_us); }

  size_t outstanding() const { return outstanding_.size(); }
  const EchoCounts& counts() const { return counts_; }
  // Every problem so far, the first kMaxProblemsKept in detail.
  const std::vector<EchoProblem>& problems() const { return problems_; }
  static constexpr size_t kMaxProblemsKept = 1000;
  // Corrupted echoes since the last call (for verify()).
  std::vector<EchoProblem> take_new_corrupted();

  // Round trips of verified echoes: percentile (0..100) in microseconds,
  // to the 10 us bucket; the maximum exactly.
  uint64_t rtt_percentile_us(double p) const;
  uint64_t rtt_max_us() const { return rtt_max_us_; }
  // Verified echoes per 100 ms since the tracker's time 0.
  const std::vector<uint32_t>& echoes_per_100ms() const { return per_100ms_; }
  // The longest time between two verified echoes (a recovery's stall as
  // the echo saw it), and every such gap longer than kStallMinUs.
  uint64_t max_gap_us() const { return max_gap_us_; }
  struct Stall {
    uint64_t at_ms = 0;  // the last verified echo before it
    uint64_t us = 0;
  };
  const std::vector<Stall>& stalls() const { return stalls_; }
  static constexpr uint64_t kStallMinUs = 50'000;

 private:
  enum State : uint8_t { kUnsent, kOutstanding, kEchoed, kLostState, kLateState, kCorruptState };
  void add_problem(EchoProblem::Kind k, uint64_t seq, int64_t offset, int32_t fault, uint64_t us);
  void record_verified(uint64_t seq, uint64_t sent_us, uint64_t now_us);

  uint32_t size_;
  uint64_t stream_;
  uint64_t next_seq_ = 1;
  std::vector<uint8_t> state_;                // per sequence number
  std::map<uint64_t, uint64_t> outstanding_;  // seq -> sent_us
  uint64_t highest_verified_ = 0;
  std::function<bool(uint64_t)> peer_received_twice_;
  EchoCounts counts_;
  std::vector<EchoProblem> problems_;
  size_t corrupted_taken_ = 0;         // problems_ index up to which take_new_corrupted looked
  std::vector<uint8_t> expect_;        // scratch: the datagram as sent
  std::vector<uint64_t> rtt_buckets_;  // 10 us each, the last one open-ended
  uint64_t rtt_max_us_ = 0;
  std::vector<uint32_t> per_100ms_;
  uint64_t last_verified_us_ = 0;
  uint64_t max_gap_us_ = 0;
  std::vector<Stall> stalls_;
};

}  // namespace uldd::campaign
