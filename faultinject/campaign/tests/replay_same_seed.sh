#!/usr/bin/env bash
# campaign: a campaign run twice with the same --seed injects the identical
# fault list (index, planned time, device, type, params), and `schedule`
# prints that list without running anything; another seed gives another list.
source "$(dirname "$0")/lib_campaign.sh"
campaign_setup

write_disk_campaign "$T/c.toml" replay 6 "sigkill sigsegv sigstop"
run_campaign 0 "first run" run "$T/c.toml" --seed 4242 --report "$T/a"
run_campaign 0 "second run" run "$T/c.toml" --seed 4242 --report "$T/b"
"$CAMPAIGN" schedule "$T/c.toml" --seed 4242 >"$T/schedule.json"
"$CAMPAIGN" schedule "$T/c.toml" --seed 4243 >"$T/other.json"
python3 - "$T/a/report.json" "$T/b/report.json" "$T/schedule.json" "$T/other.json" <<'PY' || fail "fault lists differ"
import json, sys
a, b, s, o = (json.load(open(p)) for p in sys.argv[1:])
key = lambda f: (f["index"], f["at_ms"], f["device"], f["type"], f["params"])
la, lb, ls, lo = ([key(f) for f in x["faults"]] for x in (a, b, s, o))
assert a["campaign"]["seed"] == b["campaign"]["seed"] == 4242, "seed not recorded"
assert len(la) == 6, la
assert la == lb, ("runs differ", la, lb)
assert la == ls, ("schedule differs from the runs", la, ls)
assert lo != la, "another seed gave the same list"
PY
nothing_left
log "PASS"
