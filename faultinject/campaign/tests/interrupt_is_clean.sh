#!/usr/bin/env bash
# campaign: SIGINT in the middle of a campaign (as Ctrl-C) stops injecting,
# still classifies the fault being watched, does the final read-back, writes
# a partial report marked "interrupted" whose invariants hold (exit 0), and
# leaves nothing behind.
source "$(dirname "$0")/lib_campaign.sh"
campaign_setup

write_disk_campaign "$T/c.toml" interrupted 40 "sigkill"
"$CAMPAIGN" run "$T/c.toml" --report "$T/report" >"$T/out" 2>&1 &
runner=$!
for _ in $(seq 150); do grep -q '^\[ *3/40\]' "$T/out" && break; sleep 0.1; done
grep -q '^\[ *3/40\]' "$T/out" || { kill -INT "$runner"; cat "$T/out" >&2; fail "no third fault"; }
kill -INT "$runner"
got=0
for _ in $(seq 600); do kill -0 "$runner" 2>/dev/null || break; sleep 0.1; done
kill -0 "$runner" 2>/dev/null && { kill -KILL "$runner"; fail "runner still running 60 s after SIGINT"; }
wait "$runner" || got=$?
cat "$T/out" >&2
[ "$got" = 0 ] || fail "exit status $got after SIGINT, expected 0 (invariants hold)"
R="$T/report/report.json"
report_validates "$R"
report_check "$R" 'r["interrupted"] is True and r["result"] == "pass"'
report_check "$R" '3 <= len(r["faults"]) < 40 and r["totals"]["planned"] == 40'
# Every sigkill that was injected recovered (none cut short as "no-effect").
report_check "$R" 'all(f["classification"] == "recovered-warm" for f in r["faults"])'
# One read-back per recovery plus the final one.
report_check "$R" 'r["workload"]["verifications"] == len(r["faults"]) + 1'
grep -q "interrupted: partial report" "$T/out" || fail "the table does not say interrupted"
nothing_left
log "PASS"
