#!/usr/bin/env bash
# recovery 009 (live half; the corpus of bad files is recovery_009_bad_policy_files
# in policies/): SIGHUP with a bad policy file keeps the last good policy.
# disk0 runs under policy 'hup' (restart always). The file is replaced by bad
# ones that would, if even half taken, say restart = "never"; each SIGHUP must
# be refused with file:line:column and the reason, and a driver killed
# afterwards is still restarted. Then a good edit (restart = "never") is
# taken, and the next kill fails the device as the new policy says.
source "$(dirname "$0")/lib_recovery.sh"
require_root_and_tools python3
trap recovery_cleanup EXIT
e2e_setup r009 isolated 16MiB
e2e_policy hup <<TOML
[restart]
mode = "always"
intensity = 100
[backoff]
initial = "1ms"
jitter = 0.0
TOML
policy_file="$E2E_TMP/policies/hup.toml"
e2e_start_supervisor
dd if=/dev/urandom of="$E2E_TMP/before.bin" bs=1M count=1 status=none
dd if="$E2E_TMP/before.bin" of="$FUSE_FILE" bs=1M oflag=direct conv=notrunc status=none

# replace_policy <<TOML: the new text goes in by rename, as an editor or a
# configuration manager would do it (never a half-written file).
replace_policy() { cat > "$policy_file.new"; mv "$policy_file.new" "$policy_file"; }

# bad_reload N WANT: the N-th refused reload names WANT (file:line:column: reason).
bad_reload() {
  kill -HUP "$SUPERVISOR_PID"
  wait_log_count "SIGHUP: policy reload failed, keeping the last good policies" "$1" 10
  grep -qF -- "$2" "$E2E_TMP/supervisor.log" || { tail -5 "$E2E_TMP/supervisor.log"; fail "refusal does not say '$2'"; }
  log "bad reload $1 refused: $2"
}

# kill_expect_restart N: a kill is recovered under the policy in force (N-th restart).
kill_expect_restart() {
  local pid
  pid=$(serving_driver_pid) || fail "no serving driver"
  kill -KILL "$pid"
  wait_log_count "driver restarted (warm|cold)" "$1" 15
}

# 1. An unknown key (line 5), after a restart mode that must not be half-applied.
replace_policy <<TOML
[restart]
mode = "never"
intensity = 0
[backoff]
intial = "1ms"
TOML
bad_reload 1 "hup.toml:5:1: unknown key 'intial' in [backoff] (did you mean 'initial'?)"
kill_expect_restart 1

# 2. A TOML syntax error (unterminated string on line 2).
replace_policy <<TOML
[restart]
mode = "never
TOML
bad_reload 2 "hup.toml:2:"
kill_expect_restart 2

# 3. A rule tying two fields: the heartbeat timeout must exceed the interval.
replace_policy <<TOML
[restart]
mode = "never"
intensity = 0
[heartbeat]
interval = "100ms"
timeout = "100ms"
TOML
bad_reload 3 "hup.toml:6:11: heartbeat 'timeout' (100ms) must be greater than 'interval' (100ms)"
kill_expect_restart 3
grep -q "SIGHUP: disk0: policy" "$E2E_TMP/supervisor.log" && fail "a bad file was reported as reloaded"
grep -q "device FAILED" "$E2E_TMP/supervisor.log" && fail "device failed under the old policy"

# 4. A good edit is taken: restart never. The next kill gives up on the driver.
replace_policy <<TOML
description = "edited: no more restarts"
[restart]
mode = "never"
intensity = 0
TOML
kill -HUP "$SUPERVISOR_PID"
wait_log "SIGHUP: disk0: policy 'hup' reloaded from $policy_file" 10
pid=$(serving_driver_pid) || fail "no serving driver"
kill -KILL "$pid"
wait_log "giving up on the driver: .*policy 'hup' says fail-device" 10
wait_log "device FAILED" 5
[ "$(log_count "driver restarted (warm|cold)")" -eq 3 ] || fail "restarted under the edited policy"
kill -0 "$SUPERVISOR_PID" || fail "supervisor died"
e2e_stop_supervisor
head -c $((1 << 20)) "$E2E_TMP/disk0.img" | cmp -s - "$E2E_TMP/before.bin" || fail "data written before changed"
log "3 bad reloads refused with file:line:column, old policy kept; good edit taken"
echo "PASS"
