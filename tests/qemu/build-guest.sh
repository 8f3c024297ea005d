#!/usr/bin/env bash
# build-guest.sh OUT_DIR BIN_DIR: builds the qemu test guest from Debian
# packages only (issue 7 part 2):
#   OUT_DIR/vmlinuz             the kernel of the package linux-image-amd64 depends on
#   OUT_DIR/vmlinux             the same kernel uncompressed (PVH ELF; faster boot)
#   OUT_DIR/initramfs.cpio.gz   busybox-static, the kernel modules the guest needs,
#                               uldd's binaries from BIN_DIR with their libraries,
#                               mkfs.ext4/e2fsck (the host's e2fsprogs), /init
#   OUT_DIR/modules/            modules deliberately NOT in the initramfs (e1000,
#                               nvme and their dependencies, e1000.list/nvme.list
#                               = insmod order) for tests that want the kernel's
#                               own driver as a reference (pack them as extra files)
#   OUT_DIR/guest.env           kernel version, package versions, sizes
# The packages are fetched with `apt-get download` and unpacked with `dpkg -x`
# into ${ULDD_GUEST_CACHE:-/var/cache/uldd-guest}/<package>_<version>, so a
# machine downloads each version once. Nothing is installed on the host.
# Which binaries: every name in ULDD_GUEST_BINS (default below) that exists in
# BIN_DIR; the first four are required.
set -euo pipefail

OUT_DIR=${1:?usage: build-guest.sh OUT_DIR BIN_DIR}
BIN_DIR=${2:?usage: build-guest.sh OUT_DIR BIN_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${ULDD_GUEST_CACHE:-/var/cache/uldd-guest}
REQUIRED_BINS=(uldd-supervisor uldd-nvme-driver uldd-e1000-driver ulddctl)
read -r -a OPTIONAL_BINS <<< "${ULDD_GUEST_BINS:-uldd-uio-probe uldd-frame-probe uldd-hw uldd-udp-echo}"
# Modules loaded by /init, dependencies first is not needed: they are resolved
# through modules.dep below. crc32c_generic: ext4's metadata checksums ask the
# crypto API for "crc32c" through request_module, and there is no modprobe.
MODULES=(uio uio_pci_generic fuse tun loop crc16 mbcache jbd2 crc32c_generic libcrc32c ext4)
# Groups of reference drivers, NAME:MODULE,MODULE... in load order.
# crct10dif_generic: crc-t10dif (nvme-core's T10 PI) asks the crypto API for it.
REFERENCE_MODULES=(e1000:e1000 "nvme:crct10dif_generic,nvme")

log() { printf '[build-guest] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for t in apt-get apt-cache dpkg dpkg-deb cpio gzip depmod ldd; do
  command -v "$t" >/dev/null || die "missing tool $t (run scripts/bootstrap.sh)"
done
for b in "${REQUIRED_BINS[@]}"; do [ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b not built"; done

# fetch PACKAGE: unpacks PACKAGE (current candidate version) into the cache,
# prints the directory. Downloads only when that version is not cached yet.
fetch() {
  local pkg=$1 ver dir tmp
  ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
  [ -n "$ver" ] && [ "$ver" != "(none)" ] || die "no candidate version of $pkg"
  dir="$CACHE/${pkg}_${ver//:/%3a}"
  if [ ! -f "$dir/.complete" ]; then
    log "downloading $pkg $ver into $CACHE"
    mkdir -p "$CACHE"
    tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
    (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
      { rm -rf "$tmp"; die "apt-get download $pkg=$ver"; }
    mkdir -p "$tmp/root"
    dpkg -x "$tmp"/*.deb "$tmp/root" || { rm -rf "$tmp"; die "dpkg -x $pkg"; }
    rm -f "$tmp"/*.deb
    rm -rf "$dir"
    mv "$tmp/root" "$dir"
    rm -rf "$tmp"
    echo "$pkg $ver" > "$dir/.complete"
  fi
  echo "$dir"
}

resolve_kernel() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}
# Stale package lists (a fresh machine, or a kernel ABI bump that took the old
# package out of the archive): refresh them once, resolve and fetch again.
fetch_all() {
  KPKG=$(resolve_kernel)
  [ -n "$KPKG" ] || return 1
  KDIR=$(fetch "$KPKG") && BBDIR=$(fetch busybox-static)
}
if ! fetch_all; then
  log "apt-get update, then again"
  apt-get update -qq >&2 || true
  fetch_all || die "cannot fetch the kernel package (${KPKG:-unresolved}) or busybox-static"
fi
KVER=$(ls "$KDIR/lib/modules" | head -1)
[ -n "$KVER" ] && [ -f "$KDIR/boot/vmlinuz-$KVER" ] || die "no kernel in $KDIR"
MODDIR="$KDIR/lib/modules/$KVER"
# bookworm ships no modules.dep (postinst runs depmod): make one in the cache.
if [ ! -f "$MODDIR/modules.dep" ]; then
  log "depmod $KVER"
  depmod -b "$KDIR" "$KVER"
fi

mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/uldd-guest-stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
R=$STAGE/root
mkdir -p "$R"/{bin,sbin,etc,proc,sys,dev,run,tmp,mnt,payload,lib/modules,usr/bin,usr/sbin,usr/lib,var/tmp}
chmod 1777 "$R/tmp" "$R/var/tmp"

# busybox and its applets (only where the name is still free).
cp "$BBDIR/bin/busybox" "$R/bin/busybox"
for applet in $("$R/bin/busybox" --list); do
  [ -e "$R/bin/$applet" ] || ln -s busybox "$R/bin/$applet"
done

# Kernel modules: the closure of MODULES over modules.dep, in load order.
declare -A seen=()
ORDER=()
modpath() {  # name -> path relative to MODDIR
  local n=${1//-/_} p
  p=$(awk -F: -v n="$n" '{f=$1; sub(".*/", "", f); sub("\\.ko.*$", "", f); gsub("-", "_", f);
                          if (f == n) {print $1; exit}}' "$MODDIR/modules.dep")
  [ -n "$p" ] || die "module $1 not in $KVER's modules.dep"
  echo "$p"
}
add_module() {
  local p dep
  p=$(modpath "$1")
  [ -n "${seen[$p]:-}" ] && return 0
  seen[$p]=1
  for dep in $(awk -F: -v p="$p" '$1 == p {print $2}' "$MODDIR/modules.dep"); do
    dep=${dep##*/}
    add_module "${dep%%.ko*}"
  done
  ORDER+=("$p")
}
for m in "${MODULES[@]}"; do add_module "$m"; done
GUEST_MODDIR="$R/lib/modules/$KVER"
mkdir -p "$GUEST_MODDIR"
: > "$R/etc/uldd-modules"
for p in "${ORDER[@]}"; do
  base=${p##*/}
  case "$base" in
    *.ko.xz) xz -dc "$MODDIR/$p" > "$GUEST_MODDIR/${base%.xz}"; base=${base%.xz} ;;
    *.ko.zst) zstd -qdc "$MODDIR/$p" > "$GUEST_MODDIR/${base%.zst}"; base=${base%.zst} ;;
    *) cp "$MODDIR/$p" "$GUEST_MODDIR/$base" ;;
  esac
  echo "/lib/modules/$KVER/$base" >> "$R/etc/uldd-modules"
done
case " ${ORDER[*]} " in
  *"/e1000.ko"* | *"/nvme.ko"*) die "e1000/nvme must not be in the initramfs" ;;
esac
# Reference drivers, outside the initramfs: OUT_DIR/modules/<name>.ko plus
# OUT_DIR/modules/<group>.list, the insmod order (modules of the base image
# left out), for a test that packs them with --file.
BASE_ORDER=("${ORDER[@]}")
rm -rf "$OUT_DIR/modules"
mkdir -p "$OUT_DIR/modules"
for group in "${REFERENCE_MODULES[@]}"; do
  ORDER=()
  mods=${group#*:}
  for m in ${mods//,/ }; do add_module "$m"; done
  : > "$OUT_DIR/modules/${group%%:*}.list"
  for p in "${ORDER[@]}"; do
    cp "$MODDIR/$p" "$OUT_DIR/modules/${p##*/}"
    echo "${p##*/}" >> "$OUT_DIR/modules/${group%%:*}.list"
  done
done
ORDER=("${BASE_ORDER[@]}")

# Executables with their shared libraries and the dynamic loader, at the same
# paths as on the host (the binaries' RUNPATH/interpreter stay valid).
copy_with_libs() {  # src dest-in-root
  local src=$1 dest=$2 lib
  mkdir -p "$R$(dirname "$dest")"
  cp -L "$src" "$R$dest"
  chmod 755 "$R$dest"
  # Debug info is most of a RelWithDebInfo binary: not needed in the guest.
  strip --strip-debug "$R$dest" 2>/dev/null || true
  for lib in $(ldd "$src" 2>/dev/null | awk '/=> \// {print $3} /^[ \t]*\/[^ ]* \(0x/ {print $1}'); do
    [ -e "$R$lib" ] && continue
    mkdir -p "$R$(dirname "$lib")"
    cp -L "$lib" "$R$lib"
  done
}
NBINS=0
for b in "${REQUIRED_BINS[@]}" "${OPTIONAL_BINS[@]}"; do
  [ -x "$BIN_DIR/$b" ] || continue
  copy_with_libs "$BIN_DIR/$b" "/usr/bin/$b"
  NBINS=$((NBINS + 1))
done
# mkfs.ext4 / e2fsck / losetup's big brothers: from the host's e2fsprogs (a
# Debian package installed by bootstrap.sh), for ext4 on loop in the guest.
for t in mkfs.ext4 mke2fs e2fsck fsck.ext4 tune2fs; do
  src=$(command -v "$t" || true)
  [ -n "$src" ] && copy_with_libs "$src" "/usr/sbin/$t"
done
[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$R/etc/"

# Users: root, and nobody/nogroup for the unprivileged driver processes.
cat > "$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat > "$R/etc/group" <<'EOF'
root:x:0:
uldd:x:990:
nogroup:x:65534:
EOF
echo "127.0.0.1 localhost" > "$R/etc/hosts"
cp "$HERE/guest-init.sh" "$R/init"
cp "$HERE/guest-kernel-driver.sh" "$R/usr/bin/uldd-guest-kernel-driver"
chmod 755 "$R/init" "$R/usr/bin/uldd-guest-kernel-driver"

(cd "$R" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) | gzip -1 > "$OUT_DIR/initramfs.cpio.gz.tmp"
mv "$OUT_DIR/initramfs.cpio.gz.tmp" "$OUT_DIR/initramfs.cpio.gz"
cp "$KDIR/boot/vmlinuz-$KVER" "$OUT_DIR/vmlinuz"
# The uncompressed kernel (an ELF with a PVH entry note): QEMU starts it
# directly, which saves the bzImage's own xz decompression — about half of a
# TCG boot. Extracted once into the cache; the harness falls back to vmlinuz.
PVH=$KDIR/boot/vmlinux-pvh-$KVER
if [ ! -f "$PVH" ]; then
  off=$(LC_ALL=C grep -aob $'\xfd7zXZ\x00' "$KDIR/boot/vmlinuz-$KVER" | head -1 | cut -d: -f1 || true)
  if [ -n "$off" ]; then
    tail -c +$((off + 1)) "$KDIR/boot/vmlinuz-$KVER" | xz -dcq > "$PVH.tmp" 2>/dev/null || true
    # XEN_ELFNOTE_PHYS32_ENTRY (18): the PVH entry point QEMU needs.
    if readelf -n "$PVH.tmp" 2>/dev/null | grep -q 'Xen.*(0x00000012)'; then
      mv "$PVH.tmp" "$PVH"
    fi
  fi
  rm -f "$PVH.tmp"
fi
rm -f "$OUT_DIR/vmlinux"
[ -f "$PVH" ] && cp "$PVH" "$OUT_DIR/vmlinux"
{
  echo "ULDD_GUEST_KERNEL=$KVER"
  echo "ULDD_GUEST_KERNEL_PACKAGE=\"$(cat "$KDIR/.complete")\""
  echo "ULDD_GUEST_BUSYBOX_PACKAGE=\"$(cat "$BBDIR/.complete")\""
  echo "ULDD_GUEST_MODULES=\"${ORDER[*]##*/}\""
  echo "ULDD_GUEST_INITRAMFS_BYTES=$(stat -c %s "$OUT_DIR/initramfs.cpio.gz")"
  echo "ULDD_GUEST_UNPACKED_KIB=$(du -sk "$R" | cut -f1)"
} > "$OUT_DIR/guest.env"
log "kernel $KVER, ${#ORDER[@]} modules, $NBINS binaries," \
    "initramfs $(($(stat -c %s "$OUT_DIR/initramfs.cpio.gz") / 1024)) KiB -> $OUT_DIR"
