// Iperf3Workload: see iperf3_workload.h.
#include "faultinject/campaign/iperf3_workload.h"

#include <fmt/format.h>

#include "faultinject/campaign/bounded_command.h"
#include "faultinject/campaign/campaign_report.h"

namespace uldd::campaign {

namespace {

constexpr std::chrono::seconds kRunBound{30};
constexpr std::chrono::seconds kListenBound{5};
constexpr std::chrono::milliseconds kPause{200};
constexpr std::chrono::milliseconds kPauseAfterBreak{1000};

}  // namespace

nlohmann::json to_json(const Iperf3Summary& s) {
  return {{"device", s.device},
          {"from", s.from},
          {"to", s.to},
          {"runs", s.runs},
          {"runs_passed", s.runs_passed},
          {"broken", s.broken},
          {"bytes", s.bytes},
          {"failures", failures_json(s.failures)}};
}

std::string describe(const Iperf3Summary& s) {
  std::string out =
      fmt::format("{} iperf3: {} TCP runs {} -> {}, {} passed ({} MiB), {} broken\n", s.device,
                  s.runs, s.from, s.to, s.runs_passed, s.bytes >> 20, s.broken);
  for (const WorkloadFailure& f : s.failures)
    out += fmt::format("  IPERF3 {} at {} ms: {}\n", f.kind, f.at_ms, indented(f.message));
  return out;
}

Iperf3Workload::Iperf3Workload(const NicEndpoints& nic, std::filesystem::path logs,
                               std::chrono::steady_clock::time_point t0)
    : nic_(nic), logs_(std::move(logs)), t0_(t0) {
  summary_.device = nic.device;
  summary_.from = nic.host_address + " (netns " + nic.host_netns + ")";
  summary_.to =
      nic.wire_address + ":" + std::to_string(kIperf3Port) + " (netns " + nic.wire_netns + ")";
}

Status Iperf3Workload::start() {
  if (program_path("iperf3").empty())
    return plain_error("iperf3 for " + nic_.device + " is not installed (scripts/bootstrap.sh)");
  std::string port = std::to_string(kIperf3Port);
  auto server =
      SpawnedProcess::spawn({program_path("ip"), "netns", "exec", nic_.wire_netns,
                             program_path("iperf3"), "-s", "-B", nic_.wire_address, "-p", port},
                            logs_ / ("iperf3-server-" + nic_.device + ".log"));
  if (!server) return server.error();
  server_ = std::move(*server);
  auto deadline = std::chrono::steady_clock::now() + kListenBound;
  for (;;) {
    auto ss =
        run_bounded({"ip", "netns", "exec", nic_.wire_netns, "ss", "-Hltn", "sport = :" + port},
                    logs_ / ("iperf3-ss-" + nic_.device + ".log"), kListenBound);
    if (ss && ss->ok() && ss->output.find(port) != std::string::npos) break;
    if (!server_.running() || std::chrono::steady_clock::now() >= deadline)
      return plain_error("the iperf3 server for " + nic_.device + " in netns " + nic_.wire_netns +
                         " did not listen on " + nic_.wire_address + ":" + port + " within 5 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  runs_.start([this] { return one_run(); });
  return {};
}

std::optional<std::chrono::milliseconds> Iperf3Workload::one_run() {
  auto r = run_bounded(
      {"ip", "netns", "exec", nic_.host_netns, "iperf3", "-c", nic_.wire_address, "-p",
       std::to_string(kIperf3Port), "-t", "3", "-b", "10M", "-J", "--connect-timeout", "3000"},
      logs_ / ("iperf3-client-" + nic_.device + ".log"), kRunBound, runs_.cancel_flag());
  if (r && r->cancelled) return std::nullopt;  // stop(): cut short, not a run
  std::string why;
  uint64_t bytes = 0;
  if (!r) {
    why = r.error().describe();
  } else {
    nlohmann::json j = nlohmann::json::parse(r->output, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("error") && j["error"].is_string())
      why = r->status_text() + ": " + j["error"].get<std::string>();
    else if (!r->ok())
      why = r->describe();
    else if (!j.is_object())
      why = "iperf3 printed no JSON report";
    else
      bytes = j.value("/end/sum_received/bytes"_json_pointer, uint64_t{0});
  }
  std::lock_guard lock(mu_);
  ++summary_.runs;
  if (why.empty()) {
    ++summary_.runs_passed;
    summary_.bytes += bytes;
    progress_.fetch_add(1, std::memory_order_relaxed);
    return kPause;
  }
  ++summary_.broken;
  WorkloadFailure f;
  f.at_ms = ms_since(t0_);
  f.kind = r && r->timed_out ? "timeout" : "broken";
  f.message = why;
  if (summary_.failures.size() < kMaxFailuresKept) summary_.failures.push_back(std::move(f));
  return kPauseAfterBreak;  // slower: a server that is gone must not be hammered
}

std::optional<std::vector<DataProblem>> Iperf3Workload::verify(int32_t, std::chrono::milliseconds) {
  return std::vector<DataProblem>{};
}

std::optional<std::vector<DataProblem>> Iperf3Workload::finish(int32_t after_fault,
                                                               std::chrono::milliseconds timeout) {
  if (!runs_.finish(timeout)) return std::nullopt;
  return verify(after_fault, timeout);
}

void Iperf3Workload::stop() {
  runs_.cancel();
  server_.stop(std::chrono::seconds(3));
}

Iperf3Summary Iperf3Workload::summary() const {
  std::lock_guard lock(mu_);
  return summary_;
}

void Iperf3Workload::add_to_report(CampaignReport& r) const {
  r.iperf3.push_back(summary());
}

std::vector<InvariantResult> Iperf3Workload::check_invariants(const Invariants& inv) const {
  Iperf3Summary s = summary();
  std::string limit =
      inv.broken_streams == kNoLimit ? "any" : "<= " + std::to_string(inv.broken_streams);
  return {{nic_.device + ".broken_streams", limit, std::to_string(s.broken),
           s.broken <= inv.broken_streams},
          {nic_.device + ".iperf3_runs_passed", ">= 1", std::to_string(s.runs_passed),
           s.runs_passed >= 1}};
}

}  // namespace uldd::campaign
