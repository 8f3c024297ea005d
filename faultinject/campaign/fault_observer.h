// FaultObserver: decides, one injected fault at a time, what became of it —
// and decides "no effect" as soon as that is sound instead of waiting a
// fixed window after every silent fault (about half of a mixed campaign).
//
// A fault has had no effect (so far) once
//   - the driver it went into still runs under the same pid and the device
//     serves (GetDevice), and
//   - the workload on the device completed every operation that was in
//     flight at the injection plus kOpsAfterInjection started after it
//     (fault_outcome.h: progress_needed), and
//   - min_settle_ms passed.
// What could still be pending then: a crash stops the driver, so no later
// operation completes; a hang (SIGSTOP, busy loop, stall) stops its beating
// and its serving alike; a stuck request (lost completion, hung device)
// stalls the workload, which has one write in flight at a time; a protocol
// violation is seen by the shim before the completions after it. What
// remains is latent: a flipped heap bit read much later, a damaged
// checkpoint that only matters at the next restart. Such a recovery, when it
// comes, is attributed by the driver pid it names (Recovered's old_pid) and
// the time of its detection: a recovery of a driver detected before the
// fault being watched was injected belongs to an earlier fault, which is
// then counted as a latent effect (fault_outcome.h: apply_late_recovery).
// settle_ms stays the bound after which the old rule decides (device
// serving, workload moving); settle = "window" uses only that rule.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "faultinject/campaign/event_follower.h"
#include "faultinject/campaign/fault_outcome.h"
#include "ulddctl/supervisor_client.h"

namespace uldd::campaign {

struct SettleSettings {
  bool by_progress = true;                   // settle = "progress"; false: "window"
  std::chrono::milliseconds min_settle{50};  // progress: not decided before this
  std::chrono::milliseconds settle{1500};    // the window ("window"), the bound ("progress")
};

// What the observer needs of the workload on a fault's device. All empty
// when that device runs none (then only the window decides no-effect).
struct WorkloadProbe {
  std::function<uint64_t()> progress;  // completed operations, monotonic
  uint64_t in_flight = 1;              // operations it may have outstanding at once
  // Checks everything done so far (after a recovery): the lost / corrupted
  // counts new to this check; nullopt if it did not finish in time.
  std::function<std::optional<DataCounts>(int32_t after_fault)> read_back;
};

class FaultObserver {
 public:
  FaultObserver(SettleSettings settings, EventFollower& events, ctl::SupervisorClient& client,
                std::function<bool()> supervisor_running);

  // Takes the signals that came since the last fault was decided: late
  // recoveries go to the fault they belong to in `earlier` (the report's
  // faults so far), failures mark the device failed.
  void drain(std::vector<FaultRecord>& earlier);
  // Right before InjectFault: waits (at most settle) until the device serves
  // and the Recovered signal of its current driver came, then records the
  // driver's pid in `rec` and the injection time.
  void prepare(FaultRecord& rec, std::vector<FaultRecord>& earlier);
  // After InjectFault succeeded: watches until the outcome is decided, reads
  // the workload back after a recovery; sets rec.observed and decided_by.
  void observe(FaultRecord& rec, std::vector<FaultRecord>& earlier, const WorkloadProbe& w);

  // After the last fault: takes the signals of settle more (a latent
  // crash of the last faults' drivers is counted, not lost).
  void linger(std::vector<FaultRecord>& earlier);

  bool device_failed(const std::string& device) const { return failed_.count(device) != 0; }
  bool supervisor_lost() const { return supervisor_lost_; }
  void set_supervisor_lost() { supervisor_lost_ = true; }
  bool io_stuck() const { return io_stuck_; }
  // After a fault left the device serving but the workload stalled (the
  // fault stays escalated: no recovery without an operator): restarts the
  // device through the bus as an operator would and waits (30 s) until the
  // workload moves again, then reads it back. True: the campaign can go on
  // (io_stuck() is false again); `rec.error` says what was done.
  bool operator_restart(FaultRecord& rec, const WorkloadProbe& w);
  bool read_back_stuck() const { return read_back_stuck_; }
  const DataCounts& seen() const { return seen_; }  // found by read-backs so far
  uint64_t latent() const { return latent_; }

 private:
  // A signal not taken by the fault being watched.
  void take_late(const ctl::BusEvent& e, std::vector<FaultRecord>& earlier);
  void read_back(FaultRecord& rec, const WorkloadProbe& w);

  SettleSettings settings_;
  EventFollower& events_;
  ctl::SupervisorClient& client_;
  std::function<bool()> supervisor_running_;
  std::set<std::string> failed_;
  std::map<std::string, uint32_t> known_pid_;  // per device: the driver last seen serving
  uint64_t injected_realtime_us_ = 0;
  bool supervisor_lost_ = false;
  bool io_stuck_ = false;
  bool read_back_stuck_ = false;
  DataCounts seen_;
  uint64_t latent_ = 0;
};

}  // namespace uldd::campaign
