// NvmeDriver, controller side: reset, enable, Identify, features, queue
// creation and shutdown (NVMe 1.4 §7.6.1 initialization, §7.6.2 shutdown).
// The I/O path is in nvme_driver.cc.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <thread>

#include "devices/nvme/nvme_spec.h"
#include "drivers/nvme/nvme_completion.h"
#include "drivers/nvme/nvme_driver.h"

namespace uldd::drivers {
namespace {

constexpr uint64_t kPage = nvme::kPageSize;
constexpr uint32_t kNamespaceId = 1;
constexpr uint32_t kSqEntryLog2 = 6;  // 64-byte SQEs
constexpr uint32_t kCqEntryLog2 = 4;  // 16-byte CQEs
constexpr uint32_t kCcShnNormal = 1u << 14;
constexpr uint32_t kCcShnMask = 3u << 14;
constexpr uint32_t kCstsShstMask = 3u << 2;

std::string trimmed(const char* s, size_t n) {
  std::string r(s, strnlen(s, n));
  while (!r.empty() && r.back() == ' ') r.pop_back();
  return r;
}

nvme::SubmissionEntry admin_command(uint8_t opcode) {
  nvme::SubmissionEntry e{};
  e.opcode = opcode;
  return e;
}

}  // namespace

Status NvmeDriver::wait_ready(bool ready, const char* what) const {
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  auto pause = std::chrono::microseconds(1);
  for (;;) {
    uint32_t csts = dev_.read32(nvme::kRegCsts);
    if (csts == 0xFFFFFFFFu)
      return plain_error(std::string(what) + ": CSTS reads all ones (device gone)");
    if ((csts & nvme::csts::kReady) == (ready ? nvme::csts::kReady : 0u)) return {};
    if (ready && (csts & nvme::csts::kFatal) != 0)
      return plain_error(std::string(what) + ": controller fatal status (CSTS.CFS)");
    if (std::chrono::steady_clock::now() >= deadline)
      return plain_error(std::string(what) + ": CSTS.RDY did not become " + (ready ? "1" : "0") +
                         " within CAP.TO (" + std::to_string(timeout_.count()) + " ms)");
    std::this_thread::sleep_for(pause);
    if (pause < std::chrono::microseconds(1000)) pause *= 2;
  }
}

Status NvmeDriver::check_contiguous(uint64_t iova, uint64_t len, const char* what) const {
  uint64_t base = dev_.dma().device_address(iova);
  for (uint64_t off = kPage; off < len; off += kPage) {
    if (dev_.dma().device_address(iova + off) != base + off)
      return plain_error(std::string(what) + " at DMA offset " + std::to_string(iova) +
                         " is not contiguous in device-address space (a queue needs contiguous "
                         "memory; use huge pages for the DMA region)");
  }
  if ((base % kPage) != 0)
    return plain_error(std::string(what) + ": device address not page aligned");
  return {};
}

Status NvmeDriver::bring_up() {
  up_ = false;
  uint64_t cap = dev_.read64(nvme::kRegCap);
  if (cap == ~uint64_t{0}) return plain_error("bring-up: CAP reads all ones (device gone)");
  if ((nvme::cap::css(cap) & 1) == 0)
    return plain_error("bring-up: controller lacks the NVM command set (CAP.CSS)");
  if (nvme::cap::mpsmin(cap) != 0)
    return plain_error("bring-up: controller does not support 4 KiB pages (CAP.MPSMIN)");
  if (cfg_.io_queue_depth > nvme::cap::mqes(cap) + 1 || kAdminQueueDepth > nvme::cap::mqes(cap) + 1)
    return plain_error("bring-up: io_queue_depth " + std::to_string(cfg_.io_queue_depth) +
                       " exceeds CAP.MQES+1 = " + std::to_string(nvme::cap::mqes(cap) + 1));
  dstrd_ = static_cast<uint32_t>(nvme::cap::dstrd(cap));
  timeout_ = std::chrono::milliseconds(500 * std::max<uint64_t>(1, nvme::cap::to(cap)));
  if (nvme::cq_head_doorbell(cfg_.io_queue_count, dstrd_) + 4 > dev_.bar_size())
    return plain_error("bring-up: BAR0 of " + std::to_string(dev_.bar_size()) +
                       " bytes has no doorbell for queue " + std::to_string(cfg_.io_queue_count));

  // §7.6.1: disable (CC.EN = 0) and wait for CSTS.RDY = 0 before touching
  // the admin queue registers.
  uint32_t cc = dev_.read32(nvme::kRegCc);
  if ((cc & nvme::cc::kEnable) != 0) dev_.write32(nvme::kRegCc, cc & ~nvme::cc::kEnable);
  ULDD_TRY(wait_ready(false, "reset"));

  // The controller is idle: the driver area is ours to clear (CQs must start
  // with phase tags 0, §7.4.1; stale PRP lists must not survive).
  std::memset(dev_.dma().base(), 0, layout_.total_size);
  ULDD_TRY(check_contiguous(layout_.admin_sq_offset, kPage, "admin SQ"));
  ULDD_TRY(check_contiguous(layout_.admin_cq_offset, kPage, "admin CQ"));
  for (uint32_t q = 0; q < layout_.queue_count; ++q) {
    ULDD_TRY(
        check_contiguous(layout_.io_sq_offset[q], uint64_t{cfg_.io_queue_depth} * 64, "I/O SQ"));
    ULDD_TRY(
        check_contiguous(layout_.io_cq_offset[q], uint64_t{cfg_.io_queue_depth} * 16, "I/O CQ"));
  }

  admin_ = NvmeAdminQueue(&dev_, layout_.admin_sq_offset, layout_.admin_cq_offset, kAdminQueueDepth,
                          dstrd_);
  dev_.write32(nvme::kRegAqa, nvme::aqa::make(kAdminQueueDepth, kAdminQueueDepth));
  dev_.write64(nvme::kRegAsq, dev_.dma().device_address(layout_.admin_sq_offset));
  dev_.write64(nvme::kRegAcq, dev_.dma().device_address(layout_.admin_cq_offset));
  // CSS = 000b (NVM), MPS = 0 (4 KiB), AMS = round robin, IOSQES/IOCQES.
  dev_.write32(nvme::kRegCc, nvme::cc::make(0, kSqEntryLog2, kCqEntryLog2));
  ULDD_TRY(wait_ready(true, "enable"));

  ULDD_TRY(identify());
  ULDD_TRY(set_features());
  ULDD_TRY(create_io_queues());
  up_ = true;
  commit_checkpoint();
  publish_stats();
  spdlog::info("nvme: up, {} I/O queue pair(s) of depth {} ({} commands each), namespace {} bytes",
               cfg_.io_queue_count, cfg_.io_queue_depth, layout_.cids_per_queue, namespace_bytes_);
  return {};
}

Status NvmeDriver::identify() {
  auto* buf = dev_.dma().at<std::byte>(layout_.identify_offset);
  uint64_t buf_addr = dev_.dma().device_address(layout_.identify_offset);

  // Identify Controller, §5.15.2.1.
  std::memset(buf, 0, kPage);
  nvme::SubmissionEntry e = admin_command(nvme::admin::kIdentify);
  e.prp1 = buf_addr;
  e.cdw10 = nvme::kCnsController;
  ULDD_TRY(admin_.execute(e, timeout_, "Identify Controller"));
  nvme::IdentifyController ctrl;
  std::memcpy(&ctrl, buf, sizeof ctrl);
  if (ctrl.mdts != 0 && ctrl.mdts < 20) {
    uint64_t limit = kPage << ctrl.mdts;  // MPSMIN = 0: units of 4 KiB
    if (cfg_.max_transfer > limit)
      return plain_error("Identify Controller: max_transfer " + std::to_string(cfg_.max_transfer) +
                         " exceeds the controller's MDTS limit of " + std::to_string(limit));
  }
  if ((ctrl.sqes & 0xF) > kSqEntryLog2 || (ctrl.sqes >> 4) < kSqEntryLog2 ||
      (ctrl.cqes & 0xF) > kCqEntryLog2 || (ctrl.cqes >> 4) < kCqEntryLog2)
    return plain_error("Identify Controller: SQES/CQES do not allow 64/16-byte entries");
  if (ctrl.nn < kNamespaceId) return plain_error("Identify Controller: no namespaces (NN = 0)");
  spdlog::info("nvme: controller '{}' serial '{}' firmware '{}', MDTS {}",
               trimmed(ctrl.mn, sizeof ctrl.mn), trimmed(ctrl.sn, sizeof ctrl.sn),
               trimmed(ctrl.fr, sizeof ctrl.fr), ctrl.mdts);

  // Identify Namespace 1, §5.15.2.2.
  std::memset(buf, 0, kPage);
  e = admin_command(nvme::admin::kIdentify);
  e.nsid = kNamespaceId;
  e.prp1 = buf_addr;
  e.cdw10 = nvme::kCnsNamespace;
  ULDD_TRY(admin_.execute(e, timeout_, "Identify Namespace"));
  nvme::IdentifyNamespace ns;
  std::memcpy(&ns, buf, sizeof ns);
  uint32_t fmt = ns.flbas & 0xF;
  if (fmt > ns.nlbaf || fmt >= 16)
    return plain_error("Identify Namespace: FLBAS names a format beyond NLBAF");
  const nvme::LbaFormat& lbaf = ns.lbaf[fmt];
  if (lbaf.lbads != 9)
    return plain_error("Identify Namespace: LBA size " +
                       std::to_string(lbaf.lbads < 32 ? 1ull << lbaf.lbads : 0) +
                       " not supported (the driver needs 512-byte LBAs)");
  if (lbaf.ms != 0)
    return plain_error("Identify Namespace: LBA format with metadata not supported");
  if (ns.nsze == 0 || ns.nsze > (~uint64_t{0} >> 9))
    return plain_error("Identify Namespace: implausible NSZE " + std::to_string(ns.nsze));
  namespace_sectors_ = ns.nsze;
  namespace_bytes_ = ns.nsze * abi::kSectorSize;
  if (namespace_bytes_ < cfg_.device_bytes)
    return plain_error("Identify Namespace: namespace has " + std::to_string(namespace_bytes_) +
                       " bytes, the shim expects " + std::to_string(cfg_.device_bytes));
  return {};
}

Status NvmeDriver::set_features() {
  // Number of Queues, §5.21.1.7: NSQR 15:0, NCQR 31:16, both 0's based.
  uint32_t want = cfg_.io_queue_count - 1;
  nvme::SubmissionEntry e = admin_command(nvme::admin::kSetFeatures);
  e.cdw10 = nvme::kFeatureNumberOfQueues;
  e.cdw11 = want | (want << 16);
  auto r = admin_.execute(e, timeout_, "Set Features (Number of Queues)");
  if (!r) return r.error();
  uint32_t nsqa = r->dw0 & 0xFFFF;
  uint32_t ncqa = r->dw0 >> 16;
  if (nsqa < want || ncqa < want)
    return plain_error("Set Features (Number of Queues): controller allocated " +
                       std::to_string(nsqa + 1) + " SQs / " + std::to_string(ncqa + 1) +
                       " CQs, need " + std::to_string(cfg_.io_queue_count));

  // Interrupt Coalescing, §5.21.1.8: THR 7:0 (0's based), TIME 15:8 in
  // 100 us units (rounded down: never hold an interrupt longer than asked).
  // The reset value (THR 0, TIME 0: an interrupt per completion) is what
  // threshold 1 / time 0 asks for, so the feature is set only to coalesce.
  // Coalescing is a tuning: a controller that refuses it (QEMU 7.2's nvme
  // answers Feature Not Changeable, SCT 1h SC 0Eh) costs interrupts, not
  // correctness, so a refusal is a warning; a controller that does not
  // answer at all is still an error.
  uint32_t thr = cfg_.irq_coalesce_threshold - 1;
  uint32_t time = std::min<uint32_t>(cfg_.irq_coalesce_time_us / 100, 255);
  if (thr == 0 && time == 0) return {};
  e = admin_command(nvme::admin::kSetFeatures);
  e.cdw10 = nvme::kFeatureInterruptCoalescing;
  e.cdw11 = thr | (time << 8);
  auto coalescing = admin_.execute(e, timeout_, "Set Features (Interrupt Coalescing)");
  if (!coalescing) {
    if (coalescing.error().message.find("controller returned status") == std::string::npos)
      return coalescing.error();
    spdlog::warn("nvme: {}; interrupts are not coalesced", coalescing.error().message);
  }
  return {};
}

Status NvmeDriver::create_io_queues() {
  queues_.clear();
  queues_.reserve(layout_.queue_count);
  std::memset(shadow_.get(), 0, sizeof(NvmeCheckpoint));
  shadow_->version = kNvmeCheckpointVersion;
  shadow_->queue_count = layout_.queue_count;
  shadow_->queue_depth = layout_.queue_depth;
  shadow_->cid_total = layout_.queue_count * layout_.cids_per_queue;
  shadow_->namespace_bytes = namespace_bytes_;
  shadow_->max_transfer = cfg_.max_transfer;
  for (uint32_t q = 0; q < layout_.queue_count; ++q) {
    auto qid = static_cast<uint16_t>(q + 1);
    std::string name = " for queue " + std::to_string(qid);
    // Create I/O CQ, §5.3: PC = 1, IEN = 1, IV = 0 (one interrupt line).
    nvme::SubmissionEntry e = admin_command(nvme::admin::kCreateIoCq);
    e.prp1 = dev_.dma().device_address(layout_.io_cq_offset[q]);
    e.cdw10 = nvme::queue_cdw10(qid, cfg_.io_queue_depth);
    e.cdw11 = 1u | (1u << 1);
    ULDD_TRY(admin_.execute(e, timeout_, "Create I/O CQ" + name));
    // Create I/O SQ, §5.4: PC = 1, QPRIO = 0, CQID = qid.
    e = admin_command(nvme::admin::kCreateIoSq);
    e.prp1 = dev_.dma().device_address(layout_.io_sq_offset[q]);
    e.cdw10 = nvme::queue_cdw10(qid, cfg_.io_queue_depth);
    e.cdw11 = 1u | (uint32_t{qid} << 16);
    ULDD_TRY(admin_.execute(e, timeout_, "Create I/O SQ" + name));

    NvmeIoQueue::Geometry g{qid,
                            cfg_.io_queue_depth,
                            layout_.cids_per_queue,
                            layout_.io_sq_offset[q],
                            layout_.io_cq_offset[q],
                            dstrd_};
    queues_.emplace_back(&dev_, g, shadow_.get(),
                         static_cast<uint16_t>(q * layout_.cids_per_queue));
  }
  return {};
}

Status NvmeDriver::shutdown() {
  uint32_t cc = dev_.read32(nvme::kRegCc);
  if ((cc & nvme::cc::kEnable) == 0) return {};
  dev_.write32(nvme::kRegCc, (cc & ~kCcShnMask) | kCcShnNormal);
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    uint32_t csts = dev_.read32(nvme::kRegCsts);
    if (csts == 0xFFFFFFFFu) return plain_error("shutdown: CSTS reads all ones (device gone)");
    if ((csts & kCstsShstMask) == nvme::csts::kShutdownComplete) break;
    if (std::chrono::steady_clock::now() >= deadline)
      return plain_error("shutdown: CSTS.SHST not complete within " +
                         std::to_string(timeout_.count()) + " ms");
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  up_ = false;
  return {};
}

Status NvmeDriver::check_controller() const {
  uint32_t csts = dev_.read32(nvme::kRegCsts);
  if (csts == 0xFFFFFFFFu) return plain_error("controller: CSTS reads all ones (device gone)");
  if ((csts & nvme::csts::kFatal) != 0) return plain_error("controller: fatal status (CSTS.CFS)");
  if ((csts & nvme::csts::kReady) == 0) return plain_error("controller: not ready (CSTS.RDY = 0)");
  return {};
}

}  // namespace uldd::drivers
