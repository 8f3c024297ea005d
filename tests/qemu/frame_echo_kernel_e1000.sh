#!/usr/bin/env bash
# qemu.frame_echo_kernel_e1000: the e1000 frame path with the kernel's own
# e1000 driver as the reference the uldd driver will be held to. The guest
# hands QEMU's e1000 to e1000.ko (uldd-guest-kernel-driver), and
# uldd-frame-probe sends 2000 verified test frames of mixed sizes (60..1514
# bytes) over AF_PACKET; QEMU's socket netdev carries them as UDP datagrams
# on 127.0.0.1 to uldd-frame-echo on the host, which swaps the MACs and sends
# them back. Every frame must come back intact, and the host must have echoed
# them (no other path). Nothing leaves loopback.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib_qemu.sh
source "$HERE/lib_qemu.sh"
qemu_setup frame_echo_kernel_e1000
for t in uldd-frame-echo uldd-frame-probe; do [ -x "$BIN_DIR/$t" ] || qfail "$t not built"; done
qemu_build_guest
COUNT=${COUNT:-2000}

"$BIN_DIR/uldd-frame-echo" --port-file "$QEMU_TMP/echo.port" --max-seconds 600 \
  > "$QEMU_TMP/echo.out" 2>&1 &
ECHO_PID=$!
QEMU_HOST_PIDS+=("$ECHO_PID")
for _ in $(seq 50); do [ -s "$QEMU_TMP/echo.port" ] && break; sleep 0.1; done
QEMU_UDP_PEER=$(cat "$QEMU_TMP/echo.port") || qfail "uldd-frame-echo did not start"

cat > "$QEMU_TMP/run.sh" <<GUEST
ifc=\$(uldd-guest-kernel-driver e1000) || exit 20
ip link set "\$ifc" up || exit 21
i=0
while [ "\$(cat /sys/class/net/\$ifc/carrier 2>/dev/null)" != 1 ] && [ \$i -lt 100 ]; do
  sleep 0.1; i=\$((i + 1))
done
echo "interface \$ifc carrier \$(cat /sys/class/net/\$ifc/carrier)"
uldd-frame-probe --ifname "\$ifc" --count $COUNT --size 0 --window 16 --timeout-ms 3000
GUEST
mapfile -t files < <(qemu_reference_driver_files e1000)
qemu_pack_payload "$QEMU_TMP/run.sh" "${files[@]}"
rc=0
qemu_boot || rc=$?
kill -TERM "$ECHO_PID"
wait "$ECHO_PID" || true
QEMU_HOST_PIDS=()
cat "$QEMU_TMP/echo.out" >&2
log=${QEMU_LOG:-$QEMU_TMP/serial.log}
probe=$(tr -d '\r' < "$log" | grep '^frame-probe ' || true)
[ $rc = 0 ] || qfail "guest script exited $rc (${probe:-no probe line})"
for want in "sent=$COUNT" "echoed=$COUNT" "lost=0" "corrupt=0"; do
  [[ " $probe " == *" $want "* ]] || qfail "probe: '$probe', want $want"
done
echoed=$(grep -oE 'echoed=[0-9]+' "$QEMU_TMP/echo.out" | cut -d= -f2)
[ "${echoed:-0}" -ge "$COUNT" ] || qfail "the host echoed ${echoed:-0} frames, want >= $COUNT"
qlog "PASS: $probe (host echoed $echoed)"
