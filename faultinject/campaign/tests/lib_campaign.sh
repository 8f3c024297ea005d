# Helpers of the campaign tests: a scratch directory, campaign files written
# for the test, uldd-campaign run with a bound, report checks with python3
# (json + jsonschema against report.schema.json), and a check that a run left
# nothing behind (no supervisor, driver, model, dbus-daemon, mount or temp dir).
set -euo pipefail

BIN_DIR=${ULDD_BIN_DIR:?ULDD_BIN_DIR must point at the build tree bin/ directory}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCHEMA="$HERE/../report.schema.json"
CAMPAIGN="$BIN_DIR/uldd-campaign"
T=""

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

campaign_setup() {
  [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
  [ -c /dev/fuse ] || { echo "SKIP: no /dev/fuse"; exit 77; }
  for t in dbus-daemon python3; do command -v "$t" >/dev/null || fail "missing tool $t"; done
  /usr/bin/python3 -c 'import jsonschema' 2>/dev/null || fail "missing python3-jsonschema (scripts/bootstrap.sh)"
  [ -x "$CAMPAIGN" ] || fail "no $CAMPAIGN (build the uldd-campaign target)"
  T=$(mktemp -d /tmp/uldd-campaign-test.XXXXXX)
  # Runs that were there before this test (someone's long campaign on the
  # same machine) are not this test's leftovers: nothing_left skips them.
  PRE_RUNS=" $(echo /tmp/uldd-campaign.?????? | tr '\n' ' ') "
  mkdir -p "$T/policies"
  cp "$HERE/../../campaigns/policies/campaign.toml" "$T/policies/campaign.toml"
  trap campaign_cleanup EXIT
}

campaign_cleanup() {
  local status=$?
  [ -n "$T" ] && rm -rf "$T"
  exit $status
}

# run_campaign WANT_EXIT DESC ARGS...: uldd-campaign with a time bound; its
# output in $T/out.
run_campaign() {
  local want=$1 desc=$2 got=0
  shift 2
  timeout --signal=INT --kill-after=20 150 "$CAMPAIGN" "$@" >"$T/out" 2>&1 || got=$?
  cat "$T/out" >&2
  [ "$got" = "$want" ] || fail "$desc: exit status $got, expected $want"
}

# report_check FILE PYTHON-EXPRESSION [ARGS...]: the expression over `r` (the
# report) and `a` (the extra arguments) holds.
report_check() {
  local file=$1 expr=$2
  shift 2
  python3 - "$file" "$expr" "$@" <<'PY' || fail "report check failed: $expr"
import json, sys
r = json.load(open(sys.argv[1])); a = sys.argv[3:]
ok = eval(sys.argv[2])
if not ok:
    print("report check false:", sys.argv[2], file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

# The report is valid against the schema.
report_validates() {
  /usr/bin/python3 - "$SCHEMA" "$1" <<'PY' || fail "$1 does not validate against report.schema.json"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1])); report = json.load(open(sys.argv[2]))
jsonschema.Draft202012Validator.check_schema(schema)
errors = list(jsonschema.Draft202012Validator(schema).iter_errors(report))
for e in errors[:5]:
    print("schema:", list(e.absolute_path), e.message, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
}

# Nothing of a run is left: no process started from a campaign directory, no
# mount below one, no campaign temp dir.
nothing_left() {
  local m run
  for m in $(grep -o " /tmp/uldd-campaign\.[A-Za-z0-9]\{6\}/" /proc/mounts | tr -d ' ' || true); do
    run=${m%/}
    [[ "$PRE_RUNS" == *" $run "* ]] || fail "mount left behind ($m)"
  done
  for run in $(pgrep -af "uldd-campaign\.[A-Za-z0-9]{6}/" | grep -o "/tmp/uldd-campaign\.[A-Za-z0-9]\{6\}" | sort -u || true); do
    if [[ "$PRE_RUNS" != *" $run "* ]]; then
      pgrep -af "$run/" >&2
      fail "process left behind ($run)"
    fi
  done
  # Drivers and device models of this build dir orphaned (a killed
  # supervisor's): the runner must have ended them.
  local p
  for p in $(pgrep -f "^$BIN_DIR/uldd-(nvme-driver|hw) " || true); do
    if [ "$(ps -o ppid= -p "$p" | tr -d ' ')" = 1 ] && [ "$(ps -o stat= -p "$p")" != Z ]; then
      ps -o pid,ppid,stat,lstart,cmd -p "$p" >&2
      fail "orphaned driver or device model left behind (pid $p)"
    fi
  done
  local d
  for d in /tmp/uldd-campaign.??????; do
    [ -e "$d" ] && [[ "$PRE_RUNS" != *" $d "* ]] && fail "temp dir $d left behind"
  done
  return 0
}

# No loop device (ext4_fsck) over a campaign run of this test's is left;
# those over runs that were there before the test are not its leftovers.
no_loop_left() {
  local run
  for run in $(losetup -a | grep -o "/tmp/uldd-campaign\.[A-Za-z0-9]\{6\}" | sort -u || true); do
    if [[ "$PRE_RUNS" != *" $run "* ]]; then
      losetup -a >&2
      fail "loop device over $run left behind"
    fi
  done
  return 0
}

# write_disk_campaign FILE NAME FAULTS "TYPES" [DRIVER]: a short disk campaign
# of equal-weight process faults.
write_disk_campaign() {
  local file=$1 name=$2 faults=$3 types=$4 driver=${5:-}
  {
    printf '[campaign]\nname = "%s"\nseed = 11\nfaults = %s\ninterval_ms = 400\nsettle_ms = 2000\n\n' "$name" "$faults"
    printf '[[device]]\nname = "disk0"\nkind = "disk"\nsize = "32MiB"\npolicy = "policies/campaign.toml"\n'
    [ -z "$driver" ] || printf 'driver = "%s"\n' "$driver"
    local t
    for t in $types; do printf '\n[[fault]]\ntype = "%s"\n' "$t"; done
    printf '\n[workload]\ndisk = "verified-writer"\nblocks = 2048\nblock_size = 4096\n'
    printf '\n[invariants]\nlost_writes = 0\ncorrupted = 0\nio_errors = 0\nsupervisor_survives = true\nmin_recovered_percent = 99.9\n'
  } >"$file"
}

# write_campaign FILE NAME FAULTS INTERVAL_MS SETTLE_MS: a disk campaign on
# disk0 under the verified writer whose [[fault]] tables (and any extra
# [invariants] lines) come from stdin; settle = "progress".
write_campaign() {
  local file=$1 name=$2 faults=$3 interval=$4 settle=$5
  {
    printf '[campaign]\nname = "%s"\nseed = 11\nfaults = %s\ninterval_ms = %s\nsettle_ms = %s\nsettle = "progress"\n\n' \
      "$name" "$faults" "$interval" "$settle"
    printf '[[device]]\nname = "disk0"\nkind = "disk"\nsize = "32MiB"\npolicy = "policies/campaign.toml"\n\n'
    printf '[workload]\ndisk = "verified-writer"\nblocks = 2048\nblock_size = 4096\n\n'
    cat
  } >"$file"
}

# The faults judged no-effect were decided early, by the workload's progress
# (not by waiting out settle_ms), and every injected fault says how it was decided.
no_effect_decided_early() {
  report_check "$1" 'all(f["decided_by"] == "progress" and f["decided_after_ms"] < r["campaign"]["settle_ms"] for f in r["faults"] if f["classification"] == "no-effect")'
  report_check "$1" 'all(f["decided_by"] != "none" and f["driver_pid"] for f in r["faults"] if f["reply"])'
}

# own_campaign_dir FILE: the temp dir (/tmp/uldd-campaign.XXXXXX) of the run
# of this test's uldd-campaign on campaign FILE, once its supervisor runs;
# empty until then. Other campaigns may run on the machine: a test that
# reaches into its run must find its own.
own_campaign_dir() {
  local c s
  c=$(pgrep -f -- "^$CAMPAIGN run $1( |\$)" | head -1 || true)
  [ -n "$c" ] || return 0
  s=$(pgrep -P "$c" -f "uldd-supervisor --config " | head -1 || true)
  [ -n "$s" ] || return 0
  tr '\0' '\n' <"/proc/$s/cmdline" 2>/dev/null | sed -n 's|^\(/tmp/uldd-campaign\.[A-Za-z0-9]\{6\}\)/uldd\.toml$|\1|p' | head -1
}
