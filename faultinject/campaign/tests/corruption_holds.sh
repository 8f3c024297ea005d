#!/usr/bin/env bash
# campaign: the supervisor flips bits in disk0's shared memory under the
# verified writer — the completion ring (its tail or the last descriptor)
# and the driver's newest checkpoint — interleaved with SIGKILLs, so that a
# damaged checkpoint is met by a restart. A ring flip the shim notices is a
# protocol violation and a restart; a damaged checkpoint makes the next
# restart cold (warm resume refused); nothing may be lost or corrupted, no
# I/O error reach the writer, and the supervisor survives.
source "$(dirname "$0")/lib_campaign.sh"
campaign_setup

write_campaign "$T/c.toml" corruption 12 150 1500 <<'TOML'
[[fault]]
type = "corrupt-ring"
weight = 2
params = { seed = "$seed" }
[[fault]]
type = "corrupt-checkpoint"
weight = 2
params = { seed = "$seed" }
[[fault]]
type = "sigkill"
weight = 2
TOML
run_campaign 0 "corruption campaign" run "$T/c.toml" --report "$T/report"
R="$T/report/report.json"
report_validates "$R"
report_check "$R" 'r["result"] == "pass" and r["totals"]["injected"] == 12'
report_check "$R" 'r["totals"]["escalated"] == 0 and r["totals"]["supervisor_lost"] == 0'
report_check "$R" 'r["totals"]["lost_writes"] == 0 and r["totals"]["corrupted_blocks"] == 0 and r["totals"]["io_errors"] == 0'
report_check "$R" 'all(f["classification"].startswith("recovered") for f in r["faults"] if f["type"] == "sigkill")'
# Each reply says what was flipped.
report_check "$R" 'all("bit" in f["reply"] for f in r["faults"] if f["type"].startswith("corrupt-"))'
no_effect_decided_early "$R"
nothing_left
log "PASS"
