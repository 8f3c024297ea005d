#!/usr/bin/env bash
# Installs every Debian package uldd needs to build, run, test and benchmark.
# Idempotent; run as root on Debian 12 (bookworm). Nothing is downloaded from
# anywhere but the Debian archive.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "bootstrap.sh: run as root (sudo $0)" >&2; exit 1; }

PACKAGES=(
  # toolchain and build
  build-essential cmake ninja-build pkg-config git python3
  # libraries uldd links
  libboost1.81-dev        # Boost.Process v2: spawning drivers with exactly their fds
  libboost-filesystem1.81-dev  # Boost.Filesystem, which Boost.Process v2 links
  libfuse3-dev fuse3      # FUSE frontend (libfuse3) and fusermount3
  libspdlog-dev libfmt-dev
  libsystemd-dev          # sd-bus and sd_notify (systemd integration)
  libtomlplusplus-dev     # configuration and policy files (TOML)
  libcli11-dev            # command lines
  nlohmann-json3-dev      # JSON reports and benchmark output
  liburing-dev libseccomp-dev
  libcapstone-dev         # SWIFI fault injection: decodes x86_64 instructions (skip, invert branch)
  libgtest-dev libgmock-dev
  clang-14 libclang-rt-14-dev  # the libFuzzer targets of shim/fuzz (scripts/fuzz.sh): clang and its fuzzer runtime
  # tools the tests and benchmarks drive
  fio e2fsprogs util-linux procps kmod
  libnbd-bin              # nbdinfo, nbdcopy
  qemu-utils              # qemu-img
  gnuplot-nox             # benchmark plots
  iproute2                # ip netns / ip link / ip addr: the NIC rig (scripts/netns-rig.sh)
  iputils-ping            # ping across the NIC rig (e2e-nic)
  iperf3                  # TCP throughput across the NIC rig (e2e-nic)
  python3-prometheus-client  # tests only: the reference OpenMetrics parser checks the metrics text
  python3-jsonschema      # tests only: campaign reports validated against faultinject/campaign/report.schema.json
  dbus-daemon dbus-bin systemd  # the dbus tests: a private dbus-daemon, dbus-send (error names), busctl
  # the qemu suite (tests/qemu, issue 7): QEMU's e1000 and nvme under a Debian guest.
  # The guest's kernel (linux-image-amd64's dependency) and busybox-static are NOT
  # installed: tests/qemu/build-guest.sh fetches them with apt-get download into
  # /var/cache/uldd-guest and unpacks them with dpkg -x.
  qemu-system-x86         # qemu-system-x86_64 (-M q35, TCG or KVM) and its firmware (seabios)
  cpio                    # packs the guest's initramfs and the per-test payload archive
  xz-utils zstd           # decompress kernel modules if the kernel package ships them compressed
)

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${PACKAGES[@]}"; do
  [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *"install ok installed"* ]] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# FUSE and loop devices must be usable (the tests mount ext4 over loop).
modprobe fuse 2>/dev/null || true
modprobe loop 2>/dev/null || true
echo "bootstrap: all packages present"
