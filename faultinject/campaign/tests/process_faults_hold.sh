#!/usr/bin/env bash
# campaign: 10 process faults (sigkill, sigsegv, sigstop) against disk0's
# NVMe driver under the verified writer. Every fault must be recovered, no
# acknowledged write lost, no byte corrupted, no I/O error; the runner exits
# 0, its report validates against report.schema.json and shows real work
# (acknowledged writes, a read-back per recovery, downtimes), and nothing is
# left behind. Also: a bad campaign file exits 2 with file:line:column, and
# an unknown fault type is refused at its line before any fault is injected.
source "$(dirname "$0")/lib_campaign.sh"
campaign_setup

# Usage errors first (cheap).
printf '[campaign]\nname = "x"\nfaults = 3\nsetle_ms = 5\n' >"$T/bad.toml"
run_campaign 2 "bad file" run "$T/bad.toml" --report "$T/r0"
grep -q "bad.toml:4:1: unknown key 'setle_ms' in \[campaign\] (did you mean 'settle_ms'?)" "$T/out" \
  || fail "no file:line:column error for the bad file"
write_disk_campaign "$T/unknown.toml" unknown-type 2 "sigkill no-such-fault"
run_campaign 2 "unknown fault type" run "$T/unknown.toml" --report "$T/r1"
grep -q "unknown.toml:.*fault type 'no-such-fault' is not one this supervisor injects" "$T/out" \
  || fail "unknown fault type not refused at its position"
nothing_left

write_disk_campaign "$T/c.toml" process-faults 10 "sigkill sigsegv sigstop"
run_campaign 0 "process-fault campaign" run "$T/c.toml" --report "$T/report"
R="$T/report/report.json"
report_validates "$R"
report_check "$R" 'r["result"] == "pass" and r["interrupted"] is False and r["aborted"] is None'
report_check "$R" 'len(r["faults"]) == 10 and r["totals"]["injected"] == 10'
report_check "$R" 'r["totals"]["recovered_warm"] + r["totals"]["recovered_cold"] == 10'
report_check "$R" 'all(f["downtime_us"] is not None and f["downtime_us"] > 0 for f in r["faults"])'
report_check "$R" 'all(f["reply"] for f in r["faults"])'
report_check "$R" 'set(f["type"] for f in r["faults"]) <= {"sigkill", "sigsegv", "sigstop"}'
# The workload really ran and was read back after each recovery and at the end.
report_check "$R" 'r["workload"]["writes_acknowledged"] > 200'
report_check "$R" 'r["workload"]["verifications"] == 11'
report_check "$R" 'r["totals"]["lost_writes"] == 0 and r["totals"]["corrupted_blocks"] == 0'
report_check "$R" 'all(i["pass"] for i in r["invariants"]) and len(r["invariants"]) == 5'
# The recoveries the report claims are the supervisor's own (its log).
n=$(grep -c "driver restarted" "$T/report/supervisor.log" || true)
[ "$n" -ge 10 ] || fail "supervisor log shows $n restarts, report claims 10 recoveries"
grep -q "result: PASS" "$T/out" || fail "no table with the result"
nothing_left
log "PASS"
