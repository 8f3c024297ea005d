// WorkloadSet: see workload_set.h.
#include "faultinject/campaign/workload_set.h"

#include <algorithm>

#include "faultinject/campaign/campaign_report.h"
#include "faultinject/campaign/ext4_fsck_workload.h"
#include "faultinject/campaign/fio_verify_workload.h"
#include "faultinject/campaign/iperf3_workload.h"
#include "faultinject/campaign/network_namespace.h"
#include "faultinject/campaign/udp_echo_workload.h"
#include "faultinject/campaign/verified_disk.h"
#include "faultinject/campaign/workload_thread.h"

namespace uldd::campaign {

namespace {
constexpr std::chrono::milliseconds kFirstEchoTimeout{10'000};
}

Result<std::unique_ptr<WorkloadSet>> WorkloadSet::start(const Campaign& c, CampaignEnvironment& env,
                                                        uint64_t seed,
                                                        std::chrono::steady_clock::time_point t0,
                                                        const EchoPeerFault& peer_fault) {
  auto set = std::make_unique<WorkloadSet>();
  if (!c.disk_workload.name.empty()) {
    auto disk = std::find_if(c.devices.begin(), c.devices.end(),
                             [](const CampaignDevice& d) { return d.kind == "disk"; });
    if (disk == c.devices.end()) return plain_error("a disk workload needs a disk");
    auto vd = VerifiedDisk::open(env.fuse_file(disk->name), c.disk_workload.blocks,
                                 c.disk_workload.block_size, seed, t0);
    if (!vd) return vd.error();
    set->workloads_.push_back(std::make_unique<WorkloadThread>(std::move(*vd), disk->name,
                                                               env.fuse_file(disk->name).string()));
    // Beside the writer (after it: for_device finds the writer).
    DiskRegions regions = disk_regions(c.disk_workload);
    if (c.disk_workload.fio_verify)
      set->workloads_.push_back(
          std::make_unique<FioVerifyWorkload>(disk->name, env.fuse_file(disk->name),
                                              regions.fio_offset, kFioRegionBytes, env.dir(), t0));
    if (c.disk_workload.ext4_fsck)
      set->workloads_.push_back(std::make_unique<Ext4FsckWorkload>(
          disk->name, env.fuse_file(disk->name), regions.ext4_offset, kExt4RegionBytes, env.dir(),
          seed, t0));
  }
  if (!c.nic_workload.name.empty()) {
    for (const CampaignDevice& d : c.devices) {
      const NicEndpoints* e = env.nic(d.name);
      if (d.kind != "nic" || e == nullptr) continue;
      auto peer_socket = udp_socket_in(e->wire_netns, e->wire_address, kEchoPort);
      if (!peer_socket) return peer_socket.error();
      set->peers_.push_back(std::make_unique<EchoPeer>(std::move(*peer_socket), peer_fault));
      set->peers_.back()->start();
      auto socket = udp_socket_in(e->host_netns, e->host_address, 0, e->wire_address, kEchoPort);
      if (!socket) return socket.error();
      auto w = std::make_unique<UdpEchoWorkload>(
          d.name, std::move(*socket), c.nic_workload, seed, t0,
          e->host_address + " (netns " + e->host_netns + ", " + e->tap + ")",
          e->wire_address + ":" + std::to_string(kEchoPort) + " (netns " + e->wire_netns + ", " +
              e->wire_tap + ")");
      // A reissued frame whose first echo was lost is a duplicate the peer
      // saw, not a reordering (echo_tracker.h).
      w->set_peer_received_twice(
          [peer = set->peers_.back().get()](uint64_t seq) { return peer->received_twice(seq); });
      ULDD_TRY(w->wait_until_echoing(kFirstEchoTimeout));
      set->workloads_.push_back(std::move(w));
      if (c.nic_workload.iperf3)  // beside the echo (after it: for_device finds the echo)
        set->workloads_.push_back(std::make_unique<Iperf3Workload>(*e, env.dir(), t0));
    }
  }
  for (auto& w : set->workloads_) ULDD_TRY(w->start());
  return set;
}

Workload* WorkloadSet::for_device(const std::string& device) const {
  for (const auto& w : workloads_)
    if (w->device() == device) return w.get();
  return nullptr;
}

bool WorkloadSet::finish(int32_t after_fault, std::chrono::milliseconds timeout) {
  bool ok = true;
  for (auto& w : workloads_) ok = w->finish(after_fault, timeout).has_value() && ok;
  return ok;
}

void WorkloadSet::stop() {
  for (auto& w : workloads_) w->stop();
  for (auto& p : peers_) p->stop();
}

DataCounts WorkloadSet::data_counts() const {
  DataCounts sum;
  for (const auto& w : workloads_) {
    DataCounts d = w->data_counts();
    sum.lost_writes += d.lost_writes;
    sum.corrupted_blocks += d.corrupted_blocks;
    sum.io_errors += d.io_errors;
    sum.writes_acknowledged += d.writes_acknowledged;
  }
  return sum;
}

void WorkloadSet::add_to_report(CampaignReport& r, const Invariants& inv) const {
  for (const auto& w : workloads_) {
    w->add_to_report(r);
    for (InvariantResult& i : w->check_invariants(inv)) r.invariants.push_back(std::move(i));
  }
}

}  // namespace uldd::campaign
