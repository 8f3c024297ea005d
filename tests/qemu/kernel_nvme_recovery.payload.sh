# Guest half of qemu.kernel_nvme_recovery (busybox sh, run as /payload/run.sh;
# the host half is kernel_nvme_recovery.sh, which packs this file with
# /payload/params.env, /payload/pattern and /payload/tree/).
#
# The supervisor brings up disk0 on QEMU's nvme through kernel UIO. Then:
#  1. a background writer puts /payload/pattern into the FUSE file, chunk by
#     chunk (dd conv=fsync; "ACK <chunk>" once dd returned), while the driver
#     is SIGKILLed KILLS times, each time on a new pid and after the previous
#     recovery's event line; the region is read back and compared;
#  2. ext4 on a loop device over the FUSE file: /payload/tree copied ROUNDS
#     times (cp + sync) with EXT4_KILLS kills meanwhile; unmount, e2fsck -fn
#     clean, remount read-only, every copy's sha256sum list matches.
# Prints GUEST-FAIL <why> and exits non-zero on the first failure; prints the
# supervisor's recovery event lines as EVENT-LINE for the host.
. /etc/uldd-guest.env
. /payload/params.env
R=/run/uldd
DISK=$R/disk0
mkdir -p $R /payload/policies /mnt
# mke2fs tries WRITE_ZEROES on the loop device, which the FUSE file has not
# (it falls back to writing zeros): keep such errors off the console.
echo 3 > /proc/sys/kernel/printk
gfail() {
  echo "GUEST-FAIL $*"
  dmesg | tail -20
  grep -E 'warn|error|FAILED|restarted' $R/sup.log 2>/dev/null | tail -40 | sed 's/^/SUP: /'
  kill -TERM "$SUP" 2>/dev/null
  exit 1
}
now_ms() { awk '{printf "%d\n", $1 * 1000}' /proc/uptime; }
events() { grep -c '"event":"recovered","device":"disk0"' $R/sup.log; }
# wait_events N SECONDS: until N recovery events are logged.
wait_events() {
  local i=0
  while [ "$(events)" -lt "$1" ]; do
    [ $i -lt $(($2 * 10)) ] || return 1
    sleep 0.1; i=$((i + 1))
  done
}
# kill_driver: SIGKILL the running nvme driver if it is not the one killed last.
LAST_KILLED=""
kill_driver() {
  local p
  p=$(pidof uldd-nvme-driver | cut -d' ' -f1)
  [ -n "$p" ] && [ "$p" != "$LAST_KILLED" ] || return 1
  kill -KILL "$p" || return 1
  LAST_KILLED=$p
  echo "killed nvme driver pid $p at $(now_ms) ms"
}

cat > /payload/policies/qemu.toml <<EOF
[restart]
mode = "always"
intensity = 1000
period = "1m"
[backoff]
initial = "1ms"
max = "1ms"
jitter = 0.0
[heartbeat]
# TCG on a loaded host: a 250 ms heartbeat would kill drivers that merely
# were not scheduled.
interval = "50ms"
timeout = "2s"
[recovery]
mode = "$MODE"
EOF
cat > $R/uldd.toml <<EOF
[supervisor]
runtime_dir = "$R"
log_level = "info"
status_interval_ms = 1000
driver_user = ""
policy_dir = "/payload/policies"
dbus = "none"
metrics_file = ""
[[disk]]
name = "disk0"
uio = "kernel:1b36:0010"
size = "$DISK_SIZE"
queue_depth = 64
buffers = 64
fuse_path = "$DISK"
policy = "qemu"
nbd_socket = ""
EOF
uldd-supervisor --config $R/uldd.toml > $R/sup.log 2>&1 &
SUP=$!
i=0
while ! grep -q "disk0: up" $R/sup.log; do
  kill -0 $SUP 2>/dev/null || { cat $R/sup.log; gfail "supervisor exited during start"; }
  [ $i -lt 600 ] || { cat $R/sup.log; gfail "disk0 not up after 60 s"; }
  sleep 0.1; i=$((i + 1))
done
grep -q " $DISK " /proc/mounts || gfail "FUSE file not mounted"
grep -m1 "disk0: up" $R/sup.log | sed 's/^/SUP: /'
echo "disk0 up after $((i / 10)).$((i % 10)) s"

# 1. The pattern, chunk by chunk, under kills.
t0=$(now_ms)
: > /tmp/acks
acks() { grep -c ACK /tmp/acks; }
(
  c=0
  while [ $c -lt "$CHUNKS" ]; do
    # Enough chunks to cover the kills: stop early once they are done.
    [ -f /tmp/killer.done ] && [ $c -ge "$MIN_CHUNKS" ] && break
    dd if=/payload/pattern of=$DISK bs="$CHUNK_KIB"k count=1 skip=$c \
      seek=$((PATTERN_CHUNK0 + c)) conv=notrunc,fsync 2>/dev/null || { echo "write of chunk $c failed"; exit 1; }
    echo "ACK $c" >> /tmp/acks
    c=$((c + 1))
  done
  touch /tmp/writer.done
) &
WRITER=$!
n=0
while [ $n -lt "$KILLS" ]; do
  # Each kill lands while the writer runs, a chunk or two after the previous
  # recovery completed its first request.
  before=$(acks)
  j=0
  while [ "$(acks)" -lt $((before + 2)) ] && [ $j -lt 300 ]; do
    sleep 0.1; j=$((j + 1))
  done
  [ -f /tmp/writer.done ] && gfail "writer finished before kill $((n + 1)) ($(acks) chunks)"
  kill_driver || { sleep 0.1; continue; }
  n=$((n + 1))
  wait_events $n 30 || gfail "no recovery event after kill $n"
done
touch /tmp/killer.done
wait $WRITER || gfail "the writer failed under kills"
acked=$(acks)
echo "pattern: $acked chunks of $CHUNK_KIB KiB acknowledged under $KILLS kills in $(($(now_ms) - t0)) ms"
echo 3 > /proc/sys/vm/drop_caches
dd if=$DISK of=/tmp/back bs="$CHUNK_KIB"k skip="$PATTERN_CHUNK0" count="$acked" 2>/dev/null ||
  gfail "reading the pattern back failed"
head -c $((acked * CHUNK_KIB * 1024)) /payload/pattern | cmp - /tmp/back ||
  gfail "the pattern read back in the guest differs"
echo "GUEST-PATTERN-OK chunks=$acked"
echo "ACKED $(cut -d' ' -f2 /tmp/acks | tr '\n' ' ')"

# 2. ext4 on a loop device over the FUSE file, copies under kills.
losetup /dev/loop0 $DISK || gfail "losetup"
# No discard/write-zeroes (the FUSE file has neither) and no lazy init thread.
mkfs.ext4 -q -F -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 /dev/loop0 "$EXT4_SIZE" || gfail "mkfs.ext4"
mount -t ext4 /dev/loop0 /mnt || gfail "mount"
(cd /payload/tree && find . -type f | sort | xargs sha256sum) > /tmp/src.sums
t0=$(now_ms)
(
  r=1
  while [ $r -le "$ROUNDS" ]; do
    cp -a /payload/tree /mnt/tree-$r || { echo "copy $r failed"; exit 1; }
    sync || { echo "sync after copy $r failed"; exit 1; }
    echo "copy $r synced"
    r=$((r + 1))
  done
) &
COPIER=$!
base=$(events)
n=0
tries=0
while [ $n -lt "$EXT4_KILLS" ] && [ $tries -lt 200 ]; do
  tries=$((tries + 1))
  [ -d /mnt/tree-1 ] || { sleep 0.05; continue; }
  kill -0 $COPIER 2>/dev/null || gfail "the copies finished before kill $((n + 1)) (make the tree bigger)"
  kill_driver || { sleep 0.1; continue; }
  n=$((n + 1))
  wait_events $((base + n)) 30 || gfail "no recovery event after ext4 kill $n"
done
[ $n -ge "$EXT4_KILLS" ] || gfail "only $n of $EXT4_KILLS kills landed during the copies"
wait $COPIER || gfail "the copies failed under kills"
echo "ext4: $ROUNDS copies of $(wc -l < /tmp/src.sums) files under $n kills in $(($(now_ms) - t0)) ms"
umount /mnt || gfail "umount"
losetup -d /dev/loop0
echo 3 > /proc/sys/vm/drop_caches
losetup /dev/loop0 $DISK || gfail "losetup again"
e2fsck -fn /dev/loop0 > /tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; gfail "e2fsck -fn not clean"; }
echo "GUEST-FSCK-CLEAN"
mount -t ext4 -o ro /dev/loop0 /mnt || gfail "mount read-only"
r=1
while [ $r -le "$ROUNDS" ]; do
  (cd /mnt/tree-$r && sha256sum -c -s /tmp/src.sums) || gfail "checksums of copy $r differ"
  r=$((r + 1))
done
echo "GUEST-EXT4-OK rounds=$ROUNDS"
umount /mnt
losetup -d /dev/loop0

grep -q "disk0: device FAILED" $R/sup.log && gfail "device failed"
grep "disk0: driver restarted" $R/sup.log | sed 's/^/SUP: /'
grep -o 'event {"event":"recovered".*}' $R/sup.log | sed 's/^event /EVENT-LINE /'
kill -TERM $SUP
wait $SUP
rc=$?
echo "SUPERVISOR-EXIT $rc"
[ $rc = 0 ] || { tail -20 $R/sup.log; gfail "supervisor exited $rc"; }
echo "GUEST-DONE"
exit 0
