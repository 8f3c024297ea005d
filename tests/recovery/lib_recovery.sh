# Helpers of the recovery scenarios (tests/recovery/NNN_*.sh), on top of the
# end-to-end helpers: a policy that allows many restarts, and a killer that
# SIGKILLs (or otherwise faults) the current driver N times at an interval.
source "$(dirname "$0")/../e2e/lib.sh"

# A policy for crash loops driven by the test: many restarts allowed, no
# backoff beyond a millisecond, the given recovery mode and standby setting.
e2e_recovery_policy() {
  local mode=${1:-warm} standby=${2:-false}
  e2e_policy recovery <<TOML
[restart]
mode = "always"
intensity = 10000
period = "1m"
[backoff]
initial = "1ms"
max = "1ms"
jitter = 0.0
[heartbeat]
interval = "20ms"
timeout = "200ms"
[recovery]
mode = "$mode"
hot_standby = $standby
TOML
}

# kill_driver_repeatedly COUNT INTERVAL_S SIGNAL: in the background; writes
# the number of kills done to $E2E_TMP/kills. Each kill waits for a new driver
# pid, so every kill hits a serving driver.
kill_driver_repeatedly() {
  local count=$1 interval=$2 sig=${3:-KILL}
  (
    done_kills=0
    last=""
    while [ "$done_kills" -lt "$count" ]; do
      sleep "$interval"
      pid=$(e2e_driver_pid) || continue
      [ "$pid" != "$last" ] || continue
      kill -"$sig" "$pid" 2>/dev/null || continue
      last=$pid
      done_kills=$((done_kills + 1))
      echo "$done_kills" > "$E2E_TMP/kills"
    done
  ) &
  KILLER_PID=$!
}

# The EXIT trap of every recovery scenario: stop the killer, then the usual.
recovery_cleanup() {
  local status=$?
  [ -z "${KILLER_PID:-}" ] || kill "$KILLER_PID" 2>/dev/null || true
  (exit $status)
  e2e_cleanup
}

kills_done() { cat "$E2E_TMP/kills" 2>/dev/null || echo 0; }

# Counts of recovery events in the supervisor log.
restarts_logged() { grep -c "driver restarted" "$E2E_TMP/supervisor.log" || true; }
