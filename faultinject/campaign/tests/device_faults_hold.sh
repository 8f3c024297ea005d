#!/usr/bin/env bash
# campaign: device faults performed by the NVMe model under the verified
# writer. A spurious interrupt and a command delayed 50 ms must change
# nothing (no effect, decided by the workload's progress soon after, the
# same driver serving); a command delayed 1.5 s — beyond the campaign
# policy's request_timeout of 1 s — must be seen as a stuck request and
# recovered cold. No write lost or corrupted, no I/O error. (Lost interrupt
# and device hang: campaign.stuck_requests_recover; failed-command and
# media-error are errors the device reports, which reach the application by
# design: faultinject/README.md.)
source "$(dirname "$0")/lib_campaign.sh"
campaign_setup

write_campaign "$T/c.toml" device-faults 10 150 2500 <<'TOML'
[[fault]]
type = "spurious-interrupt"
weight = 2
[[fault]]
type = "delayed-command"
weight = 2
params = { ms = 50 }
[[fault]]
type = "delayed-command"
params = { ms = 1500 }
TOML
run_campaign 0 "device-fault campaign" run "$T/c.toml" --report "$T/report"
R="$T/report/report.json"
report_validates "$R"
report_check "$R" 'r["result"] == "pass" and r["totals"]["injected"] == 10'
report_check "$R" 'r["totals"]["lost_writes"] == 0 and r["totals"]["corrupted_blocks"] == 0 and r["totals"]["io_errors"] == 0'
report_check "$R" 'all(f["classification"] == "no-effect" for f in r["faults"] if f["type"] == "spurious-interrupt" or f["params"].get("ms") == "50")'
report_check "$R" 'all(f["classification"] == "recovered-cold" for f in r["faults"] if f["params"].get("ms") == "1500")'
report_check "$R" 'any(f["params"].get("ms") == "1500" for f in r["faults"]) and r["totals"]["no_effect"] >= 3'
no_effect_decided_early "$R"
n=$(grep -c "request timeout" "$T/report/supervisor.log" || true)
[ "$n" -ge 1 ] || fail "no request timeout in the supervisor log"
nothing_left
log "PASS"
