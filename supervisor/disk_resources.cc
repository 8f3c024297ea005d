#include "supervisor/disk_resources.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "drivers/nvme/nvme_dma_layout.h"
#include "supervisor/systemd/fd_checks.h"

namespace uldd::supervisor {
namespace {

uint64_t round_up(uint64_t v, uint64_t to) {
  return (v + to - 1) / to * to;
}

// What the configuration implies: the driver's configuration and every
// region's size, the same for create() and adopt().
struct DiskPlan {
  abi::DriverConfig driver{};
  abi::RingRegionHeader rings{};
  uint64_t dma_size = 0;
};

DiskPlan plan(const DiskDeviceConfig& cfg) {
  DiskPlan p;
  abi::DriverConfig& dc = p.driver;
  dc.io_queue_count = cfg.io_queues;
  dc.io_queue_depth = cfg.queue_depth;
  dc.irq_coalesce_threshold = cfg.irq_coalesce_threshold;
  dc.irq_coalesce_time_us = cfg.irq_coalesce_time_us;
  // The restart engine sets the heartbeat interval from the device's policy
  // before each driver starts (RestartEngine); this is the fallback.
  dc.heartbeat_interval_us = 50'000;
  dc.max_transfer = cfg.max_transfer;
  dc.device_bytes = cfg.size_bytes;
  uint64_t driver_area = nvme_driver_area_size(dc);
  dc.dma_driver_area_size = driver_area;
  dc.dma_buffer_area_offset = driver_area;
  p.dma_size = driver_area + uint64_t{cfg.buffers} * cfg.max_transfer;
  p.rings = abi::ring_region_layout(cfg.ring_capacity);
  return p;
}

// Ring region header, control block identity and configuration: written
// before any driver sees them, on fresh and on adopted (zeroed) regions.
void lay_out(DiskResources& r, const DiskPlan& p) {
  std::memcpy(r.rings.data(), &p.rings, sizeof p.rings);
  r.ring_view = abi::RingRegionView{r.rings.data(), p.rings};
  auto* cb = r.control.as<abi::ControlBlock>();
  cb->magic = abi::kControlBlockMagic;
  cb->version = abi::kAbiVersion;
  cb->config = p.driver;
}

struct Role {
  const char* name;
  SharedMemory DiskResources::*region;
};
constexpr Role kRegions[] = {
    {"bar", &DiskResources::bar},         {"dma", &DiskResources::dma},
    {"rings", &DiskResources::rings},     {"checkpoint", &DiskResources::checkpoint},
    {"control", &DiskResources::control}, {"record", &DiskResources::record}};
struct EventRole {
  const char* name;
  EventFd DiskResources::*event;
};
constexpr EventRole kEvents[] = {{"irq", &DiskResources::irq},
                                 {"doorbell", &DiskResources::doorbell},
                                 {"driver_wake", &DiskResources::driver_wake},
                                 {"shim_wake", &DiskResources::shim_wake}};

uint64_t region_size(const char* role, const DiskPlan& p) {
  const std::string r = role;
  if (r == "bar") return kNvmeBarSize;
  if (r == "dma") return p.dma_size;
  if (r == "rings") return p.rings.region_size;
  if (r == "checkpoint") return sizeof(abi::CheckpointRegion);
  if (r == "control") return sizeof(abi::ControlBlock);
  return systemd::kAdoptionRecordSize;
}

}  // namespace

uint64_t nvme_driver_area_size(const abi::DriverConfig& config) {
  return round_up(drivers::NvmeDmaLayout::compute(config).total_size, 2u << 20);
}

Result<DiskResources> DiskResources::create(const DiskDeviceConfig& cfg) {
  DiskResources r;
  const DiskPlan p = plan(cfg);
  for (const Role& role : kRegions) {
    auto m = SharedMemory::create("uldd-" + cfg.name + "-" + role.name, region_size(role.name, p));
    if (!m) return m.error();
    r.*role.region = std::move(m.value());
  }
  lay_out(r, p);
  auto* rec = r.adoption_record();
  rec->magic = systemd::kAdoptionRecordMagic;
  rec->version = systemd::kAdoptionRecordVersion;
  rec->model_pid = rec->driver_pid = -1;
  for (const EventRole& role : kEvents) {
    auto fd = EventFd::create();
    if (!fd) return fd.error();
    r.*role.event = std::move(fd.value());
  }
  ULDD_TRY(r.new_lifeline());
  return r;
}

Result<DiskResources> DiskResources::adopt(const DiskDeviceConfig& cfg,
                                           systemd::FdInventory& inventory) {
  DiskResources r;
  const DiskPlan p = plan(cfg);
  auto take = [&](const char* role) -> Result<UniqueFd> {
    const std::string name = cfg.name + "." + role;
    auto fd = inventory.take(name);
    if (!fd) return plain_error(name + ": not in the fd store");
    return std::move(*fd);
  };
  for (const Role& role : kRegions) {
    auto fd = take(role.name);
    if (!fd) return fd.error();
    const std::string name = cfg.name + "." + role.name;
    ULDD_TRY(systemd::check_memfd(fd->get(), region_size(role.name, p), name));
    auto m = SharedMemory::attach(std::move(fd.value()), region_size(role.name, p), name);
    if (!m) return m.error();
    r.*role.region = std::move(m.value());
  }
  for (const EventRole& role : kEvents) {
    auto fd = take(role.name);
    if (!fd) return fd.error();
    ULDD_TRY(systemd::check_eventfd(fd->get(), cfg.name + "." + role.name));
    r.*role.event = EventFd::adopt(std::move(fd.value()));
  }
  auto lifeline = take("lifeline");
  if (!lifeline) return lifeline.error();
  ULDD_TRY(systemd::check_pipe(lifeline->get(), cfg.name + ".lifeline"));
  r.lifeline = std::move(lifeline.value());
  const auto* rec = r.adoption_record();
  if (rec->magic != systemd::kAdoptionRecordMagic ||
      rec->version != systemd::kAdoptionRecordVersion)
    return plain_error(cfg.name + ".record: not an adoption record of this version");
  // What the dead driver left: the successor starts cold from empty rings.
  for (SharedMemory* m : {&r.rings, &r.checkpoint, &r.control})
    std::memset(m->data(), 0, m->size());
  lay_out(r, p);
  return r;
}

Status DiskResources::new_lifeline() {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return errno_error("pipe2(lifeline)");
  lifeline_model_end.reset(ends[0]);
  lifeline.reset(ends[1]);
  return {};
}

void DiskResources::add_store_entries(const std::string& device,
                                      systemd::FdStoreEntries& out) const {
  for (const Role& role : kRegions) out.add(device + "." + role.name, (this->*role.region).fd());
  for (const EventRole& role : kEvents) out.add(device + "." + role.name, (this->*role.event).fd());
  out.add(device + ".lifeline", lifeline.get());
}

}  // namespace uldd::supervisor
