// The configuration uldd-supervisor runs when it is given none. The same text
// ships as packaging/uldd.toml (config_test checks that the two agree), so the
// installed file documents exactly what the built-in default does.
#include "supervisor/config.h"

namespace uldd::supervisor {

const std::string_view kDefaultConfigToml = R"toml(# uldd-supervisor configuration.
#
# Sizes take a byte count (268435456) or a string with a binary unit:
# "128KiB", "256MiB", "1GiB", "1TiB". Relative paths are resolved against
# supervisor.runtime_dir. Unknown keys are an error, not ignored.

[supervisor]
runtime_dir = "/run/uldd"     # absolute; sockets, FUSE files, state
log_level = "info"            # trace | debug | info | warn | error
status_interval_ms = 2000     # one status line per device this often; 0 = off
driver_user = "nobody"        # unprivileged user the drivers run as; "" = the supervisor's own
policy_dir = "/etc/uldd/policies"  # restart policies (*.toml, see policies/README.md); SIGHUP reloads
dbus = "system"               # D-Bus API (docs/dbus-api.md): system | none | an address "unix:path=..."
control_group = "uldd"        # besides root, may restart/stop/start/inject/reload over D-Bus; "" = root only
metrics_file = "metrics.prom" # OpenMetrics text for node_exporter's textfile collector; "" = off

# One [[disk]] table per block device.
[[disk]]
name = "disk0"                # [a-z0-9_-]{1,15}, unique
mode = "isolated"             # isolated (own process) | colocated (in the shim, baseline)
uio = "emulated"              # emulated (uldd-hw model) | "kernel:0000:00:04.0"
backing_file = "/var/lib/uldd/disk0.img"  # media of the model, created sparse
size = "256MiB"               # multiple of 4096
model_latency_us = 0          # extra latency per command in the model
model_max_iops = 0            # I/O commands per second the model serves at most; 0 = no limit
io_queues = 1                 # NVMe I/O queue pairs, 1..8
queue_depth = 128             # entries per I/O queue, power of two, 2..4096
ring_capacity = 256           # shim<->driver ring, power of two, 2..65536
max_transfer = "128KiB"       # per request, multiple of 4096, <= 2MiB
buffers = 256                 # DMA buffers of max_transfer bytes; total <= 1GiB
irq_coalesce_threshold = 1    # completions per interrupt, 1..256
irq_coalesce_time_us = 0      # interrupt hold-off, multiple of 100, <= 25500
policy = "default"            # restart policy: <policy_dir>/<name>.toml or the built-in "default"
driver = ""                   # driver executable; "" = uldd-nvme-driver beside uldd-supervisor
fuse_path = "disk0"           # file the FUSE filesystem serves; "" = off
nbd_socket = "disk0.nbd"      # unix socket of the NBD server; "" = off

# One [[nic]] table per network device: an emulated e1000 (uldd-hw) driven by a
# user-level e1000 driver; the host sees it as the TAP netdev `tap`, the
# device's wire is the TAP `wire_tap`. scripts/netns-rig.sh puts the two in
# network namespaces with addresses so that ping and iperf3 can cross it.
[[nic]]
name = "nic0"                 # [a-z0-9_-]{1,15}, unique among all devices
mode = "isolated"             # isolated (own process) | colocated (in the shim, baseline)
tap = "uldd0"                 # host-side TAP netdev the shim serves
tap_netns = ""                # named netns to create it in; "" = the supervisor's
wire_tap = "uldd0w"           # the device model's wire (a TAP)
wire_netns = ""               # named netns for the wire; "" = the supervisor's
mac = "52:54:00:12:34:56"     # the device's station address
tx_descriptors = 256          # e1000 TX ring, power of two, 8..4096
rx_descriptors = 256          # e1000 RX ring, power of two, 8..4096
ring_capacity = 256           # each shim<->driver ring, power of two, 2..65536
buffers = 1024                # 2 KiB packet buffers, 16..65536
itr_us = 50                   # interrupt hold-off (ITR), 0..16000; 0 = off
heartbeat_interval_ms = 100   # 1..60000
policy = "default"            # restart policy (nic_tx_inflight: reissue | drop)
)toml";

}  // namespace uldd::supervisor
