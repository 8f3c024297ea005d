// classify, compute_totals, evaluate_invariants: see fault_outcome.h.
#include "faultinject/campaign/fault_outcome.h"

#include <cstdio>

namespace uldd::campaign {

const char* to_string(Classification c) {
  switch (c) {
    case Classification::kNotInjected:
      return "not-injected";
    case Classification::kNoEffect:
      return "no-effect";
    case Classification::kRecoveredWarm:
      return "recovered-warm";
    case Classification::kRecoveredCold:
      return "recovered-cold";
    case Classification::kEscalated:
      return "escalated";
    case Classification::kDataCorrupted:
      return "data-corrupted";
    case Classification::kSupervisorLost:
      return "supervisor-lost";
  }
  return "?";
}

// The worst thing that happened wins: losing the supervisor, then data,
// then the device, then how it recovered.
Classification classify(const FaultObservation& o) {
  if (o.supervisor_died) return Classification::kSupervisorLost;
  if (!o.injected) return Classification::kNotInjected;
  if (o.new_data_problems > 0) return Classification::kDataCorrupted;
  if (o.device_failed) return Classification::kEscalated;
  if (o.recovered)
    return o.recovery_mode == "warm" ? Classification::kRecoveredWarm
                                     : Classification::kRecoveredCold;
  if (!o.device_serving_at_end || o.io_stalled) return Classification::kEscalated;
  return Classification::kNoEffect;
}

Totals compute_totals(const std::vector<FaultRecord>& faults, const DataCounts& data) {
  Totals t;
  t.planned = faults.size();
  uint64_t downtime_sum = 0, downtime_count = 0;
  for (const FaultRecord& f : faults) {
    switch (f.classification) {
      case Classification::kNotInjected:
        ++t.not_injected;
        break;
      case Classification::kNoEffect:
        ++t.no_effect;
        break;
      case Classification::kRecoveredWarm:
        ++t.recovered_warm;
        break;
      case Classification::kRecoveredCold:
        ++t.recovered_cold;
        break;
      case Classification::kEscalated:
        ++t.escalated;
        break;
      case Classification::kDataCorrupted:
        ++t.data_corrupted;
        break;
      case Classification::kSupervisorLost:
        ++t.supervisor_lost;
        break;
    }
    if (f.observed.injected) ++t.injected;
    if (f.downtime_us) {
      downtime_sum += *f.downtime_us;
      ++downtime_count;
      if (*f.downtime_us > t.downtime_max_us) t.downtime_max_us = *f.downtime_us;
    }
  }
  if (downtime_count != 0) t.downtime_mean_us = downtime_sum / downtime_count;
  uint64_t with_effect = t.injected - t.no_effect;
  if (with_effect != 0)
    t.recovered_percent =
        100.0 * static_cast<double>(t.recovered_warm + t.recovered_cold) / with_effect;
  t.lost_writes = data.lost_writes;
  t.corrupted_blocks = data.corrupted_blocks;
  t.io_errors = data.io_errors;
  t.writes_acknowledged = data.writes_acknowledged;
  return t;
}

std::vector<InvariantResult> evaluate_invariants(const Invariants& inv, const Totals& t,
                                                 bool supervisor_alive) {
  auto at_most = [](const char* name, uint64_t limit, uint64_t actual) {
    return InvariantResult{name, "<= " + std::to_string(limit), std::to_string(actual),
                           actual <= limit};
  };
  std::vector<InvariantResult> out;
  out.push_back(at_most("lost_writes", inv.lost_writes, t.lost_writes));
  out.push_back(at_most("corrupted", inv.corrupted, t.corrupted_blocks));
  out.push_back(at_most("io_errors", inv.io_errors, t.io_errors));
  bool survived = supervisor_alive && t.supervisor_lost == 0;
  out.push_back(InvariantResult{"supervisor_survives", inv.supervisor_survives ? "true" : "any",
                                survived ? "true" : "false", !inv.supervisor_survives || survived});
  char want[32], got[32];
  std::snprintf(want, sizeof want, ">= %.3g", inv.min_recovered_percent);
  std::snprintf(got, sizeof got, "%.3f", t.recovered_percent);
  out.push_back(InvariantResult{"min_recovered_percent", want, got,
                                t.recovered_percent + 1e-9 >= inv.min_recovered_percent});
  return out;
}

}  // namespace uldd::campaign
