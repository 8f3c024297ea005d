#!/usr/bin/env bash
# campaign: faults that leave a request the driver took and never completes
# while the driver keeps beating — lost-completion, skip-doorbell (the writer
# has one write in flight, so no later batch rings it), device-hang (the
# model ignores everything until a reset) and lost-interrupt. The shim's
# request-timeout watch (policy request_timeout = 1s) must see each stuck
# request, the engine restart the driver cold (the reset ends the hang) and
# resend; no acknowledged write lost, no I/O error, the runner exits 0.
source "$(dirname "$0")/lib_campaign.sh"
campaign_setup

write_disk_campaign "$T/c.toml" stuck-requests 8 "lost-completion skip-doorbell device-hang lost-interrupt"
run_campaign 0 "stuck-request campaign" run "$T/c.toml" --report "$T/report"
R="$T/report/report.json"
report_validates "$R"
report_check "$R" 'r["result"] == "pass" and r["totals"]["injected"] == 8'
report_check "$R" 'r["totals"]["escalated"] == 0 and r["totals"]["lost_writes"] == 0'
report_check "$R" 'r["totals"]["io_errors"] == 0 and r["totals"]["corrupted_blocks"] == 0'
# Every lost completion and device hang was a stuck request, recovered cold.
report_check "$R" 'all(f["classification"] == "recovered-cold" for f in r["faults"] if f["type"] in ("lost-completion", "device-hang"))'
report_check "$R" 'any(f["type"] in ("lost-completion", "device-hang") for f in r["faults"])'
n=$(grep -c "request timeout" "$T/report/supervisor.log" || true)
[ "$n" -ge 1 ] || fail "no request timeout in the supervisor log"
nothing_left
log "PASS"
