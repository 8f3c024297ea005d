// FaultSchedule: which fault is injected where and when in a campaign, as a
// pure function of the campaign and a seed. The same file and seed give the
// identical list (a campaign that found a bug is replayed by its seed), so
// nothing here may depend on time, the machine or the standard library's
// distributions (whose output differs between implementations): the random
// numbers come from SplitMix64 and are shaped by hand.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "faultinject/campaign/campaign.h"

namespace uldd::campaign {

// SplitMix64 (Steele, Lea, Flood 2014): 64-bit state, every seed is good.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0 (rejection: no modulo bias).
  uint64_t below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x = next();
    while (x >= limit) x = next();
    return x % n;
  }

 private:
  uint64_t state_;
};

struct ScheduledFault {
  uint32_t index = 0;  // 0-based, in injection order
  uint64_t at_ms = 0;  // planned time after the workload started
  std::string device;
  std::string type;
  std::map<std::string, std::string> params;  // "$seed" values replaced by a derived seed
  uint32_t kind = 0;                          // index into Campaign::fault_kinds

  bool operator==(const ScheduledFault&) const = default;
};

// Gaps are interval_ms x (0.5 + u), u uniform in [0, 1) in 1/1000 steps (mean
// interval_ms); kinds are drawn by weight; a device uniformly among the
// kind's devices (all devices when it names none). `faults` gives the count;
// `duration_s` schedules faults while at_ms < duration_s x 1000.
std::vector<ScheduledFault> build_schedule(const Campaign& c, uint64_t seed);

}  // namespace uldd::campaign
