#!/bin/sh
# uldd-guest-kernel-driver e1000|nvme (in the qemu test guest): hands QEMU's
# e1000 or nvme from uio_pci_generic to the kernel's own driver, as a
# reference for a test (the frame echo path, or a disk written by the kernel).
# The modules come from the payload: pack OUT_DIR/modules/<name>.list and the
# .ko files it names under /payload/modules/ (lib_qemu.sh:
# qemu_reference_driver_files). Prints the resulting interface or disk.
set -e
group=$1
. /etc/uldd-guest.env
case "$group" in
  e1000) bdf=$ULDD_E1000_BDF; id="8086 100e" ;;
  nvme) bdf=$ULDD_NVME_BDF; id="1b36 0010" ;;
  *) echo "usage: uldd-guest-kernel-driver e1000|nvme" >&2; exit 2 ;;
esac
[ -f "/payload/modules/$group.list" ] || { echo "no /payload/modules/$group.list" >&2; exit 2; }
echo "$id" > /sys/bus/pci/drivers/uio_pci_generic/remove_id
echo "$bdf" > /sys/bus/pci/drivers/uio_pci_generic/unbind
while read -r ko; do
  insmod "/payload/modules/$ko"
done < "/payload/modules/$group.list"
i=0
while [ ! -e "/sys/bus/pci/devices/$bdf/driver" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
case "$group" in
  e1000) while [ -z "$(ls "/sys/bus/pci/devices/$bdf/net" 2>/dev/null)" ] && [ $i -lt 100 ]; do
           sleep 0.1; i=$((i + 1)); done
         ls "/sys/bus/pci/devices/$bdf/net" ;;
  nvme) while [ ! -e /sys/block/nvme0n1 ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
        [ -e /sys/block/nvme0n1 ] && echo nvme0n1 ;;
esac
