#!/bin/sh
# /init of the qemu test guest (packed by build-guest.sh, run by busybox sh as
# pid 1). Mounts the kernel file systems, loads the modules listed in
# /etc/uldd-modules, reserves huge pages for DMA memory, binds uio_pci_generic
# to QEMU's e1000 (8086:100e) and nvme (1b36:0010), prints one summary line
#   ULDD-GUEST kernel=<ver> uptime=<s> hugepages=<n> uio0=<bdf>:<vendor>:<device> ...
# writes the same facts to /etc/uldd-guest.env for the test script, runs the
# test script /payload/run.sh (from a second cpio appended by the host, see
# lib_qemu.sh), prints
#   ULDD-GUEST-EXIT <rc>
# and powers off. Kernel parameters read: uldd.hugepages=N (default 32).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mkdir -p /root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/hugepages
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mount -t hugetlbfs hugetlbfs /dev/hugepages 2>/dev/null

finish() {
  echo "ULDD-GUEST-EXIT $1"
  sync
  poweroff -f
  sleep 5
}

hugepages=32
for arg in $(cat /proc/cmdline); do
  case "$arg" in uldd.hugepages=*) hugepages=${arg#uldd.hugepages=} ;; esac
done

while read -r ko; do
  [ -n "$ko" ] || continue
  insmod "$ko" || echo "ULDD-GUEST-WARN insmod $ko failed"
done < /etc/uldd-modules
mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null

echo "$hugepages" > /proc/sys/vm/nr_hugepages
got_hugepages=$(cat /proc/sys/vm/nr_hugepages)

# Bind uio_pci_generic: new_id binds every unbound device with that id.
wanted=0
for id in "8086 100e" "1b36 0010"; do
  n=0
  for d in /sys/bus/pci/devices/*; do
    [ "$(cat "$d/vendor") $(cat "$d/device")" = "0x${id% *} 0x${id#* }" ] && n=$((n + 1))
  done
  [ "$n" -gt 0 ] || continue
  wanted=$((wanted + n))
  echo "$id" > /sys/bus/pci/drivers/uio_pci_generic/new_id ||
    echo "ULDD-GUEST-WARN new_id $id failed"
done
i=0
uio_count() { set -- /dev/uio[0-9]*; [ -e "$1" ] && echo $# || echo 0; }
while [ "$(uio_count)" -lt "$wanted" ] && [ $i -lt 100 ]; do
  sleep 0.1
  i=$((i + 1))
done

summary="ULDD-GUEST kernel=$(uname -r) uptime=$(cut -d" " -f1 /proc/uptime) hugepages=$got_hugepages"
: > /etc/uldd-guest.env
for u in /sys/class/uio/uio*; do
  [ -e "$u" ] || continue
  name=${u##*/}
  bdf=$(basename "$(readlink -f "$u/device")")
  vendor=$(cat "$u/device/vendor")
  device=$(cat "$u/device/device")
  vendor=${vendor#0x}
  device=${device#0x}
  [ -c "/dev/$name" ] || name="$name(no-dev-node)"
  summary="$summary $name=$bdf:$vendor:$device"
  case "$vendor:$device" in
    8086:100e) echo "ULDD_E1000_UIO=/dev/$name ULDD_E1000_BDF=$bdf" >> /etc/uldd-guest.env ;;
    1b36:0010) echo "ULDD_NVME_UIO=/dev/$name ULDD_NVME_BDF=$bdf" >> /etc/uldd-guest.env ;;
  esac
done
echo "ULDD_GUEST_HUGEPAGES=$got_hugepages" >> /etc/uldd-guest.env
echo "$summary"

if [ -f /payload/run.sh ]; then
  cd /payload || finish 126
  sh /payload/run.sh
  rc=$?
  cd /
else
  echo "ULDD-GUEST-WARN no /payload/run.sh"
  rc=127
fi
finish "$rc"
