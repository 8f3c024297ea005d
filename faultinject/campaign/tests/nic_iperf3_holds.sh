#!/usr/bin/env bash
# campaign: iperf3 TCP runs ([workload] iperf3) beside the udp-echo on nic0,
# under 5 SIGKILLs of the e1000 driver. A recovery is a stall for TCP: every
# run must complete (broken_streams = 0), and several must have run; the echo
# keeps its own invariants; the report validates. Then the check failing on
# purpose: the same campaign while the test kills the iperf3 server (in the
# wire-side namespace) mid-run — the run breaks, the campaign exits 1 with
# nic0.broken_streams failed and iperf3's words in the report. Nothing (no
# namespace, TAP, iperf3) is left behind.
source "$(dirname "$0")/lib_campaign.sh"
source "$(dirname "$0")/lib_nic_campaign.sh"
nic_campaign_setup
command -v iperf3 >/dev/null || fail "missing tool iperf3"

write_campaign_file() {
  write_nic_campaign "$1" "$2" 5 200 sigkill
  sed -i 's/^echo_window = 32$/echo_window = 32\niperf3 = true/; s/^interval_ms = 400$/interval_ms = 1500/' "$1"
  printf 'broken_streams = 0\n' >>"$1"
}
# No iperf3 of a run is left: one would sit in a network namespace that has
# been deleted (not ours, no name); others' runs keep theirs named.
iperf3_left() {
  local p ours
  ours=$(readlink /proc/self/ns/net)
  for p in $(pgrep -x iperf3 || true); do
    if [ -z "$(ip netns identify "$p" 2>/dev/null)" ] && [ "$(readlink "/proc/$p/ns/net")" != "$ours" ]; then
      ps -o pid,ppid,cmd -p "$p" >&2
      fail "iperf3 $p left behind"
    fi
  done
  return 0
}

write_campaign_file "$T/c.toml" nic-iperf3
grep -q '^iperf3 = true$' "$T/c.toml" || fail "campaign file without iperf3"
run_campaign 0 "NIC campaign with iperf3" run "$T/c.toml" --report "$T/report"
R="$T/report/report.json"
report_validates "$R"
report_check "$R" 'r["result"] == "pass" and r["totals"]["injected"] == 5'
report_check "$R" 'r["totals"]["recovered_warm"] + r["totals"]["recovered_cold"] == 5'
report_check "$R" 'len(r["iperf3"]) == 1 and r["iperf3"][0]["device"] == "nic0"'
I='r["iperf3"][0]'
report_check "$R" "$I[\"runs_passed\"] >= 2 and $I[\"broken\"] == 0 and $I[\"runs\"] == $I[\"runs_passed\"]"
report_check "$R" "$I[\"bytes\"] >= $I[\"runs_passed\"] * 2 * 10**6"  # 3 s at 10 Mbit/s is 3.75 MB
report_check "$R" 'r["nic_workloads"][0]["verified"] > 1000 and r["nic_workloads"][0]["corrupted"] == 0'
report_check "$R" 'next(i for i in r["invariants"] if i["name"] == "nic0.broken_streams")["pass"]'
report_check "$R" 'r["fio_verify"] is None and r["ext4_fsck"] is None'
nic_nothing_left
iperf3_left

# The check fails: the server killed under a running client.
write_campaign_file "$T/k.toml" nic-iperf3-killed
# The server of this run only: in its wire-side namespace (<tag>-0b, the tag
# being its temp dir's suffix), the iperf3 with "-s".
killer() {
  local i p d=""
  for i in $(seq 150); do
    [ -n "$d" ] || d=$(own_campaign_dir "$T/k.toml")
    if [ -n "$d" ]; then
      for p in $(pgrep -x iperf3 || true); do
        if [ "$(ip netns identify "$p" 2>/dev/null)" = "uldd-campaign-${d##*.}-0b" ] &&
           tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- ' -s '; then
          sleep 1.5  # into the first client run
          kill -KILL "$p" 2>/dev/null || true
          return 0
        fi
      done
    fi
    sleep 0.1
  done
}
killer &
KILLER=$!
run_campaign 1 "NIC campaign whose iperf3 server is killed" run "$T/k.toml" --report "$T/killed"
kill "$KILLER" 2>/dev/null || true
wait "$KILLER" 2>/dev/null || true
R="$T/killed/report.json"
report_validates "$R"
report_check "$R" 'r["result"] == "fail" and r["iperf3"][0]["broken"] >= 1'
report_check "$R" 'not next(i for i in r["invariants"] if i["name"] == "nic0.broken_streams")["pass"]'
report_check "$R" 'all(f["kind"] in ("broken", "timeout") and f["message"] for f in r["iperf3"][0]["failures"])'
# Only the stream broke: the echo and the recoveries hold.
report_check "$R" 'all(i["pass"] for i in r["invariants"] if "broken_streams" not in i["name"] and "iperf3" not in i["name"])'
grep -q "result: FAIL" "$T/out" || fail "no FAIL in the table"
nic_nothing_left
iperf3_left
log "PASS"
