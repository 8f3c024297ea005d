#!/usr/bin/env bash
# e2e-disk (c): standard NBD clients against the NBD socket: nbdinfo, nbdcopy
# of a random 64 MiB image in and out (bytes equal), qemu-img info.
source "$(dirname "$0")/lib.sh"
require_root_and_tools nbdinfo nbdcopy qemu-img
trap e2e_cleanup EXIT
e2e_setup nbd isolated 256MiB
e2e_start_supervisor

nbdinfo "$NBD_URL" > "$E2E_TMP/nbdinfo.out"
grep -q "export-size: $((256 << 20))" "$E2E_TMP/nbdinfo.out" || { cat "$E2E_TMP/nbdinfo.out"; fail "nbdinfo size"; }
head -c $((64 << 20)) /dev/urandom > "$E2E_TMP/in.img"
nbdcopy "$E2E_TMP/in.img" "$NBD_URL"
nbdcopy "$NBD_URL" "$E2E_TMP/out.img"
head -c $((64 << 20)) "$E2E_TMP/out.img" | cmp - "$E2E_TMP/in.img" || fail "bytes read back differ"
[ "$(stat -c %s "$E2E_TMP/out.img")" = $((256 << 20)) ] || fail "nbdcopy out: wrong size"
qemu-img info --output=json "$NBD_URL" > "$E2E_TMP/qemu-img.json"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['virtual-size']==256<<20, d" "$E2E_TMP/qemu-img.json" \
  || fail "qemu-img info"
log "nbd: nbdinfo ok, 64 MiB round trip equal, qemu-img info virtual-size 256 MiB"
e2e_stop_supervisor
echo "PASS"
