// NvmeController: the admin command set (NVMe 1.4 §5) — Identify, I/O queue
// creation and deletion with the spec's checks, Set/Get Features, Abort and
// Asynchronous Event Request. Every field is validated before any state
// changes, so a rejected command leaves the controller as it was.
#include <algorithm>
#include <cstring>

#include "devices/nvme/identify_data.h"
#include "devices/nvme/nvme_controller.h"

namespace uldd::nvme {
namespace {

// Status codes and opcodes nvme_spec.h does not carry (only the model needs them).
constexpr uint8_t kOpAsyncEventRequest = 0x0C;      // §5, Figure 139
constexpr uint8_t kCommandSequenceError = 0x0C;     // generic, §4.6.1.2.1
constexpr uint8_t kAsyncEventLimitExceeded = 0x05;  // command specific, §5.2.1
constexpr uint8_t kInvalidInterruptVector = 0x08;   // command specific, §5.3.1
constexpr uint8_t kFeatureNotSaveable = 0x0D;       // command specific, §5.21.1
constexpr uint32_t kFeatureChangeable = 1u << 2;    // Get Features SEL = 011b, §5.15.1
// FUSE (CDW0 9:8) and PSDT (CDW0 15:14) within the flags byte: the model
// supports neither fused commands nor SGLs.
constexpr uint8_t kUnsupportedFlags = 0xC3;

uint16_t generic(uint8_t sc) {
  return status::make(status::kTypeGeneric, sc, sc != 0);
}
uint16_t specific(uint8_t sc) {
  return status::make(status::kTypeCommandSpecific, sc, true);
}

}  // namespace

NvmeController::AdminResult NvmeController::execute_admin(const SubmissionEntry& cmd) {
  if ((cmd.flags & kUnsupportedFlags) != 0) return {generic(status::kInvalidField)};
  switch (cmd.opcode) {
    case admin::kDeleteIoSq:
      return delete_sq(cmd);
    case admin::kCreateIoSq:
      return create_sq(cmd);
    case admin::kDeleteIoCq:
      return delete_cq(cmd);
    case admin::kCreateIoCq:
      return create_cq(cmd);
    case admin::kIdentify:
      return identify(cmd);
    case admin::kSetFeatures:
      return set_features(cmd);
    case admin::kGetFeatures:
      return get_features(cmd);
    case admin::kGetLogPage:
      // No log pages are implemented; drivers must not depend on them.
      return {generic(status::kInvalidField)};
    case admin::kAbort:
      // §5.1: DW0 bit 0 = 1, the command was not aborted. Commands execute
      // as soon as they are fetched, so there is never anything to abort.
      return {0, 1};
    case kOpAsyncEventRequest:
      // Parked until an event that the model never generates; Identify
      // Controller's AERL = 0 allows one outstanding request.
      if (aer_outstanding_) return {specific(kAsyncEventLimitExceeded)};
      aer_outstanding_ = true;
      return {0, 0, false};
    default:
      return {generic(status::kInvalidOpcode)};
  }
}

NvmeController::AdminResult NvmeController::identify(const SubmissionEntry& cmd) {
  IdentifyInputs in{config_.serial, config_.model, blocks_, config_.lba_shift};
  static_assert(sizeof(IdentifyController) == sizeof scratch_);
  static_assert(sizeof(IdentifyNamespace) == sizeof scratch_);
  switch (cmd.cdw10 & 0xFF) {  // CNS, §5.15.1
    case kCnsController: {
      IdentifyController id = make_identify_controller(in);
      std::memcpy(scratch_, &id, sizeof id);
      break;
    }
    case kCnsNamespace: {
      if (cmd.nsid != 1) return {generic(status::kInvalidNamespace)};
      IdentifyNamespace ns = make_identify_namespace(in);
      std::memcpy(scratch_, &ns, sizeof ns);
      break;
    }
    case kCnsActiveNamespaces: {
      // Active NSIDs greater than CDW1.NSID, ascending, zero-terminated.
      if (cmd.nsid >= 0xFFFFFFFE) return {generic(status::kInvalidNamespace)};
      std::memset(scratch_, 0, sizeof scratch_);
      if (cmd.nsid < 1) {
        uint32_t one = 1;
        std::memcpy(scratch_, &one, sizeof one);
      }
      break;
    }
    default:
      return {generic(status::kInvalidField)};
  }
  if (uint16_t st = prp_.map(cmd.prp1, cmd.prp2, sizeof scratch_); st != 0) return {st};
  prp_.copy_in(scratch_, sizeof scratch_);
  return {};
}

NvmeController::AdminResult NvmeController::create_cq(const SubmissionEntry& cmd) {
  // §5.3: CDW10 QSIZE 31:16 (0's based), QID 15:0; CDW11 IV 31:16, IEN 1, PC 0.
  uint16_t qid = cmd.cdw10 & 0xFFFF;
  uint32_t entries = (cmd.cdw10 >> 16) + 1;
  bool contiguous = (cmd.cdw11 & 1) != 0;
  bool irq_enabled = (cmd.cdw11 & 2) != 0;
  uint16_t vector = static_cast<uint16_t>(cmd.cdw11 >> 16);
  if (qid == 0 || qid > features_.io_cq_allocated || cqs_[qid].active())
    return {specific(status::kInvalidQueueIdentifier)};
  if (entries < 2 || entries > kMaxQueueEntries) return {specific(status::kInvalidQueueSize)};
  if (!contiguous) return {generic(status::kInvalidField)};  // CAP.CQR = 1
  // One vector per queue pair at most; under emulated UIO they all reach the
  // driver through the same eventfd.
  if (vector > kMaxIoQueuePairs) return {specific(kInvalidInterruptVector)};
  // §7.6.1: CC.IOCQES must be set before I/O CQs are created; only 16 B is supported.
  if (cc::iocqes(cc_) != 4) return {generic(status::kInvalidField)};
  std::byte* base = nullptr;
  if (!queue_memory(cmd.prp1, entries, sizeof(CompletionEntry), &base))
    return {generic(status::kInvalidField)};
  cqs_[qid].open(qid, base, entries, irq_enabled, vector);
  // The doorbell may hold a value written while the queue did not exist.
  set_reg(cq_head_doorbell(qid), 0);
  return {};
}

NvmeController::AdminResult NvmeController::create_sq(const SubmissionEntry& cmd) {
  // §5.4: CDW10 as for a CQ; CDW11 CQID 31:16, QPRIO 2:1 (ignored: round
  // robin arbitration only), PC 0.
  uint16_t qid = cmd.cdw10 & 0xFFFF;
  uint32_t entries = (cmd.cdw10 >> 16) + 1;
  bool contiguous = (cmd.cdw11 & 1) != 0;
  uint16_t cqid = static_cast<uint16_t>(cmd.cdw11 >> 16);
  if (qid == 0 || qid > features_.io_sq_allocated || sqs_[qid].active)
    return {specific(status::kInvalidQueueIdentifier)};
  if (entries < 2 || entries > kMaxQueueEntries) return {specific(status::kInvalidQueueSize)};
  if (cqid == 0 || cqid > kMaxIoQueuePairs || !cqs_[cqid].active())
    return {specific(status::kCompletionQueueInvalid)};
  if (!contiguous) return {generic(status::kInvalidField)};
  if (cc::iosqes(cc_) != 6) return {generic(status::kInvalidField)};
  std::byte* base = nullptr;
  if (!queue_memory(cmd.prp1, entries, sizeof(SubmissionEntry), &base))
    return {generic(status::kInvalidField)};
  sqs_[qid] = SubmissionQueue{true, qid, cqid, base, entries, 0, 0};
  set_reg(sq_tail_doorbell(qid), 0);
  return {};
}

NvmeController::AdminResult NvmeController::delete_sq(const SubmissionEntry& cmd) {
  uint16_t qid = cmd.cdw10 & 0xFFFF;
  if (qid == 0 || qid > kMaxIoQueuePairs || !sqs_[qid].active)
    return {specific(status::kInvalidQueueIdentifier)};
  // §5.6: commands of the queue are completed or aborted first. Their data
  // transfer is already done; the completions not yet posted are dropped.
  cqs_[sqs_[qid].cqid].cancel_sq(qid);
  sqs_[qid] = SubmissionQueue{};
  set_reg(sq_tail_doorbell(qid), 0);
  return {};
}

NvmeController::AdminResult NvmeController::delete_cq(const SubmissionEntry& cmd) {
  uint16_t qid = cmd.cdw10 & 0xFFFF;
  if (qid == 0 || qid > kMaxIoQueuePairs || !cqs_[qid].active())
    return {specific(status::kInvalidQueueIdentifier)};
  // §5.5: a CQ still used by an SQ cannot be deleted.
  for (const SubmissionQueue& sq : sqs_) {
    if (sq.active && sq.cqid == qid) return {specific(status::kInvalidQueueDeletion)};
  }
  cqs_[qid].close();
  set_reg(cq_head_doorbell(qid), 0);
  return {};
}

NvmeController::AdminResult NvmeController::set_features(const SubmissionEntry& cmd) {
  uint8_t fid = cmd.cdw10 & 0xFF;
  if ((cmd.cdw10 >> 31) != 0) return {specific(kFeatureNotSaveable)};  // SV
  switch (fid) {
    case kFeatureNumberOfQueues: {
      // §5.21.1.7: NSQR 15:0, NCQR 31:16, both 0's based; 65535 is invalid.
      uint32_t nsqr = cmd.cdw11 & 0xFFFF;
      uint32_t ncqr = cmd.cdw11 >> 16;
      if (nsqr == 0xFFFF || ncqr == 0xFFFF) return {generic(status::kInvalidField)};
      for (uint16_t q = 1; q <= kMaxIoQueuePairs; ++q) {
        if (sqs_[q].active || cqs_[q].active()) return {generic(kCommandSequenceError)};
      }
      features_.io_sq_allocated =
          static_cast<uint16_t>(std::min<uint32_t>(nsqr + 1, kMaxIoQueuePairs));
      features_.io_cq_allocated =
          static_cast<uint16_t>(std::min<uint32_t>(ncqr + 1, kMaxIoQueuePairs));
      features_.queues_negotiated = true;
      return {0, uint32_t(features_.io_sq_allocated - 1) |
                     (uint32_t(features_.io_cq_allocated - 1) << 16)};
    }
    case kFeatureInterruptCoalescing:
      features_.coalescing = static_cast<uint16_t>(cmd.cdw11 & 0xFFFF);
      return {};
    case kFeatureVolatileWriteCache:
      features_.write_cache = (cmd.cdw11 & 1) != 0;
      return {};
    default:
      return {generic(status::kInvalidField)};
  }
}

NvmeController::AdminResult NvmeController::get_features(const SubmissionEntry& cmd) {
  uint8_t fid = cmd.cdw10 & 0xFF;
  uint32_t sel = (cmd.cdw10 >> 8) & 7;  // §5.15.1: 0 current, 1 default, 2 saved, 3 capabilities
  if (fid != kFeatureNumberOfQueues && fid != kFeatureInterruptCoalescing &&
      fid != kFeatureVolatileWriteCache)
    return {generic(status::kInvalidField)};
  if (sel == 3) return {0, kFeatureChangeable};
  if (sel > 3) return {generic(status::kInvalidField)};
  // Nothing is saveable, so "saved" reports the defaults.
  Features f = sel == 0 ? features_ : Features{};
  switch (fid) {
    case kFeatureNumberOfQueues:
      return {0, uint32_t(f.io_sq_allocated - 1) | (uint32_t(f.io_cq_allocated - 1) << 16)};
    case kFeatureInterruptCoalescing:
      return {0, f.coalescing};
    default:
      return {0, f.write_cache ? 1u : 0u};
  }
}

}  // namespace uldd::nvme
