// run_campaign: see campaign_runner.h. The outcome of one fault is decided by
// FaultObserver (fault_observer.h); here are setup, the schedule loop and
// teardown.
#include "faultinject/campaign/campaign_runner.h"

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "faultinject/campaign/campaign_environment.h"
#include "faultinject/campaign/campaign_report.h"
#include "faultinject/campaign/event_follower.h"
#include "faultinject/campaign/fault_observer.h"
#include "faultinject/campaign/fault_schedule.h"
#include "faultinject/campaign/report_plots.h"
#include "faultinject/campaign/workload_failure.h"  // ms_since
#include "faultinject/campaign/workload_set.h"
#include "ulddctl/supervisor_client.h"

namespace uldd::campaign {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kReadyTimeout{30'000};
constexpr milliseconds kReadBackTimeout{120'000};

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
  if (Status s = env.address_nics(); !s) return setup_failed(s.error().describe());
  EventFollower events;
  if (Status s = events.start(env.bus_address()); !s) return setup_failed(s.error().describe());

  // Test only: an echo peer that drops or corrupts (echo_peer.h).
  const char* peer_fault_text = std::getenv("ULDD_CAMPAIGN_TEST_ECHO_PEER");
  auto peer_fault = parse_echo_peer_fault(peer_fault_text ? peer_fault_text : "");
  if (!peer_fault) return setup_failed(peer_fault.error().describe());
  Clock::time_point t0 = Clock::now();
  auto workloads_or = WorkloadSet::start(c, env, report.seed, t0, *peer_fault);
  if (!workloads_or) return setup_failed(workloads_or.error().describe());
  WorkloadSet& workloads = **workloads_or;
  std::printf("campaign %s, seed %llu: %zu faults on %zu device(s); supervisor log %s\n",
              c.name.c_str(), static_cast<unsigned long long>(report.seed), schedule.size(),
              c.devices.size(), (report_dir / "supervisor.log").c_str());

  SettleSettings settle{c.settle == "progress", milliseconds(c.min_settle_ms),
                        milliseconds(c.settle_ms)};
  FaultObserver observer(settle, events, *client, [&env] { return env.supervisor_running(); });
  // What the observer watches of the workload on a fault's device.
  auto probe_for = [&](const std::string& device) {
    WorkloadProbe p;
    Workload* workload = workloads.for_device(device);
    if (workload == nullptr) return p;
    p.progress = [workload] { return workload->progress(); };
    p.in_flight = workload->in_flight();
    p.read_back = [workload](int32_t after) -> std::optional<DataCounts> {
      auto fresh = workload->verify(after, kReadBackTimeout);
      if (!fresh) return std::nullopt;
      DataCounts d;
      for (const DataProblem& x : *fresh)
        (x.kind == DataProblem::Kind::kLost ? d.lost_writes : d.corrupted_blocks)++;
      return d;
    };
    return p;
  };
  bool supervisor_lost = false;
  for (const ScheduledFault& f : schedule) {
    while (ms_since(t0) < f.at_ms && !interrupted() && env.supervisor_running())
      std::this_thread::sleep_for(milliseconds(10));
    if (interrupted()) {
      report.interrupted = true;
      break;
    }
    if (!env.supervisor_running()) {
      supervisor_lost = true;
      break;
    }
    FaultRecord rec;
    rec.fault = f;
    observer.drain(report.faults);
    if (observer.device_failed(f.device)) {
      rec.error = "not injected: " + f.device + " failed earlier";
    } else {
      observer.prepare(rec, report.faults);
      rec.injected_at_ms = ms_since(t0);
      auto reply = client->inject_fault(f.device, f.type, f.params);
      if (reply) {
        rec.observed.injected = true;
        rec.reply = *reply;
        observer.observe(rec, report.faults, probe_for(f.device));
      } else {
        rec.error = reply.error().name + ": " + reply.error().message;
        if (!env.supervisor_running()) {
          rec.observed.supervisor_died = true;
          observer.set_supervisor_lost();
        }
      }
    }
    rec.classification = classify(rec.observed);
    report.faults.push_back(std::move(rec));
    supervisor_lost = observer.supervisor_lost();
    Totals t = compute_totals(report.faults, observer.seen());
    print_progress(o, report.faults.back(), report.faults.size(), schedule.size(), t);
    if (supervisor_lost) {
      report.aborted = "the supervisor died (" + env.supervisor_end() + ")";
      break;
    }
    // A device that serves while its workload stalled: the fault stays
    // escalated; the runner restarts the device as an operator would and
    // goes on (a campaign runs unattended), unless that does not help.
    if (observer.io_stuck() && report.faults.back().observed.device_serving_at_end &&
        observer.operator_restart(report.faults.back(), probe_for(f.device)))
      report.faults.back().classification = classify(report.faults.back().observed);  // read back
    if (observer.io_stuck()) {
      report.aborted = "I/O stalled after fault #" +
                       std::to_string(report.faults.back().fault.index) +
                       " (the workload made no progress for 30 s)";
      break;
    }
    if (observer.read_back_stuck()) {
      report.aborted = "a read-back did not finish in 120 s (I/O stuck)";
      break;
    }
  }
  // Late effects of the last faults are counted, not lost (fault_observer.h).
  if (!supervisor_lost && !report.interrupted && report.aborted.empty())
    observer.linger(report.faults);
  if (supervisor_lost && report.aborted.empty())
    report.aborted = "the supervisor died (" + env.supervisor_end() + ")";
  if (report.interrupted)
    std::printf("%sinterrupted: final read-back\n", o.progress_tty ? "\n" : "");
  else if (o.progress_tty)
    std::printf("\n");

  // Final read-back, then stop everything (the workload first: no write may
  // be in flight when the supervisor goes). A dead supervisor's FUSE file
  // only answers ENOTCONN: no final read-back then.
  if (supervisor_lost) workloads.stop();
  if (!supervisor_lost && !observer.io_stuck()) {
    int32_t last =
        report.faults.empty() ? -1 : static_cast<int32_t>(report.faults.back().fault.index);
    if (!workloads.finish(last, kReadBackTimeout) && report.aborted.empty())
      report.aborted = "the final read-back did not finish in 120 s (I/O stuck)";
  }
  bool supervisor_alive = env.supervisor_running();
  events.stop();
  env.stop_supervisor();
  workloads.stop();
  fs::copy_file(env.supervisor_log(), report_dir / "supervisor.log",
                fs::copy_options::overwrite_existing, ec);
  report.elapsed_ms = ms_since(t0);
  report.totals = compute_totals(report.faults, workloads.data_counts());
  report.totals.planned = schedule.size();
  report.invariants = evaluate_invariants(c.invariants, report.totals, supervisor_alive);
  workloads.add_to_report(report, c.invariants);  // its sections and its own invariants
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
