// FaultOutcome: what became of one injected fault, decided from what the
// runner observed (the InjectFault reply, the supervisor's Recovered and
// DeviceStateChanged signals for that device within the settle window,
// whether the supervisor still lives, what the read-back found), and the
// campaign totals and invariant verdicts computed from all outcomes. Pure
// functions, so the rules are unit-tested without a supervisor.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "faultinject/campaign/campaign.h"
#include "faultinject/campaign/fault_schedule.h"

namespace uldd::campaign {

enum class Classification {
  kNotInjected,     // InjectFault refused or was not called (device failed, run stopped)
  kNoEffect,        // no recovery and no failure within settle_ms; the device still serves
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
  uint32_t extra_recoveries = 0;  // further Recovered signals in the same window
};

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
