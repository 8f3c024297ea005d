#!/usr/bin/env bash
# e2e-disk: an error the device (or a faulty driver) reports is retried by the
# shim before it can reach the application (policy [errors], default 5
# retries; docs/recovery.md "Errors a driver reports"). Through the real
# supervisor, NVMe model and driver, with device faults injected by ulddctl
# on a private dbus-daemon:
#   - failed-command (Internal Error, once): writes through the FUSE file all
#     succeed, the shim logs the retry, the data is on the disk, no restart;
#   - media-error on blocks 8..15 (Unrecovered Read Error, persistent): a read
#     of them fails with EIO, after exactly 5 retries; reads next to the range
#     work, and a write repairs it.
source "$(dirname "$0")/lib.sh"
require_root_and_tools dbus-daemon python3 cmp dd
CTL="$BIN_DIR/ulddctl"
[ -x "$CTL" ] || fail "no $CTL (build the ulddctl target)"

BUS_DIR=""
DBUS_PID=""
retry_cleanup() {
  local status=$?
  set +e
  if [ -n "$SUPERVISOR_PID" ]; then
    kill -TERM "$SUPERVISOR_PID" 2>/dev/null
    wait "$SUPERVISOR_PID" 2>/dev/null
    SUPERVISOR_PID=""
  fi
  [ -n "$DBUS_PID" ] && kill "$DBUS_PID" 2>/dev/null && wait "$DBUS_PID" 2>/dev/null
  [ -n "$BUS_DIR" ] && rm -rf "$BUS_DIR"
  (exit $status)
  e2e_cleanup
}
trap retry_cleanup EXIT

# A private bus (never the host's system bus), as tests/dbus/ulddctl_verbs.sh.
BUS_DIR=$(mktemp -d /tmp/uldd-dbus-retry.XXXXXX)
BUS_ADDRESS="unix:path=$BUS_DIR/bus"
cat > "$BUS_DIR/bus.conf" <<XML
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>$BUS_ADDRESS</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
XML
dbus-daemon --config-file="$BUS_DIR/bus.conf" --nofork --nopidfile 2>"$BUS_DIR/dbus.log" &
DBUS_PID=$!
for _ in $(seq 100); do [ -S "$BUS_DIR/bus" ] && break; sleep 0.1; done
[ -S "$BUS_DIR/bus" ] || { cat "$BUS_DIR/dbus.log" >&2; fail "private dbus-daemon did not start"; }
ctl() { "$CTL" --address "$BUS_ADDRESS" "$@"; }

e2e_setup errretry isolated 16MiB
sed -i "/^\[supervisor\]/a dbus = \"$BUS_ADDRESS\"\ncontrol_group = \"\"" "$E2E_TMP/uldd.toml"
e2e_start_supervisor
for _ in $(seq 100); do ctl list --no-legend >/dev/null 2>&1 && break; sleep 0.1; done
ctl list --no-legend >/dev/null || fail "org.uldd.Supervisor1 not on the private bus"
driver=$(e2e_driver_pid) || fail "no driver"
LOG="$E2E_TMP/supervisor.log"

# ---- a transient device error during writes: retried, the writes succeed -------------
head -c $((1 << 20)) /dev/urandom > "$E2E_TMP/data.bin"
ctl inject disk0 failed-command status=internal-error >"$E2E_TMP/out" || fail "inject failed-command"
# The model takes the arming within its fault poll interval: write 4 KiB
# blocks until the failed command has been retried; every write must succeed.
retried=""
for i in $(seq 0 255); do
  dd if="$E2E_TMP/data.bin" of="$FUSE_FILE" bs=4k count=1 skip="$i" seek="$i" oflag=direct \
    conv=notrunc status=none 2>"$E2E_TMP/dd.err" ||
    { cat "$E2E_TMP/dd.err" >&2; fail "write of block $i failed: the error was not retried"; }
  if grep -q "disk0: write .*completed with status 1 .*retry 1 of 5" "$LOG"; then retried=$i; break; fi
  sleep 0.02
done
[ -n "$retried" ] || fail "the failed command never reached the shim (no retry logged)"
dd if="$FUSE_FILE" of="$E2E_TMP/back.bin" bs=4k count=$((retried + 1)) iflag=direct status=none ||
  fail "read back after the retried write"
cmp -s "$E2E_TMP/back.bin" <(head -c $(((retried + 1) * 4096)) "$E2E_TMP/data.bin") ||
  fail "data written through a retried command differs"
grep -q "fuse: disk0: .*answered Input/output error" "$LOG" && fail "an error reached the FUSE client"
grep -q "driver restarted" "$LOG" && fail "a device error restarted the driver"
log "failed-command: write of block $retried retried once and succeeded, data intact, no restart"

# ---- a persistent media error: the read fails with EIO, after the retries -----------
# Blocks 8..15 (512 bytes each) = the second 4 KiB of the disk.
ctl inject disk0 media-error lba=8 count=8 >"$E2E_TMP/out" || fail "inject media-error"
read_4k() { dd if="$FUSE_FILE" of=/dev/null bs=4k count=1 skip="$1" iflag=direct status=none 2>"$E2E_TMP/dd.err"; }
failed=""
for _ in $(seq 50); do
  if ! read_4k 1; then failed=1; break; fi
  sleep 0.1
done
[ -n "$failed" ] || fail "a read of the media-error range never failed"
grep -q "Input/output error" "$E2E_TMP/dd.err" || fail "the read failed, but not with EIO: $(cat "$E2E_TMP/dd.err")"
grep -q "disk0: read lba=8 len=4096 completed with status 2 (permanent) .*retry 5 of 5" "$LOG" ||
  fail "the media error was not retried 5 times before it went up"
grep -q "disk0: read lba=8 len=4096 completed with status 2 (permanent) .*retry 6 of" "$LOG" &&
  fail "the media error was retried more than 5 times"
grep -q "disk0: read offset=4096 len=4096 completed with status 2: .*after every retry" "$LOG" ||
  fail "the shim did not log the error it passed up"
read_4k 2 || fail "a read next to the media-error range failed"
dd if="$E2E_TMP/data.bin" of="$FUSE_FILE" bs=4k count=1 skip=1 seek=1 oflag=direct conv=notrunc \
  status=none || fail "rewrite of the media-error range"
read_4k 1 || fail "the media-error range still fails after it was rewritten"
log "media-error: the read failed with EIO after 5 retries; a write repaired the range"

[ "$(e2e_driver_pid)" = "$driver" ] || fail "the driver was replaced: errors are not driver faults"
grep -q "device FAILED" "$LOG" && fail "device failed"
e2e_stop_supervisor
echo "PASS"
