// run_campaign: see campaign_runner.h. The outcome of one fault is decided in
// observe_fault; the rest is setup, the schedule loop and teardown.
#include "faultinject/campaign/campaign_runner.h"

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "faultinject/campaign/campaign_environment.h"
#include "faultinject/campaign/campaign_report.h"
#include "faultinject/campaign/event_follower.h"
#include "faultinject/campaign/fault_schedule.h"
#include "faultinject/campaign/report_plots.h"
#include "faultinject/campaign/workload_thread.h"
#include "ulddctl/supervisor_client.h"

namespace uldd::campaign {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kReadyTimeout{30'000};
constexpr milliseconds kHungDeviceGrace{30'000};  // after settle_ms, for a device not serving
constexpr milliseconds kReadBackTimeout{120'000};
constexpr milliseconds kProgressWindow{1'000};  // no workload progress for this long = stalled

// SIGINT and SIGTERM are blocked in every thread (set before any starts) and
// taken here, so a Ctrl-C never interrupts a write or a bus wait.
bool interrupted() {
  static bool seen = false;
  if (seen) return true;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  timespec zero{};
  if (sigtimedwait(&set, nullptr, &zero) > 0) seen = true;
  return seen;
}

uint64_t ms_since(Clock::time_point t0) {
  return static_cast<uint64_t>(std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count());
}

std::string iso_now() {
  char buf[32];
  time_t t = time(nullptr);
  tm utc{};
  gmtime_r(&t, &utc);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

std::string tail_of(const fs::path& log, size_t lines) {
  std::ifstream in(log);
  std::vector<std::string> all;
  for (std::string l; std::getline(in, l);) all.push_back(l);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    out += "  " + all[i] + "\n";
  return out;
}

struct Run {
  const Campaign& c;
  CampaignEnvironment& env;
  ctl::SupervisorClient& client;
  EventFollower& events;
  WorkloadThread* workload;  // null: no disk workload
  Clock::time_point t0;
  std::set<std::string> failed_devices;
  bool supervisor_lost = false;
  bool read_back_stuck = false;
  bool io_stuck = false;
  DataCounts seen;  // problems found so far, for the progress line
};

// Late signals of the previous fault (a crash loop, a second recovery) are
// counted on it, so that the next fault's window starts clean.
void drain_into(Run& run, FaultRecord* previous) {
  ctl::BusEvent e;
  while (run.events.next(&e, milliseconds(0))) {
    if (e.kind == ctl::BusEvent::Kind::kRecovered && previous != nullptr &&
        e.device == previous->fault.device)
      ++previous->extra_recoveries;
    if (e.kind == ctl::BusEvent::Kind::kDeviceStateChanged && e.new_state == "failed")
      run.failed_devices.insert(e.device);
  }
}

void observe_fault(Run& run, FaultRecord& rec) {
  const ScheduledFault& f = rec.fault;
  FaultObservation& o = rec.observed;
  auto injected = Clock::now();
  auto settle_end = injected + milliseconds(run.c.settle_ms);
  // The workload's last progress: a device that says "serving" while the
  // workload is stuck in one write has not recovered from the fault.
  uint64_t progress = run.workload ? run.workload->progress() : 0;
  auto progressed_at = injected;
  for (;;) {
    if (run.workload && run.workload->progress() != progress) {
      progress = run.workload->progress();
      progressed_at = Clock::now();
    }
    ctl::BusEvent e;
    if (run.events.next(&e, milliseconds(20)) && e.device == f.device) {
      if (e.kind == ctl::BusEvent::Kind::kRecovered) {
        if (!o.recovered) {
          o.recovered = true;
          o.recovery_mode = e.mode;
          rec.cause = e.cause;
          rec.standby = e.standby;
          rec.downtime_us = e.downtime_us;
          rec.detect_to_serving_us = e.detect_to_serving_us;
          break;  // serving again: read back now
        }
      } else if (e.kind == ctl::BusEvent::Kind::kDeviceStateChanged && e.new_state == "failed") {
        o.device_failed = true;
        run.failed_devices.insert(f.device);
        break;
      }
      continue;
    }
    if (!run.env.supervisor_running()) {
      o.supervisor_died = true;
      run.supervisor_lost = true;
      return;
    }
    // An interrupt does not cut this short: the fault is injected, its
    // outcome is still decided (bounded by settle_ms and the grace below).
    interrupted();
    auto now = Clock::now();
    if (now < settle_end) continue;
    auto snap = run.client.device(f.device);
    bool io_moving = run.workload == nullptr || now - progressed_at < kProgressWindow;
    if (snap && snap->state == "serving" && io_moving) break;  // no effect
    if (snap && snap->state == "failed") {
      o.device_failed = true;
      run.failed_devices.insert(f.device);
      break;
    }
    if (now >= settle_end + kHungDeviceGrace) {
      o.device_serving_at_end = snap && snap->state == "serving";
      o.io_stalled = !io_moving;
      if (o.io_stalled) {
        rec.error =
            "I/O stalled: no write acknowledged for " +
            std::to_string(std::chrono::duration_cast<milliseconds>(now - progressed_at).count()) +
            " ms after the fault, device " + (snap ? snap->state : "unknown");
        run.io_stuck = true;
      }
      break;
    }
  }
  if (o.recovered && run.workload != nullptr) {
    auto fresh = run.workload->verify(static_cast<int32_t>(f.index), kReadBackTimeout);
    if (!fresh) {
      run.read_back_stuck = true;
      return;
    }
    o.new_data_problems = fresh->size();
    for (const DataProblem& p : *fresh)
      (p.kind == DataProblem::Kind::kLost ? run.seen.lost_writes : run.seen.corrupted_blocks)++;
  }
}

DataCounts data_counts(const WorkloadThread* w) {
  DataCounts d;
  if (w == nullptr) return d;
  const VerifiedDisk& disk = w->disk();
  for (const DataProblem& p : disk.problems())
    (p.kind == DataProblem::Kind::kLost ? d.lost_writes : d.corrupted_blocks)++;
  d.io_errors = disk.io_error_count();
  d.writes_acknowledged = disk.writes_acknowledged();
  return d;
}

void print_progress(const RunOptions& o, const FaultRecord& rec, size_t done, size_t planned,
                    const Totals& t) {
  std::string line = progress_line(done, planned, t);
  if (o.progress_tty) {
    std::printf("\r%s\033[K", line.c_str());
  } else {
    std::printf(
        "%s  #%u %s %s -> %s%s\n", line.c_str(), rec.fault.index, rec.fault.device.c_str(),
        rec.fault.type.c_str(), to_string(rec.classification),
        rec.downtime_us ? (" (downtime " + std::to_string(*rec.downtime_us) + " us)").c_str() : "");
  }
  std::fflush(stdout);
}

// Waits until every configured device serves (over D-Bus), or fails.
Status wait_until_serving(CampaignEnvironment& env, const Campaign& c,
                          std::unique_ptr<ctl::SupervisorClient>* client) {
  auto deadline = Clock::now() + kReadyTimeout;
  std::string last = "no answer on the bus";
  while (Clock::now() < deadline) {
    if (!env.supervisor_running())
      return plain_error("uldd-supervisor exited during start-up (" + env.supervisor_end() +
                         "):\n" + tail_of(env.supervisor_log(), 15));
    if (interrupted()) return plain_error("interrupted during start-up");
    if (!*client) {
      auto cl = ctl::SupervisorClient::connect(env.bus_address());
      if (cl) *client = std::move(*cl);
    }
    if (*client) {
      auto rows = (*client)->list_devices();
      if (rows) {
        size_t serving = std::count_if(rows->begin(), rows->end(), [](const ctl::DeviceRow& r) {
          return r.state == "serving";
        });
        if (serving == c.devices.size()) return {};
        last = std::to_string(serving) + " of " + std::to_string(c.devices.size()) + " serving";
      } else {
        last = rows.error().name + ": " + rows.error().message;
      }
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  return plain_error("devices not serving after 30 s (" + last + "):\n" +
                     tail_of(env.supervisor_log(), 15));
}

Status check_fault_types(const Campaign& c, ctl::SupervisorClient& client) {
  auto types = client.fault_types();
  if (!types) return plain_error("ListFaultTypes: " + types.error().message);
  for (const CampaignFault& f : c.fault_kinds)
    if (std::find(types->begin(), types->end(), f.type) == types->end()) {
      std::string known;
      for (const std::string& t : *types) known += (known.empty() ? "" : " ") + t;
      return plain_error(f.where + ": fault type '" + f.type +
                         "' is not one this supervisor injects (" + known + ")");
    }
  return {};
}

}  // namespace

int run_campaign(const RunOptions& o) {
  auto loaded = load_campaign_file(o.file);
  if (!loaded) {
    std::fprintf(stderr, "uldd-campaign: %s\n", loaded.error().describe().c_str());
    return kExitUsage;
  }
  const Campaign& c = *loaded;
  CampaignReport report;
  report.campaign = c;
  report.seed = o.seed.value_or(c.seed);
  report.started_at = iso_now();
  std::vector<ScheduledFault> schedule = build_schedule(c, report.seed);
  fs::path report_dir = o.report_dir.empty()
                            ? fs::path("campaign-" + c.name + "-" + std::to_string(report.seed))
                            : o.report_dir;

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto setup_failed = [](const std::string& why) {
    std::fprintf(stderr, "uldd-campaign: setup failed: %s\n", why.c_str());
    return kExitSetup;
  };
  auto env_or = CampaignEnvironment::create(c, o.bin_dir);
  if (!env_or) return setup_failed(env_or.error().describe());
  CampaignEnvironment& env = **env_or;
  std::error_code ec;
  fs::create_directories(report_dir, ec);
  if (ec) return setup_failed("report directory " + report_dir.string() + ": " + ec.message());
  fs::copy_file(env.config_file(), report_dir / "uldd.toml", fs::copy_options::overwrite_existing,
                ec);
  if (Status s = env.start_supervisor(); !s) return setup_failed(s.error().describe());
  std::unique_ptr<ctl::SupervisorClient> client;
  if (Status s = wait_until_serving(env, c, &client); !s) return setup_failed(s.error().describe());
  if (Status s = check_fault_types(c, *client); !s) {
    std::fprintf(stderr, "uldd-campaign: %s\n", s.error().describe().c_str());
    return kExitUsage;
  }
  EventFollower events;
  if (Status s = events.start(env.bus_address()); !s) return setup_failed(s.error().describe());

  Clock::time_point t0 = Clock::now();
  std::unique_ptr<WorkloadThread> workload;
  auto disk = std::find_if(c.devices.begin(), c.devices.end(),
                           [](const CampaignDevice& d) { return d.kind == "disk"; });
  if (!c.disk_workload.name.empty()) {
    auto vd = VerifiedDisk::open(env.fuse_file(disk->name), c.disk_workload.blocks,
                                 c.disk_workload.block_size, report.seed, t0);
    if (!vd) return setup_failed(vd.error().describe());
    report.workload.name = c.disk_workload.name;
    report.workload.path = env.fuse_file(disk->name).string();
    report.workload.blocks = c.disk_workload.blocks;
    report.workload.block_size = c.disk_workload.block_size;
    report.workload.direct_io = vd->direct_io();
    workload = std::make_unique<WorkloadThread>(std::move(*vd));
    workload->start();
  }
  std::printf("campaign %s, seed %llu: %zu faults on %zu device(s); supervisor log %s\n",
              c.name.c_str(), static_cast<unsigned long long>(report.seed), schedule.size(),
              c.devices.size(), (report_dir / "supervisor.log").c_str());

  Run run{c, env, *client, events, workload.get(), t0, {}, false, false, false, {}};
  for (const ScheduledFault& f : schedule) {
    while (ms_since(t0) < f.at_ms && !interrupted() && env.supervisor_running())
      std::this_thread::sleep_for(milliseconds(10));
    if (interrupted()) {
      report.interrupted = true;
      break;
    }
    if (!env.supervisor_running()) {
      run.supervisor_lost = true;
      break;
    }
    FaultRecord rec;
    rec.fault = f;
    drain_into(run, report.faults.empty() ? nullptr : &report.faults.back());
    if (run.failed_devices.count(f.device) != 0) {
      rec.error = "not injected: " + f.device + " failed earlier";
    } else {
      rec.injected_at_ms = ms_since(t0);
      auto reply = client->inject_fault(f.device, f.type, f.params);
      if (reply) {
        rec.observed.injected = true;
        rec.reply = *reply;
        observe_fault(run, rec);
      } else {
        rec.error = reply.error().name + ": " + reply.error().message;
        if (!env.supervisor_running()) rec.observed.supervisor_died = run.supervisor_lost = true;
      }
    }
    rec.classification = classify(rec.observed);
    report.faults.push_back(std::move(rec));
    Totals t = compute_totals(report.faults, run.seen);
    print_progress(o, report.faults.back(), report.faults.size(), schedule.size(), t);
    if (run.supervisor_lost) {
      report.aborted = "the supervisor died (" + env.supervisor_end() + ")";
      break;
    }
    if (run.io_stuck) {
      report.aborted = "I/O stalled after fault #" +
                       std::to_string(report.faults.back().fault.index) +
                       " (the workload made no progress for 30 s)";
      break;
    }
    if (run.read_back_stuck) {
      report.aborted = "a read-back did not finish in 120 s (I/O stuck)";
      break;
    }
  }
  if (run.supervisor_lost && report.aborted.empty())
    report.aborted = "the supervisor died (" + env.supervisor_end() + ")";
  if (report.interrupted)
    std::printf("%sinterrupted: final read-back\n", o.progress_tty ? "\n" : "");
  else if (o.progress_tty)
    std::printf("\n");

  // Final read-back, then stop everything (the workload first: no write may
  // be in flight when the supervisor goes). A dead supervisor's FUSE file
  // only answers ENOTCONN: no final read-back then.
  if (workload && run.supervisor_lost) workload->stop();
  if (workload && !run.supervisor_lost && !run.io_stuck) {
    int32_t last =
        report.faults.empty() ? -1 : static_cast<int32_t>(report.faults.back().fault.index);
    if (!workload->finish(last, kReadBackTimeout) && report.aborted.empty())
      report.aborted = "the final read-back did not finish in 120 s (I/O stuck)";
  }
  bool supervisor_alive = env.supervisor_running();
  events.stop();
  env.stop_supervisor();
  if (workload) {
    workload->stop();
    const VerifiedDisk& d = workload->disk();
    report.workload.writes_acknowledged = d.writes_acknowledged();
    report.workload.verifications = d.verifications();
    report.workload.problems = d.problems();
    report.workload.io_errors = d.io_errors();
    report.workload.io_error_count = d.io_error_count();
    report.workload.writes_per_100ms = d.writes_per_100ms();
  }
  fs::copy_file(env.supervisor_log(), report_dir / "supervisor.log",
                fs::copy_options::overwrite_existing, ec);
  report.elapsed_ms = ms_since(t0);
  report.totals = compute_totals(report.faults, data_counts(workload.get()));
  report.totals.planned = schedule.size();
  report.invariants = evaluate_invariants(c.invariants, report.totals, supervisor_alive);
  std::ofstream out(report_dir / "report.json");
  out << report_to_json(report).dump(2) << "\n";
  out.close();
  std::printf("%s", report_table(report).c_str());
  std::printf("report: %s\n", (report_dir / "report.json").c_str());
  if (Status s = write_report_plots(report, report_dir); !s)
    std::printf("plots: %s\n", s.error().describe().c_str());
  else
    std::printf("plots: %s (and downtime.png when something recovered)\n",
                (report_dir / "throughput.png").c_str());
  if (!out) {
    std::fprintf(stderr, "uldd-campaign: cannot write %s\n", (report_dir / "report.json").c_str());
    return kExitSetup;
  }
  return report.passed() ? kExitPass : kExitInvariantFailed;
}

}  // namespace uldd::campaign
