#!/usr/bin/env bash
# campaign: the side workloads' checks can fail. While a disk campaign with
# fio_verify and ext4_fsck runs (6 sigkills, recovered as usual), the test
# overwrites fio's and ext4's regions of the disk with zeros through the
# FUSE file, behind their backs. fio must report verify errors, ext4 must
# find files with wrong bytes or a file system e2fsck does not pass, the run
# must exit 1 (invariants failed) — while the writer, whose blocks nothing
# touched, still verifies clean. Nothing may be left behind.
source "$(dirname "$0")/lib_campaign.sh"
campaign_setup
for t in fio losetup mkfs.ext4 e2fsck dd; do command -v "$t" >/dev/null || fail "missing tool $t"; done

cat >"$T/c.toml" <<'TOML'
[campaign]
name = "disk-side-fails"
seed = 3
faults = 6
interval_ms = 1000
settle_ms = 2000

[[device]]
name = "disk0"
kind = "disk"
size = "48MiB"
policy = "policies/campaign.toml"

[[fault]]
type = "sigkill"

[workload]
disk = "verified-writer"
blocks = 1024
block_size = 4096
fio_verify = true
ext4_fsck = true
TOML

# The vandal: zeros over fio's region (4..12 MiB: the writer's 4 MiB rounded
# up to 1 MiB) and ext4's (12..44 MiB) of this run's disk every half second,
# direct, until the campaign's FUSE file goes (bounded).
vandal() {
  local d="" i
  for i in $(seq 300); do
    d=$(own_campaign_dir "$T/c.toml")
    [ -n "$d" ] && [ -e "$d/run/disk0" ] && break
    sleep 0.1
  done
  [ -n "$d" ] || return 0
  sleep 2  # past mkfs and the first fio run's start
  for i in $(seq 400); do
    [ -e "$d/run/disk0" ] || break
    dd if=/dev/zero of="$d/run/disk0" bs=1M seek=4 count=40 oflag=direct conv=notrunc status=none 2>/dev/null || true
    sleep 0.5
  done
}
vandal &
VANDAL=$!
run_campaign 1 "campaign with its side regions overwritten" run "$T/c.toml" --report "$T/report"
kill "$VANDAL" 2>/dev/null || true
wait "$VANDAL" 2>/dev/null || true
R="$T/report/report.json"
report_validates "$R"
report_check "$R" 'r["result"] == "fail"'
# The writer's region was not touched: its checks hold.
report_check "$R" 'r["totals"]["lost_writes"] == 0 and r["totals"]["corrupted_blocks"] == 0'
report_check "$R" 'r["fio_verify"]["runs_failed"] >= 1 and r["fio_verify"]["verify_errors"] >= 1'
report_check "$R" 'any(f["kind"] == "verify" and "verify" in f["message"] for f in r["fio_verify"]["failures"])'
report_check "$R" 'r["ext4_fsck"]["mismatches"] + r["ext4_fsck"]["io_errors"] >= 1 or not r["ext4_fsck"]["fsck_clean"]'
report_check "$R" 'not next(i for i in r["invariants"] if i["name"] == "disk0.fio_runs_failed")["pass"]'
report_check "$R" 'all(i["pass"] for i in r["invariants"] if not i["name"].startswith("disk0."))'
grep -q "result: FAIL" "$T/out" || fail "no FAIL in the table"
nothing_left
no_loop_left
log "PASS"
