// WorkloadFailure: one failed operation of a side workload (fio run, ext4
// round, iperf3 run, the final fsck) as its report section lists it: when,
// and what the tool said. The side workloads keep the first kMaxFailuresKept
// and count all.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faultinject/campaign/data_problem.h"

namespace uldd::campaign {

struct WorkloadFailure {
  uint64_t at_ms = 0;   // since the campaign's workloads started
  std::string kind;     // "verify", "io", "timeout", "mismatch", "fsck", "broken", ...
  std::string message;  // the tool's words (at most a few lines)
};

inline constexpr size_t kMaxFailuresKept = 20;

// WorkloadFailure::at_ms for now: ms since the workloads' time 0.
inline uint64_t ms_since(std::chrono::steady_clock::time_point t0) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
}

// What verify() returns for a side workload that counts its corruptions
// (fio verify errors, ext4 mismatches): one kCorrupted problem for each one
// counted since the last call; `*reported` keeps the count already returned.
inline std::vector<DataProblem> corruptions_since(uint64_t* reported, uint64_t counted,
                                                  int32_t after_fault) {
  std::vector<DataProblem> fresh;
  for (; *reported < counted; ++*reported) {
    DataProblem p;
    p.kind = DataProblem::Kind::kCorrupted;
    p.after_fault = after_fault;
    fresh.push_back(p);
  }
  return fresh;
}

// For the end-of-run table: the message's further lines indented under it.
inline std::string indented(const std::string& message) {
  std::string out;
  for (char c : message) out += c == '\n' ? std::string("\n      ") : std::string(1, c);
  return out;
}

// A tool's words as JSON can hold (nlohmann refuses invalid UTF-8): bytes
// outside printable ASCII, newline and tab become '?'.
inline std::string printable(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if ((c < 0x20 || c > 0x7e) && c != '\n' && c != '\t') c = '?';
  return out;
}

inline nlohmann::json failures_json(const std::vector<WorkloadFailure>& fs) {
  nlohmann::json a = nlohmann::json::array();
  for (const WorkloadFailure& f : fs)
    a.push_back({{"at_ms", f.at_ms}, {"kind", f.kind}, {"message", printable(f.message)}});
  return a;
}

}  // namespace uldd::campaign
