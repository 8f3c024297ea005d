// report_to_json, report_table, progress_line: see campaign_report.h.
#include "faultinject/campaign/campaign_report.h"

#include <fmt/format.h>

namespace uldd::campaign {

bool CampaignReport::passed() const {
  for (const InvariantResult& i : invariants)
    if (!i.pass) return false;
  return !invariants.empty();
}

namespace {

nlohmann::json optional_u64(const std::optional<uint64_t>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json fault_json(const FaultRecord& f) {
  nlohmann::json j;
  j["index"] = f.fault.index;
  j["at_ms"] = f.fault.at_ms;
  j["injected_at_ms"] = optional_u64(f.injected_at_ms);
  j["device"] = f.fault.device;
  j["type"] = f.fault.type;
  j["params"] = f.fault.params;
  j["reply"] = f.observed.injected ? nlohmann::json(f.reply) : nlohmann::json(nullptr);
  j["error"] = f.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.error);
  j["classification"] = to_string(f.classification);
  j["recovery_mode"] =
      f.observed.recovered ? nlohmann::json(f.observed.recovery_mode) : nlohmann::json(nullptr);
  j["cause"] = f.cause.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.cause);
  j["standby"] = f.standby;
  j["downtime_us"] = optional_u64(f.downtime_us);
  j["detect_to_serving_us"] = optional_u64(f.detect_to_serving_us);
  j["extra_recoveries"] = f.extra_recoveries;
  j["new_data_problems"] = f.observed.new_data_problems;
  j["driver_pid"] = f.driver_pid == 0 ? nlohmann::json(nullptr) : nlohmann::json(f.driver_pid);
  j["decided_by"] = to_string(f.decided_by);
  j["decided_after_ms"] = optional_u64(f.decided_after_ms);
  j["latent"] = f.latent;
  return j;
}

nlohmann::json problem_json(const DataProblem& p) {
  return {
      {"kind", p.kind == DataProblem::Kind::kLost ? "lost" : "corrupted"},
      {"lba", p.lba},
      {"expected_generation", p.expected_generation},
      {"request_index", p.expected_generation},
      {"found_generation", p.found_generation},
      {"first_wrong_offset",
       p.first_wrong_offset < 0 ? nlohmann::json(nullptr) : nlohmann::json(p.first_wrong_offset)},
      {"after_fault", p.after_fault < 0 ? nlohmann::json(nullptr) : nlohmann::json(p.after_fault)},
      {"at_ms", p.at_ms}};
}

nlohmann::json echo_json(const EchoSummary& e) {
  const EchoCounts& c = e.counts;
  nlohmann::json problems = nlohmann::json::array(), stalls = nlohmann::json::array();
  for (const EchoProblem& p : e.problems)
    problems.push_back(
        {{"kind", to_string(p.kind)},
         {"seq", p.seq},
         {"first_wrong_offset", p.first_wrong_offset < 0 ? nlohmann::json(nullptr)
                                                         : nlohmann::json(p.first_wrong_offset)},
         {"after_fault",
          p.after_fault < 0 ? nlohmann::json(nullptr) : nlohmann::json(p.after_fault)},
         {"at_ms", p.at_ms}});
  for (const EchoTracker::Stall& s : e.stalls) stalls.push_back({{"at_ms", s.at_ms}, {"us", s.us}});
  return {{"device", e.device},
          {"nic", e.name},
          {"from", e.from},
          {"to", e.to},
          {"size", e.config.size},
          {"rate", e.config.rate},
          {"window", e.config.window},
          {"timeout_ms", e.config.timeout_ms},
          {"sent", c.sent},
          {"verified", c.verified},
          {"lost", c.lost},
          {"late", c.late},
          {"corrupted", c.corrupted},
          {"duplicated", c.duplicated},
          {"reordered", c.reordered},
          {"send_errors", e.send_errors},
          {"verifications", e.verifications},
          {"rtt_p50_us", e.rtt_p50_us},
          {"rtt_p99_us", e.rtt_p99_us},
          {"rtt_max_us", e.rtt_max_us},
          {"max_stall_us", e.max_stall_us},
          {"stalls", stalls},
          {"problems", problems},
          {"echoes_per_100ms", e.echoes_per_100ms}};
}

}  // namespace

nlohmann::json report_to_json(const CampaignReport& r) {
  const Campaign& c = r.campaign;
  nlohmann::json devices = nlohmann::json::array();
  for (const CampaignDevice& d : c.devices)
    devices.push_back(
        {{"name", d.name},
         {"kind", d.kind},
         {"driver", d.driver.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.driver.string())},
         {"policy", d.policy.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.policy.string())},
         {"size_bytes", d.size_bytes}});
  nlohmann::json j;
  j["schema"] = kReportSchemaId;
  j["campaign"] = {
      {"name", c.name},           {"file", c.file.string()},    {"seed", r.seed},
      {"faults", c.faults},       {"duration_s", c.duration_s}, {"interval_ms", c.interval_ms},
      {"settle_ms", c.settle_ms}, {"settle", c.settle},         {"min_settle_ms", c.min_settle_ms},
      {"devices", devices}};
  j["started_at"] = r.started_at;
  j["elapsed_ms"] = r.elapsed_ms;
  j["interrupted"] = r.interrupted;
  j["aborted"] = r.aborted.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.aborted);
  nlohmann::json faults = nlohmann::json::array();
  for (const FaultRecord& f : r.faults) faults.push_back(fault_json(f));
  j["faults"] = faults;

  const WorkloadSummary& w = r.workload;
  nlohmann::json problems = nlohmann::json::array(), errors = nlohmann::json::array();
  for (const DataProblem& p : w.problems) problems.push_back(problem_json(p));
  for (const IoError& e : w.io_errors)
    errors.push_back({{"at_ms", e.at_ms},
                      {"op", e.op},
                      {"lba", e.lba},
                      {"errno", e.error},
                      {"message", e.message}});
  j["workload"] = {{"disk", w.name.empty() ? nlohmann::json(nullptr) : nlohmann::json(w.name)},
                   {"path", w.path},
                   {"blocks", w.blocks},
                   {"block_size", w.block_size},
                   {"direct_io", w.direct_io},
                   {"writes_acknowledged", w.writes_acknowledged},
                   {"verifications", w.verifications},
                   {"data_problems", problems},
                   {"io_errors", errors},
                   {"io_error_count", w.io_error_count},
                   {"writes_per_100ms", w.writes_per_100ms}};

  nlohmann::json nics = nlohmann::json::array();
  for (const EchoSummary& e : r.nic_workloads) nics.push_back(echo_json(e));
  j["nic_workloads"] = nics;
  j["fio_verify"] = r.fio_verify ? to_json(*r.fio_verify) : nlohmann::json(nullptr);
  j["ext4_fsck"] = r.ext4_fsck ? to_json(*r.ext4_fsck) : nlohmann::json(nullptr);
  nlohmann::json iperf3 = nlohmann::json::array();
  for (const Iperf3Summary& s : r.iperf3) iperf3.push_back(to_json(s));
  j["iperf3"] = iperf3;

  const Totals& t = r.totals;
  j["totals"] = {{"planned", t.planned},
                 {"injected", t.injected},
                 {"not_injected", t.not_injected},
                 {"no_effect", t.no_effect},
                 {"recovered_warm", t.recovered_warm},
                 {"recovered_cold", t.recovered_cold},
                 {"escalated", t.escalated},
                 {"data_corrupted", t.data_corrupted},
                 {"supervisor_lost", t.supervisor_lost},
                 {"lost_writes", t.lost_writes},
                 {"corrupted_blocks", t.corrupted_blocks},
                 {"io_errors", t.io_errors},
                 {"writes_acknowledged", t.writes_acknowledged},
                 {"recovered_percent", t.recovered_percent},
                 {"downtime_max_us", t.downtime_max_us},
                 {"downtime_mean_us", t.downtime_mean_us},
                 {"latent", t.latent},
                 {"preempted", t.preempted},
                 {"decided_by_progress", t.decided_by_progress},
                 {"decided_by_window", t.decided_by_window}};
  nlohmann::json inv = nlohmann::json::array();
  for (const InvariantResult& i : r.invariants)
    inv.push_back(
        {{"name", i.name}, {"expected", i.expected}, {"actual", i.actual}, {"pass", i.pass}});
  j["invariants"] = inv;
  j["result"] = r.passed() ? "pass" : "fail";
  return j;
}

std::string report_table(const CampaignReport& r) {
  std::string out =
      fmt::format("{:>5} {:>8} {:<8} {:<22} {:<16} {:<9} {:>7} {:>12}  {}\n", "#", "AT-MS",
                  "DEVICE", "FAULT", "OUTCOME", "DECIDED", "AFTER", "DOWNTIME-US", "REPLY");
  for (const FaultRecord& f : r.faults) {
    std::string downtime = f.downtime_us ? std::to_string(*f.downtime_us) : "-";
    std::string reply = f.error.empty() ? f.reply : f.error;
    if (reply.size() > 60) reply = reply.substr(0, 57) + "...";
    std::string after = f.decided_after_ms ? std::to_string(*f.decided_after_ms) : "-";
    out += fmt::format("{:>5} {:>8} {:<8} {:<22} {:<16} {:<9} {:>7} {:>12}  {}\n", f.fault.index,
                       f.fault.at_ms, f.fault.device, f.fault.type, to_string(f.classification),
                       to_string(f.decided_by), after, downtime, reply);
  }
  const Totals& t = r.totals;
  out += fmt::format(
      "\ncampaign {} seed {}: {} planned, {} injected: warm {}, cold {}, no effect {}, "
      "escalated {}, data corrupted {}, supervisor lost {}, not injected {}\n",
      r.campaign.name, r.seed, t.planned, t.injected, t.recovered_warm, t.recovered_cold,
      t.no_effect, t.escalated, t.data_corrupted, t.supervisor_lost, t.not_injected);
  out += fmt::format(
      "no effect decided by progress {}, by window {}; latent effects {} (recoveries detected "
      "after their fault was judged no-effect, counted as recovered); preempted {}\n",
      t.decided_by_progress, t.decided_by_window, t.latent, t.preempted);
  out += fmt::format(
      "workload: {} writes acknowledged, {} read-backs; lost {}, corrupted {}, I/O errors {}; "
      "downtime max {} us, mean {} us\n",
      t.writes_acknowledged, r.workload.verifications, t.lost_writes, t.corrupted_blocks,
      t.io_errors, t.downtime_max_us, t.downtime_mean_us);
  for (const DataProblem& p : r.workload.problems) {
    if (p.kind == DataProblem::Kind::kLost)
      out += fmt::format("  LOST      block {} (request {}): found generation {}\n", p.lba,
                         p.expected_generation, p.found_generation);
    else
      out += fmt::format("  CORRUPTED block {} (request {}): first wrong byte at offset {}\n",
                         p.lba, p.expected_generation, p.first_wrong_offset);
  }
  size_t shown = 0;
  for (const IoError& e : r.workload.io_errors)
    if (shown++ < 10) out += fmt::format("  I/O ERROR at {} ms: {}\n", e.at_ms, e.message);
  if (r.workload.io_error_count > 10)
    out += fmt::format("  ... {} I/O errors in all (report.json lists the first {})\n",
                       r.workload.io_error_count, r.workload.io_errors.size());
  for (const EchoSummary& e : r.nic_workloads) {
    const EchoCounts& c = e.counts;
    out += fmt::format(
        "{} {}: {} sent, {} echoed intact; lost {}, late {}, corrupted {}, duplicated {}, "
        "reordered {}, send errors {}; round trip p50 {} us, p99 {} us, max {} us; "
        "longest stall {} ms\n",
        e.device, e.name, c.sent, c.verified, c.lost, c.late, c.corrupted, c.duplicated,
        c.reordered, e.send_errors, e.rtt_p50_us, e.rtt_p99_us, e.rtt_max_us,
        e.max_stall_us / 1000);
    size_t listed = 0;
    for (const EchoProblem& p : e.problems)
      if (p.kind != EchoProblem::Kind::kLost && p.kind != EchoProblem::Kind::kLate && listed++ < 10)
        out +=
            fmt::format("  {:<10} datagram {} at {} ms{}\n", to_string(p.kind), p.seq, p.at_ms,
                        p.first_wrong_offset >= 0
                            ? fmt::format(": first wrong byte at offset {}", p.first_wrong_offset)
                            : std::string());
  }
  if (r.fio_verify) out += describe(*r.fio_verify);
  if (r.ext4_fsck) out += describe(*r.ext4_fsck);
  for (const Iperf3Summary& s : r.iperf3) out += describe(s);
  for (const InvariantResult& i : r.invariants)
    out += fmt::format("invariant {:<22} {:<10} actual {:<10} {}\n", i.name, i.expected, i.actual,
                       i.pass ? "PASS" : "FAIL");
  if (r.interrupted) out += "interrupted: partial report\n";
  if (!r.aborted.empty()) out += "stopped early: " + r.aborted + "\n";
  out += std::string("result: ") + (r.passed() ? "PASS" : "FAIL") + "\n";
  return out;
}

std::string progress_line(size_t done, size_t planned, const Totals& t) {
  int width = static_cast<int>(std::to_string(planned).size());
  return fmt::format("[{:>{}}/{}] warm={} cold={} none={} failed={} lost={} corrupt={} latent={}",
                     done, width, planned, t.recovered_warm, t.recovered_cold, t.no_effect,
                     t.escalated + t.supervisor_lost, t.lost_writes, t.corrupted_blocks, t.latent);
}

}  // namespace uldd::campaign
