// build_schedule: see fault_schedule.h.
#include "faultinject/campaign/fault_schedule.h"

namespace uldd::campaign {

std::vector<ScheduledFault> build_schedule(const Campaign& c, uint64_t seed) {
  std::vector<ScheduledFault> out;
  if (c.fault_kinds.empty() || c.devices.empty()) return out;
  SplitMix64 rng(seed);
  uint64_t total_weight = 0;
  for (const CampaignFault& f : c.fault_kinds) total_weight += f.weight;
  const uint64_t limit_ms = uint64_t{c.duration_s} * 1000;
  uint64_t at_ms = 0;
  for (uint32_t i = 0;; ++i) {
    if (c.faults != 0 && i >= c.faults) break;
    at_ms += uint64_t{c.interval_ms} * (500 + rng.below(1000)) / 1000;
    if (c.faults == 0 && at_ms >= limit_ms) break;
    uint64_t pick = rng.below(total_weight);
    uint32_t kind = 0;
    while (pick >= c.fault_kinds[kind].weight) pick -= c.fault_kinds[kind++].weight;
    const CampaignFault& f = c.fault_kinds[kind];
    ScheduledFault s;
    s.index = i;
    s.at_ms = at_ms;
    s.kind = kind;
    s.type = f.type;
    if (f.devices.empty()) {
      s.device = c.devices[rng.below(c.devices.size())].name;
    } else {
      s.device = f.devices[rng.below(f.devices.size())];
    }
    s.params = f.params;
    for (auto& [key, value] : s.params)
      if (value == "$seed") value = std::to_string(rng.next() >> 1);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace uldd::campaign
