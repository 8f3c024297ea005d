#!/usr/bin/env bash
# campaign: the supervisor SIGKILLed in the middle of a campaign. The runner
# must notice, stop injecting, report the supervisor lost (invariant
# supervisor_survives failed, "aborted" saying why), exit 1, and still clean
# up: the dead supervisor's FUSE mount, the bus, the temp directory.
source "$(dirname "$0")/lib_campaign.sh"
campaign_setup

write_disk_campaign "$T/c.toml" supervisor-killed 40 "sigkill"
timeout --signal=INT --kill-after=20 150 "$CAMPAIGN" run "$T/c.toml" --report "$T/report" \
  >"$T/out" 2>&1 &
runner=$!
sup=""
for _ in $(seq 100); do
  sup=$(pgrep -P "$runner" -x uldd-supervisor || pgrep -P "$(pgrep -P "$runner" -x uldd-campaign || echo 0)" -x uldd-supervisor || true)
  [ -n "$sup" ] && grep -q '^\[ *2/40\]' "$T/out" && break
  sleep 0.1
done
[ -n "$sup" ] || { cat "$T/out" >&2; fail "no supervisor under the runner, or no fault injected"; }
kill -KILL "$sup"
got=0
wait "$runner" || got=$?
cat "$T/out" >&2
[ "$got" = 1 ] || fail "exit status $got after the supervisor was killed, expected 1"
R="$T/report/report.json"
report_validates "$R"
report_check "$R" 'r["result"] == "fail" and "supervisor died" in (r["aborted"] or "")'
report_check "$R" '[i["pass"] for i in r["invariants"] if i["name"] == "supervisor_survives"] == [False]'
report_check "$R" 'len(r["faults"]) < 40'
nothing_left
log "PASS"
