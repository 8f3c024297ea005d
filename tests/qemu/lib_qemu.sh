# shellcheck shell=bash
# Helpers of the qemu suite (label `qemu`): build the Debian guest once per
# build tree, pack a test script and extra files into a second initramfs
# archive, boot qemu-system-x86_64 with QEMU's e1000 and nvme, wait for it
# with a hard timeout, and return the guest script's exit code.
#
# Usage (see run-guest.sh and guest_boots.sh):
#   source lib_qemu.sh
#   qemu_setup NAME                 # QEMU_TMP, trap qemu_cleanup on EXIT
#   qemu_build_guest                # QEMU_GUEST_DIR/{vmlinuz,initramfs.cpio.gz}
#   qemu_pack_payload SCRIPT [SRC[:DEST]...]   # DEST default /payload/<basename>
#   QEMU_DISK=$QEMU_TMP/disk.img; truncate -s 64M "$QEMU_DISK"
#   QEMU_UDP_PEER=<port of a host program>     # optional
#   qemu_boot; rc=$?                # guest script's exit code, 124 on timeout
# Knobs (environment or variables set before qemu_boot):
#   ULDD_BIN_DIR      the build tree's bin/ (required)
#   ULDD_GUEST_DIR    where the guest is built (default $ULDD_BIN_DIR/../qemu-guest)
#   QEMU_DISK         raw image behind -device nvme (created, 64 MiB, if unset);
#                     kept after poweroff for the host to inspect
#   QEMU_UDP_PEER     UDP port on 127.0.0.1 the e1000's frames go to (socket
#                     netdev: one datagram = one Ethernet frame); QEMU_UDP_LOCAL
#                     is the port QEMU receives on (free port if unset)
#   QEMU_TIMEOUT      seconds until qemu is killed (default 180)
#   QEMU_APPEND       extra kernel parameters (e.g. uldd.hugepages=64)
#   QEMU_MEM_MB       guest memory (default 1024)
#   QEMU_E1000_MAC    the e1000's MAC (default 52:54:00:12:34:56)
#   QEMU_LOG          serial console log (default $QEMU_TMP/serial.log)
#   ULDD_QEMU_QUIET=1 do not copy the serial log to stderr after the run
# After qemu_boot: QEMU_READY_S (seconds until the ULDD-GUEST line; the
# guest's own uptime then is its uptime= field),
# QEMU_TOTAL_S (until qemu exited), QEMU_SUMMARY (the ULDD-GUEST line).
set -euo pipefail

QEMU_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN_DIR=${ULDD_BIN_DIR:?ULDD_BIN_DIR must point at the build tree bin/ directory}
QEMU_TMP=""
QEMU_PID=""
QEMU_PAYLOAD=""
QEMU_HOST_PIDS=()

qlog() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
qfail() { qlog "FAIL: $*"; exit 1; }

qemu_require() {
  [ "$(id -u)" = 0 ] || { echo "SKIP: needs root (apt-get download into the guest cache)"; exit 77; }
  for t in qemu-system-x86_64 cpio gzip python3 setpriv flock "$@"; do
    command -v "$t" >/dev/null || qfail "missing tool $t (run scripts/bootstrap.sh)"
  done
}

qemu_cleanup() {
  local p
  if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
    kill -KILL "$QEMU_PID" 2>/dev/null || true
    wait "$QEMU_PID" 2>/dev/null || true
  fi
  for p in "${QEMU_HOST_PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  [ -n "$QEMU_TMP" ] && [ "${ULDD_QEMU_KEEP:-0}" != 1 ] && rm -rf "$QEMU_TMP"
  return 0
}

# qemu_setup NAME: a fresh temp dir; the EXIT trap cleans up on every path.
qemu_setup() {
  qemu_require
  QEMU_TMP=$(mktemp -d "/tmp/uldd-qemu-$1.XXXXXX")
  trap qemu_cleanup EXIT
  trap 'exit 130' INT TERM
}

# qemu_build_guest: builds the guest unless one newer than its inputs (the
# binaries, build-guest.sh, guest-init.sh) is there. Serialised with flock so
# that tests running in parallel build it once.
qemu_build_guest() {
  QEMU_GUEST_DIR=${ULDD_GUEST_DIR:-$BIN_DIR/../qemu-guest}
  mkdir -p "$QEMU_GUEST_DIR"
  QEMU_GUEST_DIR=$(cd "$QEMU_GUEST_DIR" && pwd)
  (
    flock 9
    local img=$QEMU_GUEST_DIR/initramfs.cpio.gz stale=0 f
    if [ ! -f "$img" ] || [ ! -f "$QEMU_GUEST_DIR/vmlinuz" ]; then
      stale=1
    else
      for f in "$QEMU_LIB_DIR"/build-guest.sh "$QEMU_LIB_DIR"/guest-*.sh "$BIN_DIR"/uldd*; do
        [ "$f" -nt "$img" ] && stale=1 && break
      done
    fi
    if [ $stale = 1 ]; then
      local t0=$SECONDS
      bash "$QEMU_LIB_DIR/build-guest.sh" "$QEMU_GUEST_DIR" "$BIN_DIR"
      qlog "guest built in $((SECONDS - t0)) s"
    fi
  ) 9>"$QEMU_GUEST_DIR/.lock"
}

# qemu_pack_payload SCRIPT [SRC[:DEST]...]: a cpio.gz holding SCRIPT as
# /payload/run.sh and each SRC at DEST (default /payload/<basename>), appended
# to the guest's initramfs at boot. Executables from BIN_DIR that are not in
# the base image work if their libraries are (they are the same as uldd's).
qemu_pack_payload() {
  local script=$1 stage spec src dest
  shift
  stage=$QEMU_TMP/payload-root
  rm -rf "$stage"
  mkdir -p "$stage/payload"
  cp "$script" "$stage/payload/run.sh"
  for spec in "$@"; do
    src=${spec%%:*}
    dest=/payload/$(basename "$src")
    [[ $spec == *:* ]] && dest=${spec#*:}
    mkdir -p "$stage$(dirname "$dest")"
    cp -L "$src" "$stage$dest"
  done
  QEMU_PAYLOAD=$QEMU_TMP/payload.cpio.gz
  (cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) | gzip -1 > "$QEMU_PAYLOAD"
}

qemu_now_us() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }
qemu_seconds() { printf '%d.%d' $(($1 / 1000000)) $(($1 % 1000000 / 100000)); }

# qemu_reference_driver_files e1000|nvme: --file specs (SRC:DEST) that let
# the guest's uldd-guest-kernel-driver hand that device to the kernel's driver.
qemu_reference_driver_files() {
  local list=$QEMU_GUEST_DIR/modules/$1.list ko
  echo "$list:/payload/modules/$1.list"
  while read -r ko; do echo "$QEMU_GUEST_DIR/modules/$ko:/payload/modules/$ko"; done < "$list"
}

qemu_free_udp_port() {
  python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# qemu_boot: boots the guest, waits (hard timeout), prints the serial log and
# returns the guest script's exit code (124: timeout, 125: no exit line).
qemu_boot() {
  local log=${QEMU_LOG:-$QEMU_TMP/serial.log} timeout=${QEMU_TIMEOUT:-180}
  local initrd=$QEMU_TMP/initrd.cpio.gz accel=tcg disk=${QEMU_DISK:-}
  [ -n "$QEMU_PAYLOAD" ] || qfail "qemu_boot: qemu_pack_payload first"
  cat "$QEMU_GUEST_DIR/initramfs.cpio.gz" "$QEMU_PAYLOAD" > "$initrd"
  if [ -z "$disk" ]; then
    disk=$QEMU_TMP/disk.img
    truncate -s 64M "$disk"
  fi
  QEMU_DISK=$disk
  local peer=${QEMU_UDP_PEER:-$(qemu_free_udp_port)} local_port=${QEMU_UDP_LOCAL:-$(qemu_free_udp_port)}
  [ -w /dev/kvm ] && accel=kvm
  local kernel=$QEMU_GUEST_DIR/vmlinuz
  [ -f "$QEMU_GUEST_DIR/vmlinux" ] && kernel=$QEMU_GUEST_DIR/vmlinux
  # -cpu max: the binaries are built for the host, which may use SSE4.2/AVX.
  # shellcheck disable=SC2054  # commas are qemu option syntax
  local cmd=(qemu-system-x86_64 -M q35 -accel "$accel" -cpu max -nodefaults -no-user-config
    -m "${QEMU_MEM_MB:-1024}" -smp 1 -display none -monitor none -no-reboot
    -kernel "$kernel" -initrd "$initrd"
    -append "console=ttyS0 quiet panic=-1 ${QEMU_APPEND:-}"
    -serial "file:$log"
    -drive "file=$disk,if=none,id=d0,format=raw,cache=writeback"
    -device nvme,drive=d0,serial=uldd0
    -netdev "socket,id=n0,udp=127.0.0.1:$peer,localaddr=127.0.0.1:$local_port"
    -device "e1000,netdev=n0,romfile=,mac=${QEMU_E1000_MAC:-52:54:00:12:34:56}")
  qlog "booting ($accel, timeout ${timeout}s, e1000 <-> udp 127.0.0.1:$local_port -> :$peer)"
  : > "$log"
  # Times in microseconds from bash's EPOCHREALTIME (no process per poll).
  local t0 now ready_us="" timed_out=0
  t0=$(qemu_now_us)
  # --pdeathsig: qemu dies with this shell even if the shell is SIGKILLed
  # (ctest's timeout), when no trap runs.
  setpriv --pdeathsig KILL -- "${cmd[@]}" > "$QEMU_TMP/qemu.stderr" 2>&1 &
  QEMU_PID=$!
  while kill -0 "$QEMU_PID" 2>/dev/null; do
    now=$(qemu_now_us)
    if [ -z "$ready_us" ] && grep -aq '^ULDD-GUEST ' "$log"; then
      ready_us=$((now - t0))
    fi
    if [ $((now - t0)) -gt $((timeout * 1000000)) ]; then
      timed_out=1
      kill -KILL "$QEMU_PID" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  local qemu_rc=0
  wait "$QEMU_PID" || qemu_rc=$?
  QEMU_PID=""
  QEMU_TOTAL_S=$(qemu_seconds $(($(qemu_now_us) - t0)))
  QEMU_READY_S=""
  [ -n "$ready_us" ] && QEMU_READY_S=$(qemu_seconds "$ready_us")
  QEMU_SUMMARY=$(grep -a '^ULDD-GUEST ' "$log" | head -1 | tr -d '\r' || true)
  # A guest that is done within one poll interval of the line: ready ~ total.
  [ -z "$QEMU_READY_S" ] && [ -n "$QEMU_SUMMARY" ] && QEMU_READY_S=$QEMU_TOTAL_S
  if [ "${ULDD_QEMU_QUIET:-0}" != 1 ] || [ $timed_out = 1 ]; then
    qlog "---- guest serial console ----"
    tr -d '\r' < "$log" >&2
    qlog "---- end of guest console ----"
  fi
  [ -s "$QEMU_TMP/qemu.stderr" ] && { qlog "qemu stderr:"; cat "$QEMU_TMP/qemu.stderr" >&2; }
  qlog "guest ready after ${QEMU_READY_S:-never} s, qemu exited (rc $qemu_rc) after $QEMU_TOTAL_S s"
  if [ $timed_out = 1 ]; then
    qlog "qemu killed after the ${timeout}s timeout"
    return 124
  fi
  local rc
  rc=$(grep -aoE '^ULDD-GUEST-EXIT [0-9]+' "$log" | tail -1 | awk '{print $2}')
  [ -n "$rc" ] || { qlog "no ULDD-GUEST-EXIT line (kernel panic or init died?)"; return 125; }
  return "$rc"
}

# qemu_guest_value KEY: KEY=value from the ULDD-GUEST summary line.
qemu_guest_value() {
  tr ' ' '\n' <<< "$QEMU_SUMMARY" | awk -F= -v k="$1" '$1 == k {print substr($0, length(k) + 2)}'
}
