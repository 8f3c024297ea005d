// RestartEngine: keeps one device's driver process alive under its restart
// policy — the supervisor's side of the architecture's recovery protocol.
//
//   detect   pidfd readable (exit, crash, seccomp kill), heartbeat silent
//            for heartbeat_timeout (the engine SIGKILLs it: hung), or the
//            shim reporting a protocol violation (the engine SIGKILLs it);
//   hold     the shim stops handing out descriptors and keeps queueing;
//   restart  RestartTracker decides (delay with backoff and jitter, intensity
//            per period) or declares the policy exhausted. The successor is
//            spawned (with the current policy's [limits] in its sandbox) and
//            the engine moves to kStarting without waiting: tick() polls the
//            control block for kRunning and the pidfd reports a death, so the
//            supervisor's loop keeps serving other devices meanwhile. A
//            successor that dies before reporting running (a seccomp kill at
//            start-up, a crash in its loader) or stays silent for the start
//            timeout is a failure of cause kStartFailed and goes through the
//            policy again like any other (backoff, intensity, exhausted);
//   resume   warm: the shim resends every outstanding request flagged for
//            adoption and the new driver adopts the device from the
//            checkpoint; if the driver refuses (exit 6: bad checkpoint or
//            registers), cold: the shim resends them plain and the new driver
//            resets the device. A hot standby, when the policy keeps one, is
//            promoted instead of spawning (it is already attached);
//   settle   one log line per transition with device, pid, cause, downtime
//            and requests resent; counters for status and the D-Bus API.
//
// The engine does not know what kind of device it serves: a DriverHost gives
// it the spawn recipe, the control block and the shim's recovery calls.
// Everything runs on the supervisor's loop thread except report_fault(),
// which the shim's thread may call.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "abi/control_block.h"
#include "common/event_fd.h"
#include "common/result.h"
#include "policies/restart_policy.h"
#include "policies/restart_tracker.h"
#include "supervisor/child_process.h"

namespace uldd::supervisor {

// What the engine needs from the device it restarts drivers for.
class DriverHost {
 public:
  virtual ~DriverHost() = default;
  virtual const std::string& device_name() const = 0;
  // How to start a driver process; `standby` adds fd kFdStandbyRelease.
  virtual SpawnSpec driver_spawn_spec(bool standby, int release_fd) = 0;
  virtual abi::ControlBlock* control_block() = 0;
  // The shim: stop handing out descriptors / prepare the rings for a
  // successor and return how many requests it queued for resending.
  virtual void hold_requests() = 0;
  enum class Resend { kAdopt, kReissue, kFail };
  virtual Result<uint32_t> prepare_successor(Resend how) = 0;
  // steady_clock ns of the first completion since prepare_successor(), or 0.
  virtual int64_t first_completion_ns() const = 0;
  // Whether the shim has work a successor must complete (disk: open
  // requests; NIC: TX frames handed over). An idle device's recovery is
  // settled when the successor serves: no completion would ever come.
  virtual bool work_pending() const { return true; }
  // Policy exhausted with on_exhausted = fail-device: complete everything
  // queued and new with an I/O error (disk) / mark the link down (NIC).
  virtual void fail_device(const std::string& reason) = 0;
};

// Counters for the status line and the later D-Bus API.
struct RecoveryCounters {
  uint64_t restarts_warm = 0;  // successful warm resumes
  uint64_t restarts_cold = 0;  // successful cold resumes (including fallbacks)
  uint64_t warm_refused = 0;   // warm attempts the driver refused (fell back to cold)
  uint64_t standby_promotions = 0;
  uint64_t requests_resent = 0;
  uint64_t hangs = 0, crashes = 0, exits = 0, violations = 0, start_failures = 0;
  std::chrono::microseconds last_detect_to_running{0};  // death noticed -> successor serving
  std::chrono::microseconds last_downtime{0};           // death noticed -> first completion
  std::string last_fault;                               // one line
};

enum class EngineState {
  kServing,   // a driver runs
  kWaiting,   // the driver died; a restart is scheduled
  kStarting,  // a successor was spawned (or a standby released); not yet kRunning
  kFailed,    // policy exhausted (fail-device / run-hook): the device is failed
  kHeld,      // an operator stopped the driver: requests are held until operator_start()
  kStopped,
};

// "serving", "recovering", "stopped", "failed" (DeviceSnapshot::state).
std::string_view to_string(EngineState state);

// What the engine tells the control plane about each recovery.
struct RecoveryRecord {
  std::string cause;  // FailureCause name, or "operator"
  bool warm = false, standby = false, warm_refused = false;
  pid_t old_pid = -1, new_pid = -1;
  uint32_t resent = 0;
  std::chrono::microseconds detect_to_serving{0};
  std::chrono::microseconds downtime{0};  // detected -> first completion
};

class RestartEngine {
 public:
  RestartEngine(DriverHost& host, policies::RestartPolicy policy, uint64_t seed);
  ~RestartEngine();

  // Starts the first driver (cold) and waits until it serves; then the
  // standby, if the policy keeps one.
  Status start();
  void stop();

  // The loop's part: fds to watch (pidfds), one of them became readable, and
  // time-driven work (heartbeat, scheduled restart, downtime settle).
  std::vector<int> watched_fds() const;
  void on_fd_ready(int fd);
  void tick();
  // When tick() must run next at the latest.
  std::chrono::steady_clock::time_point next_deadline() const;

  // From any thread (the shim's): the driver broke the protocol.
  void report_fault(const std::string& reason);
  // From any thread (the shim's request-timeout watch): a request is stuck
  // although the driver beats. Killed as hung; the restart is cold (only a
  // reset ends a device hang, and a lost completion is not in the checkpoint).
  void report_stuck_request(const std::string& reason);

  // A reloaded policy takes effect for the next decision (history is kept)
  // and its [limits] for the next spawn (a hot standby started under other
  // limits is replaced).
  void set_policy(const policies::RestartPolicy& policy);
  // Operator actions (D-Bus, ulddctl). Errors: EBUSY when the state does not
  // allow it (the message says why). restart: the serving driver is killed
  // and replaced at once as the policy's recovery mode says, without asking
  // the policy (an operator's restart is not a failure: not counted against
  // its intensity, cause "operator"). stop: the driver (and standby) is
  // stopped and the shim holds requests — applications stall — until start,
  // which launches a successor as after a failure (warm if the policy says).
  Status operator_restart();
  Status operator_stop();
  Status operator_start();
  // Fault injection: `signal` to the serving driver, through its pidfd.
  Status signal_driver(int signal);
  // Called once per recovery, when its first completion has been seen.
  void set_recovery_listener(std::function<void(const RecoveryRecord&)> listener) {
    recovery_listener_ = std::move(listener);
  }
  // CLOCK_REALTIME microseconds of the latest fault; 0 if none.
  uint64_t last_fault_realtime_us() const { return last_fault_realtime_us_; }
  // Failures by cause name, plus "operator" for operator restarts.
  std::map<std::string, uint64_t> faults_by_cause() const;

  // How long a successor may take to report kRunning before it is killed
  // and counted as a start failure (default 10 s; tests shorten it).
  void set_start_timeout(std::chrono::milliseconds timeout) { start_timeout_ = timeout; }

  EngineState state() const { return state_; }
  pid_t driver_pid() const { return driver_.running() ? driver_.pid() : -1; }
  pid_t standby_pid() const { return standby_.running() ? standby_.pid() : -1; }
  const RecoveryCounters& counters() const { return counters_; }
  const policies::RestartCounters& restart_counters() const { return tracker_.counters(); }
  const policies::RestartPolicy& policy() const { return tracker_.policy(); }
  // Set once the policy said stop-supervisor: the exit status to use.
  std::optional<int> stop_supervisor_status() const { return stop_status_; }

 private:
  using Clock = std::chrono::steady_clock;

  void on_driver_gone(int wait_status);
  void schedule_or_give_up(policies::FailureCause cause, bool clean_exit, const std::string& what);
  void restart_now();
  // Spawns (or promotes) the successor and enters kStarting; never waits.
  void begin_launch(bool warm, uint32_t resent);
  Status launch(abi::ResumeMode mode, uint32_t adopt_count);
  // kStarting: has the successor reported running, died, or timed out?
  void poll_start(Clock::time_point now);
  void on_started(Clock::time_point now);
  void start_failed(const std::string& what);
  Status spawn_driver(bool standby, ChildProcess* out, EventFd* release);
  // start() only: the first driver is waited for in place.
  Status wait_running(std::chrono::milliseconds timeout);
  void start_standby();
  void exhausted(const std::string& reason, policies::FailureCause cause);
  void reset_status_line();
  void note_running(Clock::time_point now);

  DriverHost& host_;
  policies::RestartTracker tracker_;
  ChildProcess driver_;
  ChildProcess standby_;
  EventFd standby_release_;
  EngineState state_ = EngineState::kStopped;
  RecoveryCounters counters_;
  uint64_t incarnation_ = 0;

  // Heartbeat watch.
  uint64_t last_heartbeat_ = 0;
  Clock::time_point last_beat_change_{};
  // Why the engine itself killed the driver (hang, violation), if it did.
  std::optional<policies::FailureCause> kill_cause_;
  std::string kill_reason_;
  // The shim's thread reports a violation here and kicks the loop.
  std::mutex fault_mutex_;
  std::string fault_reason_;     // guarded by fault_mutex_
  bool fault_is_stuck_ = false;  // guarded by fault_mutex_: fault_reason_ is a request timeout
  bool cold_next_ = false;       // the next restart resets the device whatever the policy says
  EventFd fault_wake_;
  // The current outage.
  Clock::time_point died_at_{};
  Clock::time_point restart_at_{};
  bool awaiting_first_completion_ = false;
  // For the outage's event line (one JSON object per recovery, "event {...}").
  struct Outage {
    pid_t old_pid = -1, new_pid = -1;
    std::string cause;
    bool warm = false, standby = false, warm_refused = false;
    uint32_t resent = 0;
    Clock::time_point serving_at{};
  } outage_;
  void emit_event(int64_t first_completion_ns);
  Clock::time_point standby_retry_at_{};
  // The launch in progress (kStarting).
  struct Starting {
    bool warm = false;  // a warm launch: an exit 6 means "refused", fall back to cold
    bool fail_inflight = false;
    uint32_t resent = 0;     // requests the shim queued for the successor
    Clock::time_point t0{};  // restart_now() began
    Clock::time_point deadline{};
    Clock::time_point next_poll{};
    std::chrono::microseconds pause{0};  // between polls: 20 us doubling to 500 us
  } starting_;
  std::chrono::milliseconds start_timeout_{10000};
  std::optional<int> stop_status_;
  ChildProcess hook_;  // on_exhausted = run-hook
  // Operator actions (restart_engine_operator.cc).
  bool operator_restart_pending_ = false;  // the next death is the operator's doing
  Clock::time_point held_since_{};         // operator_stop(): when the outage began
  uint64_t operator_restarts_ = 0;
  uint64_t last_fault_realtime_us_ = 0;
  std::function<void(const RecoveryRecord&)> recovery_listener_;
  void note_fault_time();
};

}  // namespace uldd::supervisor
