// classify, the late-recovery attribution, compute_totals,
// evaluate_invariants: see fault_outcome.h.
#include "faultinject/campaign/fault_outcome.h"

#include <algorithm>
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

const char* to_string(DecidedBy d) {
  switch (d) {
    case DecidedBy::kNone:
      return "none";
    case DecidedBy::kSignal:
      return "signal";
    case DecidedBy::kProgress:
      return "progress";
    case DecidedBy::kWindow:
      return "window";
    case DecidedBy::kGrace:
      return "grace";
    case DecidedBy::kLatent:
      return "latent";
    case DecidedBy::kPreempted:
      return "preempted";
    case DecidedBy::kSupervisor:
      return "supervisor";
  }
  return "?";
}

bool detected_before(const ctl::BusEvent& recovered, uint64_t realtime_us) {
  uint64_t since = std::max(recovered.detect_to_serving_us, recovered.downtime_us);
  if (recovered.received_realtime_us < since) return false;
  return recovered.received_realtime_us - since < realtime_us;
}

FaultRecord* owner_of_recovery(std::vector<FaultRecord>& faults, const std::string& device,
                               uint32_t old_pid, bool* extra) {
  *extra = false;
  if (old_pid == 0) return nullptr;
  for (auto it = faults.rbegin(); it != faults.rend(); ++it) {
    if (it->fault.device != device || !it->observed.injected) continue;
    if (it->driver_pid == old_pid) return &*it;
    if (it->new_driver_pid == old_pid) {
      *extra = true;
      return &*it;
    }
  }
  return nullptr;
}

bool recovery_belongs_to(const FaultRecord& rec, std::vector<FaultRecord>& earlier,
                         const ctl::BusEvent& e, uint64_t injected_realtime_us) {
  if (rec.driver_pid == 0) return true;  // nothing to tell it by
  if (detected_before(e, injected_realtime_us)) return false;
  if (e.old_pid == rec.driver_pid) return true;
  bool extra = false;
  return e.old_pid != 0 && owner_of_recovery(earlier, e.device, e.old_pid, &extra) == nullptr;
}

void take_recovery(FaultRecord& rec, const ctl::BusEvent& e) {
  rec.observed.recovered = true;
  rec.observed.recovery_mode = e.mode;
  rec.cause = e.cause;
  rec.standby = e.standby;
  rec.downtime_us = e.downtime_us;
  rec.detect_to_serving_us = e.detect_to_serving_us;
  rec.new_driver_pid = e.new_pid;
}

bool apply_late_recovery(FaultRecord& owner, bool extra, const ctl::BusEvent& e) {
  if (!extra && !owner.observed.recovered && owner.classification == Classification::kNoEffect) {
    take_recovery(owner, e);
    owner.latent = true;
    owner.decided_by = DecidedBy::kLatent;
    owner.classification = classify(owner.observed);
    return true;
  }
  ++owner.extra_recoveries;
  return false;
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
    if (f.latent) ++t.latent;
    if (f.decided_by == DecidedBy::kPreempted) ++t.preempted;
    if (f.classification == Classification::kNoEffect) {
      if (f.decided_by == DecidedBy::kProgress) ++t.decided_by_progress;
      if (f.decided_by == DecidedBy::kWindow) ++t.decided_by_window;
    }
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
