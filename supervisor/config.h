// SupervisorConfig: what uldd-supervisor is told to run, read from a TOML file
// (or the embedded default). A bad file is refused with "file:line:column:
// reason"; nothing half-parsed is ever used.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace uldd::supervisor {

enum class DriverMode {
  kIsolated,   // the driver is its own unprivileged process (the product)
  kColocated,  // the same driver code runs inside the shim's process (measurement baseline)
};

struct DiskDeviceConfig {
  std::string name;  // [[disk]] name = "disk0"; [a-z0-9_-]{1,15}, unique
  DriverMode mode = DriverMode::kIsolated;
  // Device model (uldd-hw) and its media.
  std::filesystem::path backing_file;  // created sparse at `size_bytes` if missing; required
                                       //   with uio = "emulated"
  uint64_t size_bytes = 256ull << 20;  // TOML key `size`: "256MiB", "1GiB", or a byte count;
                                       //   > 0, multiple of 4096
  uint32_t model_latency_us = 0;       // added latency per command, <= 1 s (0 = none)
  uint32_t model_max_iops = 0;  // I/O completions per second at most in the model (0 = no limit)
  // UIO backend: "emulated" (uldd-hw) or a real device bound to uio_pci_generic,
  // "kernel:<pci bdf>" or "kernel:<vendor>:<device>" (supervisor/kernel_uio_target.h).
  std::string uio = "emulated";
  // Driver and rings.
  uint32_t io_queues = 1;               // NVMe I/O queue pairs, 1..8
  uint32_t queue_depth = 128;           // entries per I/O queue, power of two, 2..4096
  uint32_t ring_capacity = 256;         // shim<->driver ring size, power of two
  uint32_t max_transfer = 128u << 10;   // bytes per descriptor, multiple of 4096, <= 2 MiB
  uint32_t buffers = 256;               // DMA data buffers of max_transfer bytes each
  uint32_t irq_coalesce_threshold = 1;  // completions per interrupt, 1..256
  uint32_t irq_coalesce_time_us = 0;    // interrupt hold-off, multiple of 100, <= 25500
  // Restart policy (policies/README.md): a file <policy>.toml in the supervisor's
  // policy_dir, or the built-in "default". Heartbeat, restart, recovery mode and
  // driver limits come from it.
  std::string policy = "default";
  // Driver executable; empty = uldd-nvme-driver next to the supervisor. For
  // testing drivers built differently (and the sandbox tests' hostile driver).
  std::filesystem::path driver;
  // Frontends (empty path = off).
  std::filesystem::path fuse_path;   // regular file the FUSE filesystem is mounted on
  std::filesystem::path nbd_socket;  // unix socket of the NBD server; export name = `name`
};

// One [[nic]] table: an emulated e1000 whose host side is a TAP netdev served
// by the NIC shim and whose wire is a TAP in a peer netns (supervisor/nic_config.cc
// parses and checks it).
struct NicDeviceConfig {
  std::string name;  // [[nic]] name = "nic0"; [a-z0-9_-]{1,15}, unique among devices
  DriverMode mode = DriverMode::kIsolated;
  std::string uio = "emulated";     // or "kernel:<bdf>" / "kernel:vvvv:dddd" (a real e1000)
  std::string tap = "uldd0";        // host-side TAP the shim creates; a Linux ifname (<= 15 chars)
  std::string tap_netns;            // named netns (/run/netns/NAME) for the TAP; "" = ours
  std::string wire_tap = "uldd0w";  // the device model's wire TAP
  std::string wire_netns;           // named netns for the wire TAP; "" = ours
  std::string mac = "52:54:00:12:34:56";  // the device's MAC (EEPROM words 0..2); unicast, not zero
  uint32_t tx_descriptors = 256;          // e1000 legacy TX ring entries, power of two, 8..4096
  uint32_t rx_descriptors = 256;          // e1000 legacy RX ring entries, power of two, 8..4096
  uint32_t ring_capacity = 256;           // each of the four shim<->driver rings, power of two
  uint32_t buffers = 1024;                // 2 KiB packet buffers in the DMA region, 16..65536
  uint32_t itr_us = 50;                   // interrupt hold-off (e1000 ITR), 0..16000; 0 = off
  uint32_t heartbeat_interval_ms = 100;   // 1..60000; the driver beats at least as often as
                                          //   its policy's heartbeat.interval asks
  // Restart policy, as for [[disk]]: a file <policy>.toml in policy_dir, or the
  // built-in "default"; its [recovery] nic_tx_inflight says whether TX frames
  // the dead driver held are reissued or dropped. Colocated NICs have no
  // driver process and ignore it.
  std::string policy = "default";
  // Driver executable; empty = uldd-e1000-driver next to the supervisor.
  std::filesystem::path driver;
};

struct SupervisorConfig {
  std::filesystem::path runtime_dir = "/run/uldd";  // absolute
  std::string log_level = "info";                   // trace|debug|info|warn|error
  uint32_t status_interval_ms = 2000;  // periodic one-line status per device; 0 = off, <= 1 day
  std::string driver_user;             // user the drivers run as; "" = stay as we are
  std::filesystem::path policy_dir =
      "/etc/uldd/policies";  // *.toml restart policies; absolute;
                             //   missing directory = built-in default only
  // Control plane (docs/dbus-api.md). `dbus`: "system" (the system bus),
  // "none" (no D-Bus service), or a D-Bus address ("unix:path=...", a private
  // bus for tests). A bus that cannot be reached at start-up is logged and
  // the supervisor runs on without its API.
  std::string dbus = "system";
  std::string control_group =
      "uldd";  // may call mutating D-Bus methods besides root; "" = root only
  std::filesystem::path metrics_file =
      "metrics.prom";  // OpenMetrics text, rewritten each
                       //   status tick; relative = under runtime_dir; "" = off
  std::vector<DiskDeviceConfig> disks;
  std::vector<NicDeviceConfig> nics;
};

// Parses TOML text. `source` names it in error messages (a path, or
// "<embedded default>"). Relative paths in the file are resolved against
// runtime_dir. Errors: "source:line:column: reason".
Result<SupervisorConfig> parse_config(std::string_view text, const std::string& source);
Result<SupervisorConfig> load_config_file(const std::filesystem::path& path);

// The configuration used when none is given: one emulated NVMe disk `disk0`.
extern const std::string_view kDefaultConfigToml;

}  // namespace uldd::supervisor
