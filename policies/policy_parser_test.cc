// Tests of policy files: the built-in default and its TOML text agree, every
// example parses to what it says, and each validation rule is reported at the
// exact line:column with its reason. (The bad-file corpus is
// policy_corpus_test.cc.)
#include "policies/policy_parser.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace uldd::policies {
namespace {

using std::chrono::milliseconds;

const std::string kSourceDir = ULDD_SOURCE_DIR;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The error message parse_policy gives for `text` ("" if it parsed).
std::string error_of(const std::string& text) {
  auto p = parse_policy(text, "p.toml");
  return p.ok() ? "" : p.error().describe();
}

// `p` with its provenance replaced by the built-in default's, so only the
// policy itself is compared.
RestartPolicy as_builtin(RestartPolicy p) {
  p.source = default_policy().source;
  p.defined_at = default_policy().defined_at;
  return p;
}

TEST(PolicyParserTest, DefaultPolicyIsTheStructDefaults) {
  RestartPolicy expected;  // what the lead's engine gets when it does nothing special
  const RestartPolicy& d = default_policy();
  EXPECT_EQ(d.name, "default");
  EXPECT_EQ(d.source, "<built-in default>");
  EXPECT_EQ(d.restart, expected.restart);
  EXPECT_EQ(d.delay, milliseconds(0));
  EXPECT_EQ(d.backoff_initial, milliseconds(1));
  EXPECT_EQ(d.backoff_max, milliseconds(1000));
  EXPECT_EQ(d.intensity, 10u);
  EXPECT_EQ(d.period, milliseconds(60'000));
  EXPECT_EQ(d.heartbeat_interval, milliseconds(50));
  EXPECT_EQ(d.heartbeat_timeout, milliseconds(250));
  expected.name = d.name;
  expected.source = d.source;
  expected.defined_at = d.defined_at;
  expected.description = d.description;
  EXPECT_EQ(d, expected);
}

TEST(PolicyParserTest, EmbeddedTomlAgreesWithDefaultPolicy) {
  auto p = parse_policy(kDefaultPolicyToml, "<built-in default>");
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(as_builtin(*p), default_policy());
}

TEST(PolicyParserTest, ShippedDefaultFilesAreTheEmbeddedText) {
  EXPECT_EQ(read_file(kSourceDir + "/policies/default.toml"), kDefaultPolicyToml);
  auto p = load_policy_file(kSourceDir + "/policies/examples/default.toml");
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(as_builtin(*p), default_policy());
}

TEST(PolicyParserTest, ExamplesParseToWhatTheySay) {
  const std::string dir = kSourceDir + "/policies/examples/";
  auto fast = load_policy_file(dir + "aggressive-fast-restart.toml");
  ASSERT_TRUE(fast.ok()) << fast.error().describe();
  EXPECT_EQ(fast->name, "aggressive-fast-restart");
  EXPECT_EQ(fast->defined_at, dir + "aggressive-fast-restart.toml");
  EXPECT_TRUE(fast->hot_standby);
  EXPECT_EQ(fast->heartbeat_timeout, milliseconds(30));
  EXPECT_EQ(fast->backoff_multiplier, 1.5);
  EXPECT_EQ(fast->jitter, 0.0);

  auto cautious = load_policy_file(dir + "cautious-production.toml");
  ASSERT_TRUE(cautious.ok()) << cautious.error().describe();
  EXPECT_EQ(cautious->restart, RestartMode::kOnFailure);
  EXPECT_EQ(cautious->recovery, RecoveryMode::kCold);
  EXPECT_EQ(cautious->nic_tx_inflight, TxInflightAction::kDrop);
  EXPECT_EQ(cautious->period, milliseconds(600'000));
  EXPECT_EQ(cautious->backoff_max, milliseconds(30'000));
  EXPECT_EQ(cautious->limits.memory_bytes, 256ull << 20);
  EXPECT_EQ(cautious->limits.cpu_percent, 50u);
  EXPECT_TRUE(cautious->limits.core_dumps);

  auto never = load_policy_file(dir + "never-restart.toml");
  ASSERT_TRUE(never.ok()) << never.error().describe();
  EXPECT_EQ(never->restart, RestartMode::kNever);
  EXPECT_EQ(never->intensity, 0u);
  EXPECT_EQ(never->inflight, InflightAction::kFail);

  auto stop = load_policy_file(dir + "stop-supervisor-on-exhaustion.toml");
  ASSERT_TRUE(stop.ok()) << stop.error().describe();
  EXPECT_EQ(stop->on_exhausted, ExhaustedAction::kStopSupervisor);
  EXPECT_EQ(stop->stop_exit_code, 75);

  auto hook = load_policy_file(dir + "run-hook.toml");
  ASSERT_TRUE(hook.ok()) << hook.error().describe();
  EXPECT_EQ(hook->on_exhausted, ExhaustedAction::kRunHook);
  EXPECT_EQ(hook->hook, "/usr/local/lib/uldd/hooks/notify-oncall");
  EXPECT_EQ(hook->intensity, 5u);
}

TEST(PolicyParserTest, EmptyFileIsTheDefaultsNamedAfterTheFile) {
  auto p = parse_policy("", "/etc/uldd/policies/nvme-fast.toml");
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(p->name, "nvme-fast");
  EXPECT_EQ(p->source, "/etc/uldd/policies/nvme-fast.toml");
  RestartPolicy expected;
  expected.name = "nvme-fast";
  expected.source = expected.defined_at = p->source;
  EXPECT_EQ(*p, expected);
}

TEST(PolicyParserTest, NameKeyOverridesFileNameAndRecordsPosition) {
  auto p = parse_policy("\nname = \"disks\"\n", "/x/y.toml");
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(p->name, "disks");
  EXPECT_EQ(p->defined_at, "/x/y.toml:2:8");
  EXPECT_EQ(error_of("name = \"Disks\"\n"),
            "p.toml:1:8: 'name' = \"Disks\" does not match [a-z0-9_-]{1,64}");
  auto bad_stem = parse_policy("", "/x/My Policy.toml");
  ASSERT_FALSE(bad_stem.ok());
  EXPECT_EQ(bad_stem.error().describe().substr(0, 20), "/x/My Policy.toml:1:");
  EXPECT_NE(bad_stem.error().describe().find("(from the file name)"), std::string::npos);
}

TEST(PolicyParserTest, EveryFieldIsRead) {
  auto p = parse_policy(R"(name = "all"
description = "d"
[restart]
mode = "on-failure"
delay = "5ms"
intensity = 7
period = "2m"
[backoff]
initial = "3ms"
multiplier = 4
max = "9s"
jitter = 1
stable_after = "0ms"
[exhausted]
action = "stop-supervisor"
exit_code = 9
[heartbeat]
interval = "1s"
timeout = "10min"
)",
                        "p.toml");
  // 10min is not a unit: minutes are "m".
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().describe().find("p.toml:19:11: 'timeout' = \"10min\" has unknown unit 'min'"),
            std::string::npos)
      << p.error().describe();

  p = parse_policy(R"([restart]
mode = "on-failure"
delay = "5ms"
intensity = 7
period = "2m"
[backoff]
initial = "3ms"
multiplier = 4
max = "9s"
jitter = 1
stable_after = "0ms"
[exhausted]
action = "stop-supervisor"
exit_code = 9
[heartbeat]
interval = "1s"
timeout = "10m"
[recovery]
mode = "cold"
inflight = "fail"
nic_tx_inflight = "drop"
hot_standby = true
[errors]
retries = 0
retry_delay = "20ms"
retry_permanent = false
[limits]
memory = 33554432
cpu = "100%"
open_files = 16
core_dumps = true
)",
                   "all.toml");
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(p->restart, RestartMode::kOnFailure);
  EXPECT_EQ(p->delay, milliseconds(5));
  EXPECT_EQ(p->intensity, 7u);
  EXPECT_EQ(p->period, milliseconds(120'000));
  EXPECT_EQ(p->backoff_initial, milliseconds(3));
  EXPECT_EQ(p->backoff_multiplier, 4.0);
  EXPECT_EQ(p->backoff_max, milliseconds(9000));
  EXPECT_EQ(p->jitter, 1.0);
  EXPECT_EQ(p->stable_after, milliseconds(0));
  EXPECT_EQ(p->on_exhausted, ExhaustedAction::kStopSupervisor);
  EXPECT_EQ(p->stop_exit_code, 9);
  EXPECT_EQ(p->heartbeat_interval, milliseconds(1000));
  EXPECT_EQ(p->heartbeat_timeout, milliseconds(600'000));
  EXPECT_EQ(p->recovery, RecoveryMode::kCold);
  EXPECT_EQ(p->inflight, InflightAction::kFail);
  EXPECT_EQ(p->nic_tx_inflight, TxInflightAction::kDrop);
  EXPECT_TRUE(p->hot_standby);
  EXPECT_EQ(p->error_retries, 0u);
  EXPECT_EQ(p->retry_delay, milliseconds(20));
  EXPECT_FALSE(p->retry_permanent);
  EXPECT_EQ(p->limits.memory_bytes, 32u << 20);
  EXPECT_EQ(p->limits.cpu_percent, 100u);
  EXPECT_EQ(p->limits.open_files, 16u);
  EXPECT_TRUE(p->limits.core_dumps);
}

TEST(PolicyParserTest, CrossFieldRulesReportAtTheKeyToChange) {
  // Both keys written: at the second one.
  EXPECT_EQ(error_of("[heartbeat]\ninterval = \"100ms\"\ntimeout = \"100ms\"\n"),
            "p.toml:3:11: heartbeat 'timeout' (100ms) must be greater than 'interval' (100ms)");
  // Only the interval written, above the default timeout: at the interval.
  EXPECT_EQ(error_of("[heartbeat]\ninterval = \"1s\"\n"),
            "p.toml:2:12: heartbeat 'timeout' (250ms) must be greater than 'interval' (1s)");
  EXPECT_EQ(error_of("[backoff]\nmax = \"500us\"\n").substr(0, 12), "p.toml:2:7: ");
  EXPECT_EQ(error_of("[backoff]\ninitial = \"2s\"\n"),
            "p.toml:2:11: backoff 'max' (1s) is less than 'initial' (2s)");
  EXPECT_NE(
      error_of("[restart]\nintensity = 0\n").find("p.toml:2:13: 'intensity' = 0 allows no restart"),
      std::string::npos);
  EXPECT_EQ(error_of("[restart]\nmode = \"never\"\nintensity = 0\n"), "");
  EXPECT_EQ(error_of("[restart]\nmode = \"never\"\n[recovery]\nhot_standby = true\n"),
            "p.toml:4:15: hot_standby = true has no use with restart mode = \"never\"");
}

TEST(PolicyParserTest, ExhaustedActionNeedsItsOwnKeysOnly) {
  EXPECT_EQ(error_of("[exhausted]\naction = \"run-hook\"\n"),
            "p.toml:2:10: action = \"run-hook\" needs a 'hook' (absolute path of a program)");
  EXPECT_EQ(error_of("[exhausted]\naction = \"run-hook\"\nhook = \"bin/page\"\n"),
            "p.toml:3:8: 'hook' = \"bin/page\" is not an absolute path");
  EXPECT_EQ(error_of("[exhausted]\nhook = \"/bin/true\"\n"),
            "p.toml:2:8: 'hook' is only used with action = \"run-hook\", not \"fail-device\"");
  EXPECT_EQ(error_of("[exhausted]\nexit_code = 4\n"),
            "p.toml:2:13: 'exit_code' is only used with action = \"stop-supervisor\", not "
            "\"fail-device\"");
  EXPECT_EQ(error_of("[exhausted]\naction = \"stop-supervisor\"\nexit_code = 256\n"),
            "p.toml:3:13: 'exit_code' = 256 is out of range 1..255");
}

TEST(PolicyParserTest, UnknownKeysGetSuggestions) {
  EXPECT_EQ(error_of("[backoff]\nmultiplyer = 2.0\n"),
            "p.toml:2:1: unknown key 'multiplyer' in [backoff] (did you mean 'multiplier'?)");
  EXPECT_EQ(error_of("[limits]\nmemory_bytes = 1\n"),
            "p.toml:2:1: unknown key 'memory_bytes' in [limits] (did you mean 'memory'?)");
  EXPECT_EQ(error_of("[limits]\nswap = 1\n"), "p.toml:2:1: unknown key 'swap' in [limits]");
  EXPECT_EQ(error_of("\n[hartbeat]\n"),
            "p.toml:2:2: unknown table [hartbeat] (did you mean [heartbeat]?)");
  EXPECT_EQ(error_of("timeout = \"1s\"\n"),
            "p.toml:1:1: unknown key 'timeout' at the top level (it belongs in [heartbeat])");
  EXPECT_EQ(error_of("restart = \"always\"\n"),
            "p.toml:1:11: 'restart' must be a table ([restart]), not a single value");
}

TEST(PolicyParserTest, WrongTypesNameWhatWasWanted) {
  EXPECT_EQ(error_of("[restart]\ndelay = 250\n"),
            "p.toml:2:9: 'delay' in [restart] must be a duration string such as \"250ms\" or "
            "\"2s\", not an integer");
  EXPECT_EQ(error_of("[recovery]\nhot_standby = \"yes\"\n"),
            "p.toml:2:15: 'hot_standby' in [recovery] must be a boolean (true or false), not a "
            "string");
  EXPECT_EQ(error_of("[backoff]\njitter = \"10%\"\n"),
            "p.toml:2:10: 'jitter' in [backoff] must be a number, not a string");
  EXPECT_EQ(error_of("[recovery]\nmode = \"lukewarm\"\n"),
            "p.toml:2:8: 'mode' = \"lukewarm\" is not \"warm\" or \"cold\"");
  EXPECT_EQ(error_of("[restart]\nmode = \"sometimes\"\n"),
            "p.toml:2:8: 'mode' = \"sometimes\" is not \"always\", \"on-failure\" or \"never\"");
}

TEST(PolicyParserTest, LimitsRanges) {
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  ASSERT_GT(cpus, 0);
  std::string all_cpus = "[limits]\ncpu = \"" + std::to_string(100 * cpus) + "%\"\n";
  std::string too_many = "[limits]\ncpu = \"" + std::to_string(100 * cpus + 1) + "%\"\n";
  EXPECT_EQ(error_of(all_cpus), "");
  EXPECT_NE(error_of(too_many).find("p.toml:2:7: 'cpu' = "), std::string::npos);
  EXPECT_NE(error_of(too_many).find("is out of range 1%.."), std::string::npos);
  EXPECT_EQ(error_of("[limits]\nmemory = \"none\"\ncpu = \"none\"\n"), "");
  EXPECT_EQ(error_of("[limits]\nmemory = 0\n"), "");
  EXPECT_EQ(error_of("[limits]\nmemory = \"8MiB\"\n"),
            "p.toml:2:10: 'memory' = \"8MiB\" is out of range 16MiB..1048576MiB (or \"none\")");
  EXPECT_EQ(error_of("[limits]\nmemory = -1\n"), "p.toml:2:10: 'memory' = -1 must not be negative");
  EXPECT_EQ(error_of("[limits]\nopen_files = 100000\n"),
            "p.toml:2:14: 'open_files' = 100000 is out of range 16..65536");
}

TEST(PolicyParserTest, SyntaxErrorsHavePositions) {
  std::string e = error_of("[restart]\nmode = \"always\nintensity = 3\n");
  EXPECT_EQ(e.substr(0, 9), "p.toml:2:") << e;
  e = error_of("[restart]\nintensity = 3\nintensity = 4\n");
  EXPECT_EQ(e.substr(0, 9), "p.toml:3:") << e;
}

TEST(PolicyParserTest, MissingFileNamesPathAndReason) {
  auto p = load_policy_file("/nonexistent/uldd/policy.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().describe(),
            "/nonexistent/uldd/policy.toml: cannot read: No such file or directory");
}

}  // namespace
}  // namespace uldd::policies
