// FaultObserver: see fault_observer.h. The watch loop wakes on every signal
// and at least every 20 ms; GetDevice is asked only once the workload's
// progress (or the window) allows a decision.
#include "faultinject/campaign/fault_observer.h"

#include <time.h>

#include <algorithm>
#include <thread>

namespace uldd::campaign {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPoll{20};
constexpr milliseconds kHungDeviceGrace{30'000};      // after settle, for a device not serving
constexpr milliseconds kProgressWindow{1'000};        // no workload progress this long = stalled
constexpr milliseconds kOperatorRestartWait{30'000};  // for the workload after operator_restart

uint64_t realtime_now_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

bool is_failed(const ctl::BusEvent& e) {
  return e.kind == ctl::BusEvent::Kind::kDeviceStateChanged && e.new_state == "failed";
}

}  // namespace

FaultObserver::FaultObserver(SettleSettings settings, EventFollower& events,
                             ctl::SupervisorClient& client,
                             std::function<bool()> supervisor_running)
    : settings_(settings),
      events_(events),
      client_(client),
      supervisor_running_(std::move(supervisor_running)) {}

void FaultObserver::take_late(const ctl::BusEvent& e, std::vector<FaultRecord>& earlier) {
  if (is_failed(e)) failed_.insert(e.device);
  if (e.kind != ctl::BusEvent::Kind::kRecovered) return;
  known_pid_[e.device] = e.new_pid;
  // The runner's own restart after a stall (operator_restart): no fault's
  // recovery, and it must not make the stalled fault look recovered.
  if (e.cause == "operator") return;
  bool extra = false;
  FaultRecord* owner = owner_of_recovery(earlier, e.device, e.old_pid, &extra);
  if (owner == nullptr && !earlier.empty() && earlier.back().fault.device == e.device) {
    owner = &earlier.back();  // a driver no fault touched: counted on the last fault
    extra = true;
  }
  if (owner != nullptr && apply_late_recovery(*owner, extra, e)) ++latent_;
}

void FaultObserver::drain(std::vector<FaultRecord>& earlier) {
  ctl::BusEvent e;
  while (events_.next(&e, milliseconds(0))) take_late(e, earlier);
}

void FaultObserver::linger(std::vector<FaultRecord>& earlier) {
  auto end = Clock::now() + settings_.settle;
  ctl::BusEvent e;
  while (Clock::now() < end && supervisor_running_())
    if (events_.next(&e, kPoll)) take_late(e, earlier);
}

void FaultObserver::prepare(FaultRecord& rec, std::vector<FaultRecord>& earlier) {
  const std::string& dev = rec.fault.device;
  auto deadline = Clock::now() + settings_.settle;
  for (;;) {
    auto snap = client_.device(dev);
    uint32_t pid = snap && snap->state == "serving" && snap->driver_pid > 0
                       ? static_cast<uint32_t>(snap->driver_pid)
                       : 0;
    // A driver whose Recovered signal has not come yet (it goes out after
    // the first completion): wait for it, so it is not taken for this fault's.
    auto known = known_pid_.find(dev);
    bool announced = known == known_pid_.end() || known->second == pid;
    if ((pid != 0 && announced) || Clock::now() >= deadline || !supervisor_running_()) {
      rec.driver_pid = pid;
      if (pid != 0) known_pid_[dev] = pid;
      break;
    }
    ctl::BusEvent e;
    if (events_.next(&e, kPoll)) take_late(e, earlier);
  }
  injected_realtime_us_ = realtime_now_us();
}

void FaultObserver::read_back(FaultRecord& rec, const WorkloadProbe& w) {
  if (!w.read_back) return;
  auto fresh = w.read_back(static_cast<int32_t>(rec.fault.index));
  if (!fresh) {
    read_back_stuck_ = true;
    return;
  }
  rec.observed.new_data_problems = fresh->lost_writes + fresh->corrupted_blocks;
  seen_.lost_writes += fresh->lost_writes;
  seen_.corrupted_blocks += fresh->corrupted_blocks;
}

void FaultObserver::observe(FaultRecord& rec, std::vector<FaultRecord>& earlier,
                            const WorkloadProbe& w) {
  const std::string& dev = rec.fault.device;
  FaultObservation& o = rec.observed;
  auto injected = Clock::now();
  auto settle_end = injected + settings_.settle;
  auto min_end = settings_.by_progress ? injected + settings_.min_settle : settle_end;
  // Early decisions need the workload and the driver's pid.
  bool early = settings_.by_progress && w.progress && rec.driver_pid != 0;
  uint64_t progress = w.progress ? w.progress() : 0;
  uint64_t needed = progress_needed(progress, w.in_flight);
  std::optional<Clock::time_point> progressed_at;  // last progress past `needed`
  bool preempted = false;
  auto decide = [&](DecidedBy by) {
    rec.decided_by = by;
    rec.decided_after_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<milliseconds>(Clock::now() - injected).count());
  };
  for (;;) {
    if (w.progress) {
      uint64_t p = w.progress();
      if (p != progress && p >= needed) progressed_at = Clock::now();
      progress = p;
    }
    // Wake at min_end at the latest: no decision waits a poll period longer.
    auto until_min = std::chrono::ceil<milliseconds>(min_end - Clock::now());
    auto wait = until_min > milliseconds(0) ? std::min(kPoll, until_min) : kPoll;
    ctl::BusEvent e;
    if (events_.next(&e, wait)) {
      if (e.device != dev) {
        take_late(e, earlier);
      } else if (e.kind == ctl::BusEvent::Kind::kRecovered) {
        bool mine = recovery_belongs_to(rec, earlier, e, injected_realtime_us_);
        if (mine) {
          take_recovery(rec, e);
          known_pid_[dev] = e.new_pid;
          decide(DecidedBy::kSignal);
          break;
        }
        take_late(e, earlier);
        if (e.old_pid == rec.driver_pid) {
          // The driver this fault went into was restarted for an earlier
          // fault: what this one would have done cannot be known.
          preempted = true;
          decide(DecidedBy::kPreempted);
          break;
        }
      } else if (is_failed(e)) {
        o.device_failed = true;
        failed_.insert(dev);
        decide(DecidedBy::kSignal);
        break;
      }
      continue;
    }
    if (!supervisor_running_()) {
      o.supervisor_died = true;
      supervisor_lost_ = true;
      decide(DecidedBy::kSupervisor);
      return;
    }
    auto now = Clock::now();
    if (now < min_end) continue;
    bool moved = !w.progress || progress >= needed;
    if (now < settle_end) {
      if (!early || !moved) continue;
      auto snap = client_.device(dev);
      if (snap && snap->state == "serving" &&
          static_cast<uint32_t>(snap->driver_pid) == rec.driver_pid) {
        decide(DecidedBy::kProgress);
        break;
      }
      continue;
    }
    auto snap = client_.device(dev);
    bool io_moving = !w.progress || (progressed_at && now - *progressed_at < kProgressWindow);
    bool same_driver =
        rec.driver_pid == 0 || (snap && static_cast<uint32_t>(snap->driver_pid) == rec.driver_pid);
    if (snap && snap->state == "serving" && io_moving && same_driver) {
      decide(DecidedBy::kWindow);
      break;
    }
    if (snap && snap->state == "failed") {
      o.device_failed = true;
      failed_.insert(dev);
      decide(DecidedBy::kWindow);
      break;
    }
    if (now >= settle_end + kHungDeviceGrace) {
      o.device_serving_at_end = snap && snap->state == "serving";
      o.io_stalled = !io_moving;
      if (o.io_stalled) {
        auto since = progressed_at ? *progressed_at : injected;
        rec.error = "I/O stalled: no operation completed for " +
                    std::to_string(std::chrono::duration_cast<milliseconds>(now - since).count()) +
                    " ms after the fault, device " + (snap ? snap->state : "unknown");
        io_stuck_ = true;
      }
      decide(DecidedBy::kGrace);
      break;
    }
  }
  if (o.recovered || preempted) read_back(rec, w);
}

bool FaultObserver::operator_restart(FaultRecord& rec, const WorkloadProbe& w) {
  const std::string& dev = rec.fault.device;
  const uint64_t before = w.progress ? w.progress() : 0;
  auto restarted = client_.restart(dev);
  if (!restarted) {
    rec.error += "; the runner's restart of " + dev + " was refused: " + restarted.error().message;
    return false;
  }
  const auto deadline = Clock::now() + kOperatorRestartWait;
  while (Clock::now() < deadline && supervisor_running_()) {
    std::this_thread::sleep_for(kPoll);
    auto snap = client_.device(dev);
    if (!snap || snap->state != "serving" || (w.progress && w.progress() <= before)) continue;
    known_pid_[dev] = static_cast<uint32_t>(snap->driver_pid);
    io_stuck_ = false;
    rec.error += "; the runner restarted " + dev + " as an operator would (ulddctl restart " + dev +
                 ") and the workload resumed";
    read_back(rec, w);
    return true;
  }
  rec.error += "; the runner's restart of " + dev + " did not bring the workload back in 30 s";
  return false;
}

}  // namespace uldd::campaign
