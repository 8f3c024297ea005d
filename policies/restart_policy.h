// RestartPolicy: what the supervisor does when a driver dies, hangs or
// misbehaves — whether and when to restart it, when to give up and how, how a
// hang is detected, how the device is resumed and what happens to requests
// that were in flight. Operators write it as a TOML file (policies/README.md
// documents every field; policy_parser.h reads it); the restart engine reads
// the struct and RestartTracker (restart_tracker.h) turns it into decisions.
//
// This is a plain value: it never lives in shared memory and no driver ever
// sees it, so there is no layout to pin. The defaults below are the built-in
// policy and are repeated, as TOML, in policies/default.toml (a test checks
// that the two agree).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace uldd::policies {

// TOML [restart] mode.
enum class RestartMode {
  kAlways,     // "always": every failure is restarted, a clean exit(0) too
  kOnFailure,  // "on-failure": a clean exit(0) is not restarted (the driver meant to stop)
  kNever,      // "never": the first failure exhausts the policy
};

// TOML [exhausted] action: what happens once the policy gives up on a driver.
enum class ExhaustedAction {
  kFailDevice,      // "fail-device": queued and new I/O completed with EIO, NIC marked down;
                    //   the supervisor keeps serving its other devices
  kStopSupervisor,  // "stop-supervisor": exit with `stop_exit_code` so systemd can act
  kRunHook,         // "run-hook": fail the device, then run `hook` with DEVICE and CAUSE set
};

// TOML [recovery] mode.
enum class RecoveryMode {
  kWarm,  // "warm": adopt the device from the checkpoint; falls back to cold by itself
  kCold,  // "cold": always reset the device and reissue what was outstanding
};

// TOML [recovery] inflight: disk requests outstanding at the crash.
enum class InflightAction {
  kReissue,  // "reissue": hand them to the new driver again, in their original order
  kFail,     // "fail": complete them with EIO (the application decides)
};

// TOML [recovery] nic_tx_inflight: NIC TX frames outstanding at the crash.
enum class TxInflightAction {
  kReissue,  // "reissue": send them again (a peer may see a duplicate frame)
  kDrop,     // "drop": forget them (TCP retransmits; like a NIC that lost its queue)
};

// TOML [limits]: applied to the driver process when it is spawned.
struct ResourceLimits {
  uint64_t memory_bytes = 0;  // address-space cap of the driver process (RLIMIT_AS), 0 = none;
                              //   "256MiB" in TOML, >= 16 MiB when set
  uint32_t cpu_percent = 0;   // CPU quota (cgroup v2 cpu.max) 1..100*ncpu, 0 = none; "50%" in TOML
  uint32_t open_files = 64;   // RLIMIT_NOFILE, 16..65536 (the driver needs its handed-over fds)
  bool core_dumps = false;    // RLIMIT_CORE unlimited when true, 0 when false

  bool operator==(const ResourceLimits&) const = default;
};

struct RestartPolicy {
  std::string name;         // `name =`, else the file name without ".toml"; [a-z0-9_-]{1,64}
  std::string source;       // path of the file, or "<built-in default>"
  std::string description;  // free text for the operator, optional
  // Where the name was given ("file:line:column" of `name =`, or the path when
  // the name comes from the file name): PolicyStore points duplicates here.
  std::string defined_at;

  // [restart]
  RestartMode restart = RestartMode::kAlways;
  std::chrono::milliseconds delay{0};  // before the first restart of a burst, 0..1h
  uint32_t intensity = 10;  // at most this many restarts, 0..10000 (0 only with never) ...
  std::chrono::milliseconds period{
      60000};  // ... within this sliding window (1ms..1d), else exhausted

  // [backoff]: the k-th consecutive restart of a burst (k >= 2) waits
  // min(backoff_max, backoff_initial * backoff_multiplier^(k-2)), each +- jitter.
  std::chrono::milliseconds backoff_initial{1};   // 1ms..1h
  double backoff_multiplier = 2.0;                // 1.0..100.0 (1.0 = constant delay)
  std::chrono::milliseconds backoff_max{1000};    // >= backoff_initial, <= 1h
  double jitter = 0.1;                            // +- fraction applied to each delay, 0..1
  std::chrono::milliseconds stable_after{10000};  // up this long => the burst is over, 0..1d

  // [exhausted]
  ExhaustedAction on_exhausted = ExhaustedAction::kFailDevice;
  std::string hook;        // absolute path, only with kRunHook (run with DEVICE, CAUSE env)
  int stop_exit_code = 3;  // 1..255, only with kStopSupervisor (0 would tell systemd "success")

  // [heartbeat]
  std::chrono::milliseconds heartbeat_interval{50};  // how often the driver bumps it, 1ms..60s
  std::chrono::milliseconds heartbeat_timeout{
      250};  // silent this long => hung; > interval, <= 10min
  // A disk request handed to the driver and not completed this long => the
  // driver is stuck (a lost completion, a hung device) although it beats:
  // killed and restarted COLD (a reset is what ends a device hang).
  // 0 = never; else 100ms..1h. Like Linux's nvme io_timeout (30 s).
  std::chrono::milliseconds request_timeout{30000};

  // [recovery]
  RecoveryMode recovery = RecoveryMode::kWarm;
  InflightAction inflight = InflightAction::kReissue;
  TxInflightAction nic_tx_inflight = TxInflightAction::kReissue;
  bool hot_standby = false;  // keep a spare driver process started and promote it on failure

  // [errors]: a disk request part the driver completes with an error is sent
  // again (same driver, or its successor) up to `error_retries` times before
  // the error reaches the application, like Linux's nvme_max_retries (5).
  // The driver is untrusted and may have made the error up (campaigns: an
  // inverted branch refusing a valid request), so even errors the device
  // calls permanent (NVMe Do Not Retry, a media error) are retried unless
  // `retry_permanent` is false (then they go up at once, as in Linux).
  uint32_t error_retries = 5;                // 0..100; 0 = every error goes up at once
  std::chrono::milliseconds retry_delay{0};  // before each resend, 0..10s
  bool retry_permanent = true;

  // [limits]
  ResourceLimits limits;

  bool operator==(const RestartPolicy&) const = default;
};

// The names used in TOML files and log lines ("on-failure", "run-hook", ...).
std::string_view to_string(RestartMode mode);
std::string_view to_string(ExhaustedAction action);
std::string_view to_string(RecoveryMode mode);
std::string_view to_string(InflightAction action);
std::string_view to_string(TxInflightAction action);

}  // namespace uldd::policies
