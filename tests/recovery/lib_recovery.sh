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
  # Without this, `(exit $status)` below ends the script under set -e when a
  # scenario failed, and e2e_cleanup never runs: the supervisor, its FUSE
  # mount and the loop devices were left behind after every failure.
  set +e
  [ -z "${KILLER_PID:-}" ] || kill "$KILLER_PID" 2>/dev/null || true
  [ -z "${FIO_PID:-}" ] || kill "$FIO_PID" 2>/dev/null || true
  (exit $status)
  e2e_cleanup
}

kills_done() { cat "$E2E_TMP/kills" 2>/dev/null || echo 0; }

# Counts of recovery events in the supervisor log.
restarts_logged() { grep -c "driver restarted" "$E2E_TMP/supervisor.log" || true; }

# ---- helpers of scenarios 002-006 and 009 ------------------------------------

# log_count REGEX: lines of the supervisor log matching REGEX (grep -E).
log_count() { grep -cE -- "$1" "$E2E_TMP/supervisor.log" || true; }

# wait_log_count REGEX N [SECONDS]: until at least N lines match, or fails.
wait_log_count() {
  local pattern=$1 want=$2 limit=${3:-15}
  local deadline=$((SECONDS + limit))
  until [ "$(log_count "$pattern")" -ge "$want" ]; do
    [ $SECONDS -lt $deadline ] || fail "fewer than $want log line(s) matching '$pattern' after $limit s"
    sleep 0.05
  done
}

# wait_log REGEX [SECONDS]: until one line matches.
wait_log() { wait_log_count "$1" 1 "${2:-15}"; }

# serving_driver_pid: the current driver once it has been restarted as many
# times as the log says (so a kill never lands in the middle of a start-up).
serving_driver_pid() {
  local pid
  for _ in $(seq 200); do
    pid=$(e2e_driver_pid) && [ "$(grep -c "pid $pid," "$E2E_TMP/supervisor.log")" -ge 1 ] && { echo "$pid"; return 0; }
    sleep 0.05
  done
  return 1
}

# start_fio_verify NAME SIZE RATE_IOPS: random 4 KiB writes with crc32c
# verification through the FUSE file, in the background, paced so that it
# is still running when the test injects its fault (pace only; no timing is
# asserted). Sets FIO_PID; check_fio NAME waits for it and checks the result.
start_fio_verify() {
  local name=$1 size=$2 rate=$3
  fio --verify_state_save=0 --name="$name" --filename="$FUSE_FILE" --direct=1 --ioengine=libaio --iodepth=16 \
      --rw=randwrite --bs=4k --size="$size" --verify=crc32c --do_verify=1 --verify_fatal=1 \
      --rate_iops="$rate" --randrepeat=0 --verify_state_save=0 \
      --output-format=json --output="$E2E_TMP/fio-$name.json" >"$E2E_TMP/fio-$name.err" 2>&1 &
  FIO_PID=$!
}

check_fio() {
  local name=$1 status=0
  wait "$FIO_PID" || status=$?
  FIO_PID=""
  [ "$status" = 0 ] || { cat "$E2E_TMP/fio-$name.err" >&2; fail "fio $name exited with $status"; }
  python3 - "$E2E_TMP/fio-$name.json" "$name" <<'PY' || fail "fio $name: bad result"
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
assert job["error"] == 0, f"fio job error {job['error']}"
w, r = job["write"]["io_bytes"], job["read"]["io_bytes"]
assert w > 0 and r >= w, f"short run: wrote {w}, verified {r}"
print(f"fio {sys.argv[2]}: wrote and verified {w >> 20} MiB, no errors")
PY
}

# fio_running: the background fio is still at work (the fault hit live I/O).
fio_running() { [ -n "${FIO_PID:-}" ] && kill -0 "$FIO_PID" 2>/dev/null; }

# A status line of disk0 printed after this call says the shim completed no
# request with an error (the counter is cumulative).
no_request_failed() {
  local line
  wait_log_count "disk0: serving" $(($(log_count "disk0: serving") + 1)) 5
  line=$(grep "disk0: serving" "$E2E_TMP/supervisor.log" | tail -1)
  [[ "$line" == *"errors 0 "* ]] || fail "requests failed: $line"
}
