#!/usr/bin/env bash
# campaign: the checks must be able to fail. disk0 runs
# uldd-nvme-driver-corrupting (a build of the NVMe driver that flips one byte
# of every 7th read it completes): the campaign's read-back must report
# corrupted blocks with where the first wrong byte is, the corrupted
# invariant must fail, and the runner must exit 1.
source "$(dirname "$0")/lib_campaign.sh"
campaign_setup
DRIVER="$BIN_DIR/uldd-nvme-driver-corrupting"
[ -x "$DRIVER" ] || fail "no $DRIVER (build the uldd-nvme-driver-corrupting target)"

write_disk_campaign "$T/c.toml" corrupting 3 "sigkill" "$DRIVER"
run_campaign 1 "campaign over a corrupting driver" run "$T/c.toml" --report "$T/report"
R="$T/report/report.json"
report_validates "$R"
report_check "$R" 'r["result"] == "fail"'
report_check "$R" 'r["totals"]["corrupted_blocks"] > 0'
report_check "$R" 'any(f["classification"] == "data-corrupted" for f in r["faults"])'
report_check "$R" '[i["pass"] for i in r["invariants"] if i["name"] == "corrupted"] == [False]'
report_check "$R" 'all(p["first_wrong_offset"] is not None for p in r["workload"]["data_problems"] if p["kind"] == "corrupted")'
# The driver flips the byte 100 past the middle of a read (block-aligned middles).
report_check "$R" 'any(p["first_wrong_offset"] == 100 for p in r["workload"]["data_problems"])'
report_check "$R" 'r["campaign"]["devices"][0]["driver"] == a[0]' "$DRIVER"
grep -q "CORRUPTED block" "$T/out" || fail "the table names no corrupted block"
grep -q "result: FAIL" "$T/out" || fail "the table does not say FAIL"
nothing_left
log "PASS"
