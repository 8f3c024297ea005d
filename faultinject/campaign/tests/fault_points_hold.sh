#!/usr/bin/env bash
# campaign: the drivers' compiled-in fault points that break a request or
# the driver at once — crash-here, double-completion, wrong-length, stall
# (600 ms without beating) — armed in disk0's control block under the
# verified writer. Each must be recovered (the crash seen, the refused
# completion a protocol violation, the stall a heartbeat miss), none lost or
# corrupted, no I/O error. Then the latent case: crash-here armed to fire
# only after 1000 more completions is judged no-effect at first (the writer
# went on), and the crash that comes later must be counted on it as a latent
# effect — by the driver pid the Recovered signal names — not on the next
# fault and not lost (the last one is caught while the runner lingers).
source "$(dirname "$0")/lib_campaign.sh"
campaign_setup

write_campaign "$T/c.toml" fault-points 10 200 1500 <<'TOML'
[[fault]]
type = "crash-here"
[[fault]]
type = "double-completion"
[[fault]]
type = "wrong-length"
[[fault]]
type = "stall"
params = { ms = 600 }
TOML
run_campaign 0 "fault-point campaign" run "$T/c.toml" --report "$T/report"
R="$T/report/report.json"
report_validates "$R"
report_check "$R" 'r["result"] == "pass" and r["totals"]["injected"] == 10'
report_check "$R" 'r["totals"]["recovered_warm"] + r["totals"]["recovered_cold"] == 10'
report_check "$R" 'all(f["decided_by"] == "signal" and f["downtime_us"] > 0 for f in r["faults"])'
report_check "$R" 'r["totals"]["lost_writes"] == 0 and r["totals"]["corrupted_blocks"] == 0 and r["totals"]["io_errors"] == 0'
report_check "$R" 'set(f["cause"] for f in r["faults"] if f["type"] == "stall") <= {"hung"}'
report_check "$R" 'r["totals"]["latent"] == 0'
nothing_left

# Latent: two crash-here armed for the 1000th completion, 1.5 to 4.5 s apart.
write_campaign "$T/l.toml" latent-crash 2 3000 3000 <<'TOML'
[[fault]]
type = "crash-here"
params = { after = 1000 }
TOML
run_campaign 0 "latent crash campaign" run "$T/l.toml" --report "$T/latent"
L="$T/latent/report.json"
report_validates "$L"
report_check "$L" 'r["result"] == "pass" and r["totals"]["injected"] == 2'
report_check "$L" 'r["totals"]["latent"] == 2 and r["totals"]["no_effect"] == 0'
report_check "$L" 'all(f["latent"] and f["decided_by"] == "latent" and f["classification"] == "recovered-warm" for f in r["faults"])'
report_check "$L" 'all(f["cause"] == "crashed" for f in r["faults"])'
report_check "$L" 'r["faults"][0]["driver_pid"] != r["faults"][1]["driver_pid"]'
grep -q "latent effects 2" "$T/out" || fail "the table does not count the latent effects"
nothing_left
log "PASS"
