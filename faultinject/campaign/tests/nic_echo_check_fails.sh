#!/usr/bin/env bash
# campaign: the udp-echo check can fail. With an echo peer that corrupts one
# payload byte of every 200th datagram (test-only ULDD_CAMPAIGN_TEST_ECHO_PEER)
# the campaign must report corrupted datagrams — the byte named — pin them on
# the faults whose check found them (data-corrupted) and exit 1; with a peer
# that drops every 200th, lost datagrams beyond lost_datagrams = 0 and exit 1.
# Both leave nothing behind.
source "$(dirname "$0")/lib_campaign.sh"
source "$(dirname "$0")/lib_nic_campaign.sh"
nic_campaign_setup

write_nic_campaign "$T/c.toml" nic-echo-check 6 0 sigkill
ULDD_CAMPAIGN_TEST_ECHO_PEER=corrupt-every=200 \
  run_campaign 1 "corrupting echo peer" run "$T/c.toml" --report "$T/corrupt"
R="$T/corrupt/report.json"
report_validates "$R"
E='r["nic_workloads"][0]'
report_check "$R" 'r["result"] == "fail"'
report_check "$R" "$E[\"corrupted\"] >= 2 and $E[\"verified\"] > 400"
report_check "$R" "all(p[\"first_wrong_offset\"] == 511 for p in $E[\"problems\"] if p[\"kind\"] == \"corrupted\")"
report_check "$R" 'any(i["name"] == "nic0.corrupted_datagrams" and not i["pass"] for i in r["invariants"])'
report_check "$R" 'any(f["classification"] == "data-corrupted" for f in r["faults"])'
grep -q "corrupted  datagram" "$T/out" || fail "the table does not list the corrupted datagrams"
nic_nothing_left

ULDD_CAMPAIGN_TEST_ECHO_PEER=drop-every=200 \
  run_campaign 1 "dropping echo peer" run "$T/c.toml" --report "$T/drop"
R="$T/drop/report.json"
report_validates "$R"
report_check "$R" "$E[\"lost\"] >= 2 and $E[\"corrupted\"] == 0"
report_check "$R" 'any(i["name"] == "nic0.lost_datagrams" and not i["pass"] for i in r["invariants"])'
report_check "$R" 'all(i["pass"] for i in r["invariants"] if i["name"] != "nic0.lost_datagrams")'
nic_nothing_left
log "PASS"
