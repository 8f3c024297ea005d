// DeviceFdSet: the life of a device's fds beyond any one process, shared by
// DiskResources and NicResources. Every device has the same kinds of fds —
// memfd regions (BAR, DMA, rings, checkpoint, control block, adoption
// record, device fault region), eventfds (interrupt, doorbell, wakes) and the device model's
// lifeline pipe — only their names and sizes differ. They are created fresh
// (create_device_fds), handed to the service manager's fd store under
// "<device>.<role>" (add_device_store_entries), and taken back after a
// supervisor crash (adopt_device_fds), where every fd is checked for what it
// must be — a memfd of exactly the size the configuration implies, an
// eventfd, a pipe, an adoption record of this version — so that a stale or
// foreign fd makes the device start fresh instead of running on it
// (docs/fd-store.md). A device describes its fds with two tables of member
// pointers and a size function; the procedure is written once, here.
#pragma once

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "abi/driver_fds.h"
#include "common/event_fd.h"
#include "common/result.h"
#include "common/shared_memory.h"
#include "common/unique_fd.h"
#include "supervisor/kernel_device_files.h"
#include "supervisor/systemd/adoption_record.h"
#include "supervisor/systemd/fd_checks.h"
#include "supervisor/systemd/fd_inventory.h"
#include "supervisor/systemd/fd_store.h"

namespace uldd::supervisor {

template <class Resources>
struct RegionRole {
  const char* name;
  SharedMemory Resources::*region;
};

template <class Resources>
struct EventRole {
  const char* name;
  EventFd Resources::*event;
};

// A new lifeline pipe: `write_end` stays with the supervisor (and the fd
// store), `model_end` goes to the next device model, which exits when every
// write end is closed.
Status new_lifeline_pipe(UniqueFd& write_end, UniqueFd& model_end);

// Fresh regions (named "uldd-<device>-<role>"), eventfds, lifeline, and an
// initialised adoption record. `size_of(role)` gives each region's size.
template <class Resources, size_t NR, size_t NE, class SizeOf>
Status create_device_fds(Resources& r, const std::string& device,
                         const RegionRole<Resources> (&regions)[NR],
                         const EventRole<Resources> (&events)[NE], SizeOf size_of) {
  for (const auto& role : regions) {
    auto m = SharedMemory::create("uldd-" + device + "-" + role.name, size_of(role.name));
    if (!m) return m.error();
    r.*role.region = std::move(m.value());
  }
  auto* rec = r.adoption_record();
  rec->magic = systemd::kAdoptionRecordMagic;
  rec->version = systemd::kAdoptionRecordVersion;
  rec->model_pid = rec->driver_pid = -1;
  for (const auto& role : events) {
    auto fd = EventFd::create();
    if (!fd) return fd.error();
    r.*role.event = std::move(fd.value());
  }
  return new_lifeline_pipe(r.lifeline, r.lifeline_model_end);
}

// Takes "<device>.<role>" for every region, event and the lifeline out of
// `inventory`, checked; the first one missing or wrong is the error (named).
// What the dead driver left in the rings, checkpoint and control block is
// cleared: the successor starts cold.
template <class Resources, size_t NR, size_t NE, class SizeOf>
Status adopt_device_fds(Resources& r, const std::string& device, systemd::FdInventory& inventory,
                        const RegionRole<Resources> (&regions)[NR],
                        const EventRole<Resources> (&events)[NE], SizeOf size_of) {
  auto take = [&](const char* role) -> Result<UniqueFd> {
    const std::string name = device + "." + role;
    auto fd = inventory.take(name);
    if (!fd) return plain_error(name + ": not in the fd store");
    return std::move(*fd);
  };
  for (const auto& role : regions) {
    auto fd = take(role.name);
    if (!fd) return fd.error();
    const std::string name = device + "." + role.name;
    ULDD_TRY(systemd::check_memfd(fd->get(), size_of(role.name), name));
    auto m = SharedMemory::attach(std::move(fd.value()), size_of(role.name), name);
    if (!m) return m.error();
    r.*role.region = std::move(m.value());
  }
  for (const auto& role : events) {
    auto fd = take(role.name);
    if (!fd) return fd.error();
    ULDD_TRY(systemd::check_eventfd(fd->get(), device + "." + role.name));
    r.*role.event = EventFd::adopt(std::move(fd.value()));
  }
  auto lifeline = take("lifeline");
  if (!lifeline) return lifeline.error();
  ULDD_TRY(systemd::check_pipe(lifeline->get(), device + ".lifeline"));
  r.lifeline = std::move(lifeline.value());
  const auto* rec = r.adoption_record();
  if (rec->magic != systemd::kAdoptionRecordMagic ||
      rec->version != systemd::kAdoptionRecordVersion)
    return plain_error(device + ".record: not an adoption record of this version");
  for (SharedMemory* m : {&r.rings, &r.checkpoint, &r.control})
    std::memset(m->data(), 0, m->size());
  return {};
}

// Every fd of the set, named for the fd store.
template <class Resources, size_t NR, size_t NE>
void add_device_store_entries(const Resources& r, const std::string& device,
                              const RegionRole<Resources> (&regions)[NR],
                              const EventRole<Resources> (&events)[NE],
                              systemd::FdStoreEntries& out) {
  for (const auto& role : regions) out.add(device + "." + role.name, (r.*role.region).fd());
  for (const auto& role : events) out.add(device + "." + role.name, (r.*role.event).fd());
  out.add(device + ".lifeline", r.lifeline.get());
}

// The fds of abi/driver_fds.h for a driver of the device `r` belongs to,
// as SpawnSpec::fds ({number in the driver, fd here}): its regions and wake
// eventfds, then the device — the model's BAR memfd, interrupt and doorbell
// eventfds (emulated), or a real device's BAR0, /dev/uioN, PCI config file
// and DMA address table (`kernel` given; r.dma is then a mapping of the
// kernel device's DMA memfd). A standby also gets `release_fd`.
template <class Resources>
std::vector<std::pair<int, int>> driver_spawn_fds(const Resources& r,
                                                  const KernelDeviceFiles* kernel, bool standby,
                                                  int release_fd) {
  std::vector<std::pair<int, int>> fds = {
      {abi::kFdControlBlock, r.control.fd()},  {abi::kFdRingRegion, r.rings.fd()},
      {abi::kFdCheckpoint, r.checkpoint.fd()}, {abi::kFdDriverWake, r.driver_wake.fd()},
      {abi::kFdShimWake, r.shim_wake.fd()},    {abi::kFdDma, r.dma.fd()}};
  if (kernel != nullptr) {
    fds.insert(fds.end(), {{abi::kFdUioBar, kernel->bar_fd()},
                           {abi::kFdUioIrq, kernel->irq_fd()},
                           {abi::kFdUioAux, kernel->config_fd()},
                           {abi::kFdDmaTable, kernel->table_fd()}});
  } else {
    fds.insert(fds.end(), {{abi::kFdUioBar, r.bar.fd()},
                           {abi::kFdUioIrq, r.irq.fd()},
                           {abi::kFdUioAux, r.doorbell.fd()}});
  }
  if (standby) fds.emplace_back(abi::kFdStandbyRelease, release_fd);
  return fds;
}

}  // namespace uldd::supervisor
