// FaultOutcome: what became of one injected fault, decided from what the
// runner observed (the InjectFault reply, the supervisor's Recovered and
// DeviceStateChanged signals for that device, the workload's progress after
// the injection, whether the supervisor still lives, what the read-back
// found), how a recovery that arrives late is attributed (to the fault that
// went into the driver it names), and the campaign totals and invariant
// verdicts computed from all outcomes. Pure functions, so the rules are
// unit-tested without a supervisor (fault_observer.h does the watching).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "faultinject/campaign/campaign.h"
#include "faultinject/campaign/fault_schedule.h"
#include "ulddctl/client_types.h"

namespace uldd::campaign {

enum class Classification {
  kNotInjected,     // InjectFault refused or was not called (device failed, run stopped)
  kNoEffect,        // no recovery and no failure: see DecidedBy (progress or window)
  kRecoveredWarm,   // Recovered, mode warm
  kRecoveredCold,   // Recovered, mode cold
  kEscalated,       // the device failed (policy exhausted), never came back, or its I/O stalled
  kDataCorrupted,   // recovered or not, the read-back after it found lost or corrupted blocks
  kSupervisorLost,  // the supervisor died
};
const char* to_string(Classification c);

struct FaultObservation {
  bool injected = false;
  bool recovered = false;             // a Recovered signal for the device
  std::string recovery_mode;          // its mode: "warm" | "cold"
  bool device_failed = false;         // DeviceStateChanged to "failed"
  bool device_serving_at_end = true;  // the device's state when the window closed
  bool io_stalled = false;  // serving, but the workload made no progress for the grace period
  bool supervisor_died = false;
  uint64_t new_data_problems = 0;  // lost or corrupted blocks first seen after this fault
};

Classification classify(const FaultObservation& o);

// How a fault's outcome was decided (the report's "decided_by").
enum class DecidedBy {
  kNone,        // not injected
  kSignal,      // a Recovered or DeviceStateChanged(failed) naming its driver / device
  kProgress,    // no effect: the driver it went into still serves and the workload completed
                // operations started after the injection (settle = "progress")
  kWindow,      // no effect: settle_ms passed, the device serving, its workload moving
  kGrace,       // escalated: not serving, or no progress, 30 s after settle_ms
  kLatent,      // judged no-effect first; a recovery of its driver detected later
  kPreempted,   // its driver was restarted for an earlier fault's (latent) effect meanwhile
  kSupervisor,  // the supervisor died
};
const char* to_string(DecidedBy d);

struct FaultRecord {
  ScheduledFault fault;
  std::optional<uint64_t> injected_at_ms;
  std::string reply;  // InjectFault's detail string
  std::string error;  // InjectFault's error ("name: message"), or why it was not called
  FaultObservation observed;
  Classification classification = Classification::kNotInjected;
  std::string cause;  // Recovered's cause
  bool standby = false;
  std::optional<uint64_t> downtime_us;
  std::optional<uint64_t> detect_to_serving_us;
  uint32_t extra_recoveries = 0;  // further recoveries of the driver its recovery started
  uint32_t driver_pid = 0;        // the driver it went into (0: unknown, none)
  uint32_t new_driver_pid = 0;    // the driver its recovery started (Recovered new_pid)
  DecidedBy decided_by = DecidedBy::kNone;
  std::optional<uint64_t> decided_after_ms;  // injection -> decision
  bool latent = false;  // first judged no-effect; the recovery came later (decided_by kLatent)
};

// The operations of a workload that must complete after an injection
// before "no effect" may be decided: everything in flight at the injection
// (`in_flight`) plus kOpsAfterInjection that were started after it, so at
// least one operation went through the faulty driver from start to end.
inline constexpr uint64_t kOpsAfterInjection = 2;
inline uint64_t progress_needed(uint64_t progress_at_injection, uint64_t in_flight) {
  return progress_at_injection + in_flight + kOpsAfterInjection;
}

// True if the failure a Recovered signal reports was certainly detected
// before `realtime_us` (CLOCK_REALTIME): the signal goes out after the
// first completion that follows the restart, so receipt time minus the
// longer of detect->serving and downtime is an upper bound on the detection.
bool detected_before(const ctl::BusEvent& recovered, uint64_t realtime_us);

// The fault a late Recovered signal (one not taken by the fault being
// watched) belongs to, searching `faults` from the newest: the fault injected
// into the driver it names (old_pid) — then `extra` is false — or the fault
// whose recovery started that driver (a crash loop: `extra` is true). Null if
// none matches (a driver no fault touched).
FaultRecord* owner_of_recovery(std::vector<FaultRecord>& faults, const std::string& device,
                               uint32_t old_pid, bool* extra);

// True if a Recovered signal for the device of `rec` (the fault being
// watched, injected at `injected_realtime_us`) is its effect: detected after
// the injection, and naming its driver — or a driver no fault in `earlier`
// knows, a successor that died before its recovery settled (the supervisor
// then reports one recovery, naming the last driver that failed).
bool recovery_belongs_to(const FaultRecord& rec, std::vector<FaultRecord>& earlier,
                         const ctl::BusEvent& recovered, uint64_t injected_realtime_us);

// Applies a late Recovered signal to its owner: a fault judged no-effect
// becomes recovered (decided_by kLatent, `latent` set); one that had
// recovered counts an extra recovery. True if it was a latent effect.
bool apply_late_recovery(FaultRecord& owner, bool extra, const ctl::BusEvent& recovered);

// Takes the Recovered signal for the fault being watched.
void take_recovery(FaultRecord& rec, const ctl::BusEvent& recovered);

struct Totals {
  uint64_t planned = 0;
  uint64_t injected = 0;
  uint64_t not_injected = 0;
  uint64_t no_effect = 0;
  uint64_t recovered_warm = 0;
  uint64_t recovered_cold = 0;
  uint64_t escalated = 0;
  uint64_t data_corrupted = 0;
  uint64_t supervisor_lost = 0;
  uint64_t lost_writes = 0;
  uint64_t corrupted_blocks = 0;
  uint64_t io_errors = 0;
  uint64_t writes_acknowledged = 0;
  double recovered_percent = 100.0;  // (warm + cold) / (injected - no_effect); 100 if none
  uint64_t downtime_max_us = 0;
  uint64_t downtime_mean_us = 0;
  uint64_t latent = 0;               // recoveries detected after their fault was judged no-effect
  uint64_t preempted = 0;            // faults whose driver was restarted for an earlier one
  uint64_t decided_by_progress = 0;  // no-effect decided early by the workload's progress
  uint64_t decided_by_window = 0;    // no-effect decided by settle_ms passing
};

struct DataCounts {
  uint64_t lost_writes = 0;
  uint64_t corrupted_blocks = 0;
  uint64_t io_errors = 0;
  uint64_t writes_acknowledged = 0;
};

Totals compute_totals(const std::vector<FaultRecord>& faults, const DataCounts& data);

struct InvariantResult {
  std::string name;
  std::string expected;  // "<= 0", "true", ">= 99.9"
  std::string actual;
  bool pass = false;
};

// One entry per invariant of the campaign; `supervisor_alive` is whether the
// supervisor was still running at the end.
std::vector<InvariantResult> evaluate_invariants(const Invariants& inv, const Totals& t,
                                                 bool supervisor_alive);

}  // namespace uldd::campaign
