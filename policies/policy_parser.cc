// parse_policy: TOML text -> RestartPolicy, or the first thing wrong with it as
// "source:line:column: reason".
//
// toml++ is built with exceptions (the packaged shared library is); they are
// caught in parse_toml (common/toml_table_reader.h) and nowhere else. Each
// section is read by its own function; rules that tie two fields together are
// checked after all of them are read, and reported at the key the operator most
// likely has to change.
#include "policies/policy_parser.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <utility>

#include "policies/policy_table_reader.h"
#include "policies/policy_units.h"

namespace uldd::policies {
namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

constexpr std::array<std::string_view, 2> kTopKeys = {"name", "description"};
constexpr std::array<std::string_view, 7> kSections = {
    "restart", "backoff", "exhausted", "heartbeat", "recovery", "errors", "limits"};
constexpr std::array<std::string_view, 4> kRestartKeys = {"mode", "delay", "intensity", "period"};
constexpr std::array<std::string_view, 5> kBackoffKeys = {"initial", "multiplier", "max", "jitter",
                                                          "stable_after"};
constexpr std::array<std::string_view, 3> kExhaustedKeys = {"action", "hook", "exit_code"};
constexpr std::array<std::string_view, 3> kHeartbeatKeys = {"interval", "timeout",
                                                            "request_timeout"};
constexpr std::array<std::string_view, 4> kRecoveryKeys = {"mode", "inflight", "nic_tx_inflight",
                                                           "hot_standby"};
constexpr std::array<std::string_view, 3> kErrorsKeys = {"retries", "retry_delay",
                                                         "retry_permanent"};
constexpr std::array<std::string_view, 4> kLimitsKeys = {"memory", "cpu", "open_files",
                                                         "core_dumps"};

constexpr RestartMode kRestartModes[] = {RestartMode::kAlways, RestartMode::kOnFailure,
                                         RestartMode::kNever};
constexpr ExhaustedAction kExhaustedActions[] = {
    ExhaustedAction::kFailDevice, ExhaustedAction::kStopSupervisor, ExhaustedAction::kRunHook};
constexpr RecoveryMode kRecoveryModes[] = {RecoveryMode::kWarm, RecoveryMode::kCold};
constexpr InflightAction kInflightActions[] = {InflightAction::kReissue, InflightAction::kFail};
constexpr TxInflightAction kTxInflightActions[] = {TxInflightAction::kReissue,
                                                   TxInflightAction::kDrop};

// Below 16 MiB of address space glibc, the loader and the ring mappings of a
// driver do not fit; the driver would die at start and look like a crash loop.
constexpr uint64_t kMinMemoryBytes = 16ull << 20;
constexpr uint64_t kMaxMemoryBytes = 1ull << 40;

bool valid_policy_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// The section a misplaced top-level key belongs in, for the error message.
std::string_view section_of(std::string_view key) {
  const std::array<std::pair<std::string_view, KeyList>, 7> sections = {{
      {"restart", kRestartKeys},
      {"backoff", kBackoffKeys},
      {"exhausted", kExhaustedKeys},
      {"heartbeat", kHeartbeatKeys},
      {"recovery", kRecoveryKeys},
      {"errors", kErrorsKeys},
      {"limits", kLimitsKeys},
  }};
  for (auto [section, keys] : sections) {
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) return section;
  }
  return {};
}

uint32_t online_cpus() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1u : static_cast<uint32_t>(std::min<long>(n, 4096));
}

Status parse_restart(const PolicyTableReader& r, RestartPolicy& p) {
  ULDD_TRY(r.check_keys(kRestartKeys));
  ULDD_TRY(r.read_choice("mode", kRestartModes, p.restart));
  ULDD_TRY(r.read_duration("delay", 0ms, 1h, p.delay));
  ULDD_TRY(r.read_uint("intensity", 0, 10'000, p.intensity));
  ULDD_TRY(r.read_duration("period", 1ms, 24h, p.period));
  if (p.intensity == 0 && p.restart != RestartMode::kNever) {
    return r.error(r.has("intensity") ? "intensity" : "mode",
                   "'intensity' = 0 allows no restart, but restart 'mode' = \"" +
                       std::string(to_string(p.restart)) +
                       "\"; say mode = \"never\" if no restart is wanted");
  }
  return {};
}

Status parse_backoff(const PolicyTableReader& r, RestartPolicy& p) {
  ULDD_TRY(r.check_keys(kBackoffKeys));
  ULDD_TRY(r.read_duration("initial", 1ms, 1h, p.backoff_initial));
  ULDD_TRY(r.read_double("multiplier", 1.0, 100.0, p.backoff_multiplier));
  ULDD_TRY(r.read_duration("max", 1ms, 1h, p.backoff_max));
  ULDD_TRY(r.read_double("jitter", 0.0, 1.0, p.jitter));
  ULDD_TRY(r.read_duration("stable_after", 0ms, 24h, p.stable_after));
  if (p.backoff_max < p.backoff_initial) {
    return r.error(r.has("max") ? "max" : "initial",
                   "backoff 'max' (" + format_duration(p.backoff_max) +
                       ") is less than 'initial' (" + format_duration(p.backoff_initial) + ")");
  }
  return {};
}

Status parse_exhausted(const PolicyTableReader& r, RestartPolicy& p) {
  ULDD_TRY(r.check_keys(kExhaustedKeys));
  ULDD_TRY(r.read_choice("action", kExhaustedActions, p.on_exhausted));
  ULDD_TRY(r.read_string("hook", p.hook));
  uint32_t exit_code = static_cast<uint32_t>(p.stop_exit_code);
  ULDD_TRY(r.read_uint("exit_code", 1, 255, exit_code));
  p.stop_exit_code = static_cast<int>(exit_code);

  bool run_hook = p.on_exhausted == ExhaustedAction::kRunHook;
  if (run_hook && !r.has("hook"))
    return r.error("action", "action = \"run-hook\" needs a 'hook' (absolute path of a program)");
  if (!run_hook && r.has("hook"))
    return r.error("hook", "'hook' is only used with action = \"run-hook\", not \"" +
                               std::string(to_string(p.on_exhausted)) + "\"");
  if (r.has("exit_code") && p.on_exhausted != ExhaustedAction::kStopSupervisor)
    return r.error("exit_code",
                   "'exit_code' is only used with action = \"stop-supervisor\", not \"" +
                       std::string(to_string(p.on_exhausted)) + "\"");
  if (run_hook) {
    // The hook runs from a daemon whose working directory is not the
    // operator's: a relative path would find some other program, or none.
    if (p.hook.empty() || p.hook.front() != '/')
      return r.invalid("hook", "is not an absolute path");
    if (p.hook.find('\0') != std::string::npos) return r.invalid("hook", "contains a NUL");
    if (p.hook.back() == '/') return r.invalid("hook", "names a directory, not a program");
  }
  return {};
}

Status parse_heartbeat(const PolicyTableReader& r, RestartPolicy& p) {
  ULDD_TRY(r.check_keys(kHeartbeatKeys));
  ULDD_TRY(r.read_duration("interval", 1ms, 60s, p.heartbeat_interval));
  ULDD_TRY(r.read_duration("timeout", 2ms, 10min, p.heartbeat_timeout));
  ULDD_TRY(r.read_duration("request_timeout", 0ms, 1h, p.request_timeout));
  if (p.request_timeout != 0ms && p.request_timeout < 100ms)
    return r.error("request_timeout", "heartbeat 'request_timeout' (" +
                                          format_duration(p.request_timeout) +
                                          ") must be \"0s\" (never) or at least 100ms");
  // A timeout at or below the interval declares a healthy driver hung between
  // two of its own beats.
  if (p.heartbeat_timeout <= p.heartbeat_interval) {
    return r.error(r.has("timeout") ? "timeout" : "interval",
                   "heartbeat 'timeout' (" + format_duration(p.heartbeat_timeout) +
                       ") must be greater than 'interval' (" +
                       format_duration(p.heartbeat_interval) + ")");
  }
  return {};
}

Status parse_recovery(const PolicyTableReader& r, RestartPolicy& p) {
  ULDD_TRY(r.check_keys(kRecoveryKeys));
  ULDD_TRY(r.read_choice("mode", kRecoveryModes, p.recovery));
  ULDD_TRY(r.read_choice("inflight", kInflightActions, p.inflight));
  ULDD_TRY(r.read_choice("nic_tx_inflight", kTxInflightActions, p.nic_tx_inflight));
  ULDD_TRY(r.read_bool("hot_standby", p.hot_standby));
  return {};
}

Status parse_errors(const PolicyTableReader& r, RestartPolicy& p) {
  ULDD_TRY(r.check_keys(kErrorsKeys));
  ULDD_TRY(r.read_uint("retries", 0, 100, p.error_retries));
  ULDD_TRY(r.read_duration("retry_delay", 0ms, 10s, p.retry_delay));
  ULDD_TRY(r.read_bool("retry_permanent", p.retry_permanent));
  return {};
}

Status parse_limits(const PolicyTableReader& r, RestartPolicy& p) {
  ULDD_TRY(r.check_keys(kLimitsKeys));
  ULDD_TRY(r.read_size_or_none("memory", kMinMemoryBytes, kMaxMemoryBytes, p.limits.memory_bytes));
  ULDD_TRY(r.read_percent_or_none("cpu", 1, 100 * online_cpus(), p.limits.cpu_percent));
  ULDD_TRY(r.read_uint("open_files", 16, 65'536, p.limits.open_files));
  ULDD_TRY(r.read_bool("core_dumps", p.limits.core_dumps));
  return {};
}

using SectionParser = Status (*)(const PolicyTableReader&, RestartPolicy&);

Result<RestartPolicy> build_policy(const std::string& source, const toml::table& root) {
  RestartPolicy p;
  p.source = source;
  PolicyTableReader top(source, root, "");
  for (auto&& [key, value] : root) {
    std::string_view k = key.str();
    bool is_section = std::find(kSections.begin(), kSections.end(), k) != kSections.end();
    if (is_section && !value.is_table()) {
      return top.error(k, "'" + std::string(k) + "' must be a table ([" + std::string(k) +
                              "]), not a single value");
    }
    if (is_section || std::find(kTopKeys.begin(), kTopKeys.end(), k) != kTopKeys.end()) continue;
    if (value.is_table() || value.is_array_of_tables()) {
      std::string_view near = nearest_key(k, kSections);
      std::string hint = near.empty() ? "" : " (did you mean [" + std::string(near) + "]?)";
      return located_error(source, key.source(), "unknown table [" + std::string(k) + "]" + hint);
    }
    std::string_view home = section_of(k);
    std::string hint =
        home.empty() ? did_you_mean(k, kTopKeys) : " (it belongs in [" + std::string(home) + "])";
    return located_error(source, key.source(),
                         "unknown key '" + std::string(k) + "' at the top level" + hint);
  }

  ULDD_TRY(top.read_string("description", p.description));
  if (top.has("name")) {
    ULDD_TRY(top.read_string("name", p.name));
    if (!valid_policy_name(p.name)) return top.invalid("name", "does not match [a-z0-9_-]{1,64}");
    const toml::source_position& at = root.get("name")->source().begin;
    p.defined_at = source + ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
  } else {
    p.name = std::filesystem::path(source).stem().string();
    p.defined_at = source;
    if (!valid_policy_name(p.name)) {
      return located_error(source, {},
                           "policy name '" + p.name +
                               "' (from the file name) does not match "
                               "[a-z0-9_-]{1,64}; rename the file or set name = \"...\"");
    }
  }

  const std::array<std::pair<std::string_view, SectionParser>, 7> parsers = {{
      {"restart", parse_restart},
      {"backoff", parse_backoff},
      {"exhausted", parse_exhausted},
      {"heartbeat", parse_heartbeat},
      {"recovery", parse_recovery},
      {"errors", parse_errors},
      {"limits", parse_limits},
  }};
  // An absent section is read as an empty table so its cross-field rules
  // still run against the defaults (and report at 1:1 if they ever fail).
  const toml::table empty;
  for (auto [name, parse] : parsers) {
    const toml::node* n = root.get(name);
    const toml::table& t = n != nullptr ? *n->as_table() : empty;
    ULDD_TRY(parse(PolicyTableReader(source, t, "[" + std::string(name) + "]"), p));
  }
  if (p.hot_standby && p.restart == RestartMode::kNever) {
    PolicyTableReader recovery(source, *root.get("recovery")->as_table(), "[recovery]");
    return recovery.error("hot_standby",
                          "hot_standby = true has no use with restart mode = \"never\"");
  }
  return p;
}

}  // namespace

Result<RestartPolicy> parse_policy(std::string_view toml, const std::string& source) {
  return parse_toml(toml, source,
                    [&](const toml::table& root) { return build_policy(source, root); });
}

Result<RestartPolicy> load_policy_file(const std::filesystem::path& path) {
  auto text = read_toml_text(path, 1);
  if (!text) return text.error();
  return parse_policy(*text, path.string());
}

const RestartPolicy& default_policy() {
  static const RestartPolicy policy = [] {
    RestartPolicy p;
    p.name = "default";
    p.source = "<built-in default>";
    p.defined_at = p.source;
    p.description =
        "Restart at once, then back off from 1ms to 1s; give up after 10 restarts a minute.";
    return p;
  }();
  return policy;
}

}  // namespace uldd::policies
