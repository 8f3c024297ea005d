#!/usr/bin/env bash
# recovery 001: SIGKILL the NVMe driver 20 times while fio writes random 4 KiB
# blocks with crc32c verification through the FUSE file (O_DIRECT, iodepth
# 16). Every kill must be recovered (warm) with the requests in flight handed
# over; fio must report no error and every block must verify.
source "$(dirname "$0")/lib_recovery.sh"
require_root_and_tools fio
trap recovery_cleanup EXIT
e2e_setup r001 isolated 128MiB
e2e_recovery_policy warm false
e2e_start_supervisor

kill_driver_repeatedly 20 0.15 KILL
round=0
while [ "$(kills_done)" -lt 20 ]; do
  round=$((round + 1))
  [ $round -le 20 ] || fail "fio rounds exhausted before 20 kills"
  fio --verify_state_save=0 --name=r001 --filename="$FUSE_FILE" --direct=1 --ioengine=libaio --iodepth=16 \
      --rw=randwrite --bs=4k --size=128M --verify=crc32c --do_verify=1 --verify_fatal=1 \
      --randrepeat=0 --verify_state_save=0 --output-format=json --output="$E2E_TMP/fio-$round.json" \
      || fail "fio round $round reported an error"
  python3 - "$E2E_TMP/fio-$round.json" "$round" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
assert job["error"] == 0, f"fio job error {job['error']}"
assert job["write"]["io_bytes"] >= 128 << 20 and job["read"]["io_bytes"] >= 128 << 20, "short run"
print(f"fio round {sys.argv[2]}: wrote and verified 128 MiB, {job['write']['iops']:.0f} write IOPS")
PY
done
wait "$KILLER_PID"
restarts=$(restarts_logged)
log "$(kills_done) kills, $restarts restarts logged"
[ "$restarts" -ge 20 ] || fail "expected >= 20 restarts, saw $restarts"
grep -q "device FAILED" "$E2E_TMP/supervisor.log" && fail "device failed"
grep "driver restarted" "$E2E_TMP/supervisor.log" | tail -3 >&2
e2e_stop_supervisor
echo "PASS"
