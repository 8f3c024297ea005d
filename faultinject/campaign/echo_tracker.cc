// EchoTracker: see echo_tracker.h.
#include "faultinject/campaign/echo_tracker.h"

#include <algorithm>
#include <cstring>

#include "common/crc32c.h"

namespace uldd::campaign {
namespace {

constexpr uint64_t kBucketUs = 10;
constexpr size_t kBuckets = 20'000;  // 200 ms in 10 us steps, then one open-ended bucket

uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace

void fill_echo_datagram(std::span<uint8_t> buf, uint64_t stream, uint64_t seq, uint64_t sent_us) {
  uint64_t x = (seq ^ (stream * 0xBF58476D1CE4E5B9ull)) * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = kEchoHeader; i < buf.size(); ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    buf[i] = static_cast<uint8_t>(x);
  }
  std::memcpy(&buf[0], &kEchoMagic, 4);
  std::memcpy(&buf[8], &seq, 8);
  std::memcpy(&buf[16], &sent_us, 8);
  std::memcpy(&buf[24], &stream, 8);
  uint32_t crc = crc32c(buf.data() + 8, buf.size() - 8);
  std::memcpy(&buf[4], &crc, 4);
}

const char* to_string(EchoProblem::Kind k) {
  switch (k) {
    case EchoProblem::Kind::kLost:
      return "lost";
    case EchoProblem::Kind::kCorrupted:
      return "corrupted";
    case EchoProblem::Kind::kDuplicated:
      return "duplicated";
    case EchoProblem::Kind::kReordered:
      return "reordered";
    case EchoProblem::Kind::kLate:
      return "late";
  }
  return "?";
}

EchoTracker::EchoTracker(uint32_t size, uint64_t stream)
    : size_(std::max<uint32_t>(size, kEchoMinSize)),
      stream_(stream),
      expect_(size_),
      rtt_buckets_(kBuckets + 1, 0) {
  state_.push_back(kUnsent);  // sequence numbers start at 1
}

uint64_t EchoTracker::next(std::span<uint8_t> buf, uint64_t now_us) {
  uint64_t seq = next_seq_++;
  fill_echo_datagram(buf.first(size_), stream_, seq, now_us);
  state_.push_back(kOutstanding);
  outstanding_[seq] = now_us;
  ++counts_.sent;
  return seq;
}

void EchoTracker::unsend(uint64_t seq) {
  if (seq + 1 != next_seq_ || outstanding_.erase(seq) == 0) return;
  state_.pop_back();
  --next_seq_;
  --counts_.sent;
}

void EchoTracker::add_problem(EchoProblem::Kind k, uint64_t seq, int64_t offset, int32_t fault,
                              uint64_t us) {
  if (problems_.size() < kMaxProblemsKept)
    problems_.push_back(EchoProblem{k, seq, offset, fault, us / 1000});
}

void EchoTracker::record_verified(uint64_t seq, uint64_t sent_us, uint64_t now_us) {
  ++counts_.verified;
  uint64_t rtt = now_us > sent_us ? now_us - sent_us : 0;
  ++rtt_buckets_[std::min<uint64_t>(rtt / kBucketUs, kBuckets)];
  rtt_max_us_ = std::max(rtt_max_us_, rtt);
  size_t bin = now_us / 100'000;
  if (per_100ms_.size() <= bin) per_100ms_.resize(bin + 1, 0);
  ++per_100ms_[bin];
  if (counts_.verified > 1 && now_us > last_verified_us_) {
    uint64_t gap = now_us - last_verified_us_;
    max_gap_us_ = std::max(max_gap_us_, gap);
    if (gap >= kStallMinUs && stalls_.size() < kMaxProblemsKept)
      stalls_.push_back(Stall{last_verified_us_ / 1000, gap});
  }
  last_verified_us_ = std::max(last_verified_us_, now_us);
  highest_verified_ = std::max(highest_verified_, seq);
}

bool EchoTracker::on_echo(std::span<const uint8_t> d, uint64_t now_us, int32_t after_fault) {
  // What the header says, where it is plausible: a sequence number we sent.
  uint64_t seq = d.size() >= kEchoHeader ? load64(&d[8]) : 0;
  bool known = seq >= 1 && seq < next_seq_;
  bool intact = d.size() == size_ && load32(&d[0]) == kEchoMagic && known &&
                load64(&d[24]) == stream_ && crc32c(d.data() + 8, d.size() - 8) == load32(&d[4]);
  int64_t wrong = -1;
  if (intact || known) {
    // The datagram as sent (its send time is in the header; if the header
    // is damaged the payload comparison still tells which byte).
    uint64_t sent_us = outstanding_.count(seq) ? outstanding_[seq] : load64(&d[16]);
    fill_echo_datagram(expect_, stream_, seq, sent_us);
    size_t n = std::min(d.size(), expect_.size());
    for (size_t i = 0; i < n && wrong < 0; ++i)
      if (d[i] != expect_[i]) wrong = static_cast<int64_t>(i);
    if (wrong < 0 && d.size() != expect_.size()) wrong = static_cast<int64_t>(n);
    if (wrong >= 0) intact = false;
  }
  if (!intact) {
    ++counts_.corrupted;
    add_problem(EchoProblem::Kind::kCorrupted, known ? seq : 0, wrong, after_fault, now_us);
    if (known && state_[seq] == kOutstanding) {
      state_[seq] = kCorruptState;  // settled: not lost as well
      outstanding_.erase(seq);
    }
    return false;
  }
  switch (state_[seq]) {
    case kOutstanding: {
      uint64_t sent_us = outstanding_[seq];
      outstanding_.erase(seq);
      state_[seq] = kEchoed;
      if (seq < highest_verified_) {
        if (peer_received_twice_ && peer_received_twice_(seq)) {
          ++counts_.duplicated;  // a reissued frame; its first echo was lost
          add_problem(EchoProblem::Kind::kDuplicated, seq, -1, after_fault, now_us);
        } else {
          ++counts_.reordered;
          add_problem(EchoProblem::Kind::kReordered, seq, -1, after_fault, now_us);
        }
      }
      record_verified(seq, sent_us, now_us);
      return true;
    }
    case kLostState:
      state_[seq] = kLateState;
      --counts_.lost;
      ++counts_.late;
      add_problem(EchoProblem::Kind::kLate, seq, -1, after_fault, now_us);
      return false;
    default:  // echoed (or late, or corrupt) before: one more copy
      ++counts_.duplicated;
      add_problem(EchoProblem::Kind::kDuplicated, seq, -1, after_fault, now_us);
      return false;
  }
}

void EchoTracker::expire(uint64_t now_us, uint64_t timeout_us, int32_t after_fault) {
  for (auto it = outstanding_.begin(); it != outstanding_.end();) {
    if (now_us < it->second + timeout_us) {
      ++it;
      continue;
    }
    state_[it->first] = kLostState;
    ++counts_.lost;
    add_problem(EchoProblem::Kind::kLost, it->first, -1, after_fault, now_us);
    it = outstanding_.erase(it);
  }
}

std::vector<EchoProblem> EchoTracker::take_new_corrupted() {
  std::vector<EchoProblem> out;
  for (; corrupted_taken_ < problems_.size(); ++corrupted_taken_)
    if (problems_[corrupted_taken_].kind == EchoProblem::Kind::kCorrupted)
      out.push_back(problems_[corrupted_taken_]);
  return out;
}

uint64_t EchoTracker::rtt_percentile_us(double p) const {
  if (counts_.verified == 0) return 0;
  auto want = static_cast<uint64_t>(static_cast<double>(counts_.verified) * p / 100.0);
  uint64_t seen = 0;
  for (size_t i = 0; i < rtt_buckets_.size(); ++i) {
    seen += rtt_buckets_[i];
    if (seen > want || (seen == counts_.verified && seen > 0))
      return i == kBuckets ? rtt_max_us_ : std::min((i + 1) * kBucketUs, rtt_max_us_);
  }
  return rtt_max_us_;
}

}  // namespace uldd::campaign
