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
heartbeat_interval_ms = 100   # 1..60000
fuse_path = "disk0"           # file the FUSE filesystem serves; "" = off
nbd_socket = "disk0.nbd"      # unix socket of the NBD server; "" = off
)toml";

}  // namespace uldd::supervisor
