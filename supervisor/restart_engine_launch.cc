// RestartEngine, the successor's start: spawning a driver process (or a hot
// standby), launching it warm or cold after the shim is prepared, and
// following its start-up from tick() without blocking the supervisor's loop
// (kStarting) until it serves, dies or stays silent too long. Detection,
// policy decisions and settling are in restart_engine.cc.
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <cstring>
#include <utility>

#include "faultinject/fault_point_request.h"
#include "supervisor/restart_engine.h"
#include "supervisor/restart_engine_detail.h"

namespace uldd::supervisor {

using policies::FailureCause;
using Clock = std::chrono::steady_clock;
using namespace restart_engine_detail;

Status RestartEngine::spawn_driver(bool standby, ChildProcess* out, EventFd* release) {
  int release_fd = -1;
  if (standby) {
    auto ev = EventFd::create();
    if (!ev) return ev.error();
    *release = std::move(ev.value());
    release_fd = release->fd();
  }
  SpawnSpec spec = host_.driver_spawn_spec(standby, release_fd);
  // The current policy's limits, whatever the host filled in: a policy
  // reloaded on SIGHUP applies from the next spawn, for every kind of device.
  if (spec.sandbox) spec.sandbox->limits = driver_limits(policy().limits);
  auto child = ChildProcess::spawn(spec);
  if (!child) return child.error();
  *out = std::move(child.value());
  return {};
}

void RestartEngine::start_standby() {
  Status s = spawn_driver(true, &standby_, &standby_release_);
  if (!s) {
    spdlog::warn("{}: hot standby not started: {}", host_.device_name(), s.error().describe());
    return;
  }
  spdlog::info("{}: hot standby ready (pid {})", host_.device_name(), standby_.pid());
}

Status RestartEngine::launch(abi::ResumeMode mode, uint32_t adopt_count) {
  reset_status_line();
  // An armed fault point outlives the driver it was meant for (the control
  // block is the device's): a crash-here would otherwise crash every
  // successor. Injected faults are one-shot per driver.
  if (uint32_t n = faultinject::disarm_all_fault_points(*host_.control_block()); n > 0)
    spdlog::info("{}: {} armed fault point(s) disarmed for the successor", host_.device_name(), n);
  abi::DriverLaunch& l = host_.control_block()->launch;
  l.adopt_count = adopt_count;
  l.incarnation = incarnation_;
  abi::store_shared(l.resume_mode, static_cast<uint32_t>(mode));
  if (standby_.running()) {
    // Promotion: the standby has exec'd, linked and mapped everything already.
    driver_ = std::move(standby_);
    standby_ = ChildProcess{};
    EventFd release = std::move(standby_release_);
    release.signal();
    ++counters_.standby_promotions;
    spdlog::info("{}: promoting hot standby (pid {})", host_.device_name(), driver_.pid());
    return {};
  }
  return spawn_driver(false, &driver_, nullptr);
}

void RestartEngine::restart_now() {
  starting_ = Starting{};
  starting_.t0 = Clock::now();
  ++incarnation_;  // per restart; a cold relaunch after a warm refusal keeps it
  const policies::RestartPolicy& p = policy();
  starting_.fail_inflight = p.inflight == policies::InflightAction::kFail;
  // Failing in-flight requests needs a reset first: a live device could
  // still DMA into their buffers after the shim reused them.
  // A stuck request (report_stuck_request) needs the device reset.
  const bool force_cold = std::exchange(cold_next_, false);
  bool warm =
      p.recovery == policies::RecoveryMode::kWarm && !starting_.fail_inflight && !force_cold;
  using Resend = DriverHost::Resend;
  auto resent = host_.prepare_successor(
      warm ? Resend::kAdopt : (starting_.fail_inflight ? Resend::kFail : Resend::kReissue));
  if (!resent) {
    exhausted("cannot prepare the shim: " + resent.error().describe(), FailureCause::kStartFailed);
    return;
  }
  {
    // The shim is prepared: what it reported before is about the dead
    // driver, what it reports from now on is about the successor.
    std::lock_guard lock(fault_mutex_);
    fault_reason_.clear();
    fault_is_stuck_ = false;
  }
  begin_launch(warm, *resent);
}

void RestartEngine::begin_launch(bool warm, uint32_t resent) {
  starting_.warm = warm;
  starting_.resent = resent;
  uint64_t promotions_before = counters_.standby_promotions;
  Status s = launch(warm ? abi::ResumeMode::kWarm : abi::ResumeMode::kCold, resent);
  outage_.standby = outage_.standby || counters_.standby_promotions > promotions_before;
  if (!s) {
    start_failed(s.error().describe());
    return;
  }
  state_ = EngineState::kStarting;
  auto now = Clock::now();
  starting_.deadline = now + start_timeout_;
  starting_.pause = kFirstPollPause;
  starting_.next_poll = now + starting_.pause;
}

void RestartEngine::poll_start(Clock::time_point now) {
  const abi::DriverStatus& st = host_.control_block()->status;
  if (static_cast<abi::DriverState>(abi::load_shared(st.state)) == abi::DriverState::kRunning) {
    on_started(now);
    return;
  }
  if (auto status = driver_.try_reap()) {
    std::string why = bounded_string(st.last_error, sizeof st.last_error);  // untrusted: bounded
    if (starting_.warm && !kill_cause_ && WIFEXITED(*status) &&
        WEXITSTATUS(*status) == kExitWarmRefused) {
      // Same outage, not a new failure: the checkpoint or the registers did
      // not pass the successor's checks.
      ++counters_.warm_refused;
      outage_.warm_refused = true;
      auto resent = host_.prepare_successor(starting_.fail_inflight ? DriverHost::Resend::kFail
                                                                    : DriverHost::Resend::kReissue);
      spdlog::warn(
          "{}: warm resume refused ({}); falling back to cold: device reset, {} request(s) "
          "reissued",
          host_.device_name(), why.empty() ? "no reason given" : why, resent ? *resent : 0);
      if (!resent) {
        exhausted("cannot prepare the shim: " + resent.error().describe(),
                  FailureCause::kStartFailed);
        return;
      }
      begin_launch(false, *resent);
      return;
    }
    std::string what = host_.device_name() + ": driver (pid " + std::to_string(driver_.pid()) +
                       ") " + ChildProcess::describe_status(*status) + " during start-up" +
                       (why.empty() ? "" : ": " + why);
    if (kill_cause_) what = host_.device_name() + ": starting driver: " + kill_reason_ + "; killed";
    start_failed(what);
    return;
  }
  if (now >= starting_.deadline) {
    driver_.kill_now(SIGKILL);
    driver_.terminate(std::chrono::milliseconds(100));  // reaps what SIGKILL already ended
    start_failed(fmt::format("{}: driver (pid {}) did not report running within {} ms",
                             host_.device_name(), driver_.pid(), start_timeout_.count()));
    return;
  }
  starting_.pause = std::min(starting_.pause * 2, std::chrono::microseconds(kMaxPollPause));
  starting_.next_poll = now + starting_.pause;
}

void RestartEngine::start_failed(const std::string& what) {
  // A successor that never served: counted as a start failure (or as the
  // violation the shim caught it at) and decided on by the policy like any
  // other failure, so a driver killed by seccomp at every start ends in
  // backoff and then the exhausted action, never in a wedge. The shim was
  // serving again since prepare_successor(): hold it once more, or it would
  // issue new requests to nobody for the whole backoff (and a fail policy
  // would then fail requests no driver ever saw).
  host_.hold_requests();
  FailureCause cause = kill_cause_.value_or(FailureCause::kStartFailed);
  kill_cause_.reset();
  ++counters_.start_failures;
  counters_.last_fault = what;
  note_fault_time();
  spdlog::error("{} [{}]", what, policies::to_string(cause));
  schedule_or_give_up(cause, false, what);
}

void RestartEngine::on_started(Clock::time_point now) {
  bool warm = starting_.warm;
  uint32_t resent = starting_.resent;
  (warm ? counters_.restarts_warm : counters_.restarts_cold) += 1;
  counters_.requests_resent += resent;
  counters_.last_detect_to_running =
      std::chrono::duration_cast<std::chrono::microseconds>(now - died_at_);
  note_running(now);
  awaiting_first_completion_ = true;
  outage_.warm = warm;
  outage_.new_pid = driver_.pid();
  outage_.resent = resent;
  outage_.serving_at = now;
  spdlog::info(
      "{}: driver restarted {} (pid {}, start #{}): {} request(s) {}, detection to serving {:.2f} "
      "ms "
      "(restart itself {:.2f} ms)",
      host_.device_name(), warm ? "warm" : "cold", driver_.pid(), incarnation_, resent,
      starting_.fail_inflight ? "failed" : (warm ? "handed over for adoption" : "reissued"),
      ms(now - died_at_), ms(now - starting_.t0));
  // The next standby is started from tick() a little later: forking the
  // supervisor now would compete for the CPU with the recovery it just did.
  standby_retry_at_ = now + kStandbyRespawnDelay;
}

}  // namespace uldd::supervisor
