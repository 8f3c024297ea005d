#!/usr/bin/env bash
# campaign: the disk's side workloads ([workload] fio_verify, ext4_fsck)
# beside the verified writer, under 10 process faults (sigkill, sigsegv) on
# disk0's NVMe driver. Every fault must be recovered; the writer loses and
# corrupts nothing; fio ran write+verify passes over its region and none
# failed; the ext4 rounds read back intact and `e2fsck -fn` after the final
# unmount is clean; the report validates; no loop device, mount or process
# is left behind.
source "$(dirname "$0")/lib_campaign.sh"
campaign_setup
for t in fio losetup mkfs.ext4 e2fsck; do command -v "$t" >/dev/null || fail "missing tool $t"; done

cat >"$T/c.toml" <<'TOML'
[campaign]
name = "disk-side"
seed = 11
faults = 10
interval_ms = 800
settle_ms = 2000

[[device]]
name = "disk0"
kind = "disk"
size = "64MiB"
policy = "policies/campaign.toml"

[[fault]]
type = "sigkill"

[[fault]]
type = "sigsegv"

[workload]
disk = "verified-writer"
blocks = 2048
block_size = 4096
fio_verify = true
ext4_fsck = true

[invariants]
lost_writes = 0
corrupted = 0
io_errors = 0
supervisor_survives = true
min_recovered_percent = 99.9
TOML
run_campaign 0 "disk campaign with fio and ext4" run "$T/c.toml" --report "$T/report"
R="$T/report/report.json"
report_validates "$R"
report_check "$R" 'r["result"] == "pass" and r["aborted"] is None'
report_check "$R" 'r["totals"]["injected"] == 10 and r["totals"]["recovered_warm"] + r["totals"]["recovered_cold"] == 10'
report_check "$R" 'r["workload"]["writes_acknowledged"] > 200 and r["totals"]["lost_writes"] == 0'
F='r["fio_verify"]'
report_check "$R" "$F[\"runs_passed\"] >= 1 and $F[\"runs_failed\"] == 0 and $F[\"runs\"] == $F[\"runs_passed\"]"
report_check "$R" "$F[\"offset\"] == 8 << 20 and $F[\"size\"] == 8 << 20 and $F[\"bytes_verified\"] == $F[\"runs_passed\"] * $F[\"size\"]"
E='r["ext4_fsck"]'
report_check "$R" "$E[\"rounds\"] >= 5 and $E[\"mismatches\"] == 0 and $E[\"io_errors\"] == 0"
report_check "$R" "$E[\"fsck_ran\"] and $E[\"fsck_clean\"] and $E[\"final_files_checked\"] >= 1"
report_check "$R" "$E[\"offset\"] == 16 << 20 and $E[\"loop_device\"].startswith(\"/dev/loop\")"
report_check "$R" 'r["iperf3"] == []'
report_check "$R" 'sum(1 for i in r["invariants"] if i["name"].startswith("disk0.")) == 4 and all(i["pass"] for i in r["invariants"])'
grep -q "e2fsck -fn clean" "$T/out" || fail "no ext4 line in the table"
nothing_left
no_loop_left
log "PASS"
