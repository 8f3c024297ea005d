// CampaignReport: everything a campaign run produced, written as report.json
// (schema: report.schema.json beside this file) and as the table printed at
// the end of a run. Plain data so that the JSON and the table are tested
// with fixed inputs; the runner fills it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "faultinject/campaign/campaign.h"
#include "faultinject/campaign/echo_summary.h"
#include "faultinject/campaign/ext4_fsck_workload.h"
#include "faultinject/campaign/fault_outcome.h"
#include "faultinject/campaign/fio_verify_workload.h"
#include "faultinject/campaign/iperf3_workload.h"
#include "faultinject/campaign/verified_disk.h"

namespace uldd::campaign {

inline constexpr const char* kReportSchemaId = "uldd-campaign-report/1";

struct WorkloadSummary {
  std::string name;  // "" = none ran
  std::string path;  // the file it wrote through
  uint32_t blocks = 0;
  uint32_t block_size = 0;
  bool direct_io = false;
  uint64_t writes_acknowledged = 0;
  uint64_t verifications = 0;
  std::vector<DataProblem> problems;
  std::vector<IoError> io_errors;  // the first VerifiedDisk::kMaxIoErrorsKept
  uint64_t io_error_count = 0;
  std::vector<uint32_t> writes_per_100ms;
};

struct CampaignReport {
  Campaign campaign;
  uint64_t seed = 0;
  std::string started_at;  // ISO 8601 UTC
  uint64_t elapsed_ms = 0;
  bool interrupted = false;  // SIGINT/SIGTERM stopped it early
  std::string aborted;       // why the run stopped before the schedule's end ("" = it did not)
  std::vector<FaultRecord> faults;
  WorkloadSummary workload;                // the disk's verified writer
  std::vector<EchoSummary> nic_workloads;  // one per NIC with a udp-echo workload
  // The side workloads beside them ([workload] fio_verify, ext4_fsck, iperf3).
  std::optional<FioVerifySummary> fio_verify;
  std::optional<Ext4FsckSummary> ext4_fsck;
  std::vector<Iperf3Summary> iperf3;  // one per NIC
  Totals totals;
  std::vector<InvariantResult> invariants;

  bool passed() const;
};

nlohmann::json report_to_json(const CampaignReport& r);
// The end-of-run table: one line per fault, then totals and invariants.
std::string report_table(const CampaignReport& r);
// "[ 37/200] warm=20 cold=5 none=12 failed=0 lost=0 corrupt=0"
std::string progress_line(size_t done, size_t planned, const Totals& t);

}  // namespace uldd::campaign
