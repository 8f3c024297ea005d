#!/usr/bin/env bash
# e2e-disk (a): fio random writes with crc32c verification through the FUSE
# file, O_DIRECT, the whole 256 MiB once per block size (4k, 64k, 1m; one job
# per size, since fio's verify headers assume blocks of one size never overlap),
# isolated mode.
source "$(dirname "$0")/lib.sh"
require_root_and_tools fio
trap e2e_cleanup EXIT
e2e_setup fio isolated 256MiB
e2e_start_supervisor

for bs in 4k 64k 1m; do
  fio --verify_state_save=0 --name="uldd-verify-$bs" --filename="$FUSE_FILE" --direct=1 --ioengine=libaio --iodepth=16 \
      --rw=randwrite --bs="$bs" --size=256M --verify=crc32c --do_verify=1 --verify_fatal=1 \
      --randrepeat=0 --output-format=json --output="$E2E_TMP/fio-$bs.json" \
      || fail "fio bs=$bs reported an error"
  python3 - "$E2E_TMP/fio-$bs.json" "$bs" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
assert job["error"] == 0, f"fio job error {job['error']}"
w = job["write"]["io_bytes"]; r = job["read"]["io_bytes"]
assert w >= 256 << 20, f"wrote only {w} bytes"
assert r >= 256 << 20, f"verified only {r} bytes"
print(f"fio bs={sys.argv[2]}: wrote {w>>20} MiB, verified {r>>20} MiB, {job['write']['iops']:.0f} write IOPS")
PY
done
e2e_stop_supervisor
echo "PASS"
