#include "shim/disk_shim.h"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <memory>

namespace uldd::shim {

using abi::BlockDescriptor;
using abi::BlockOp;
using abi::BlockStatus;

DiskShim::DiskShim(DiskShimOptions options, std::unique_ptr<DriverPort> port)
    : options_(std::move(options)),
      port_(std::move(port)),
      table_(options_.buffer_count),
      reap_batch_(256) {
  set_request_timeout(options_.request_timeout);
  set_error_retry(options_.error_retry);
}

DiskShim::~DiskShim() {
  stop();
}

Status DiskShim::start() {
  auto wake = EventFd::create();
  if (!wake) return wake.error();
  incoming_wake_ = std::move(wake.value());
  thread_ = std::thread([this] { run(); });
  return {};
}

void DiskShim::read(uint64_t offset, std::span<std::byte> dest, BlockDone done) {
  auto r = std::make_unique<Request>();
  r->op = BlockOp::kRead;
  r->offset = offset;
  r->len = dest.size();
  r->data = dest.data();
  r->done = std::move(done);
  enqueue(std::move(r));
}

void DiskShim::write(uint64_t offset, std::span<const std::byte> data, BlockDone done) {
  auto r = std::make_unique<Request>();
  r->op = BlockOp::kWrite;
  r->offset = offset;
  r->len = data.size();
  r->data = const_cast<std::byte*>(data.data());  // only ever read from
  r->done = std::move(done);
  enqueue(std::move(r));
}

void DiskShim::flush(BlockDone done) {
  auto r = std::make_unique<Request>();
  r->op = BlockOp::kFlush;
  r->done = std::move(done);
  enqueue(std::move(r));
}

void DiskShim::enqueue(std::unique_ptr<Request> r) {
  // The contract says callers pass aligned, in-range requests; one that does
  // not is refused here rather than reaching a driver.
  const uint64_t sector = abi::kSectorSize;
  if (r->op != BlockOp::kFlush) {
    if (r->offset % sector != 0 || r->len % sector != 0) {
      refuse(std::move(r), BlockStatus::kInvalid,
             "refused: offset or length not a multiple of the sector");
      return;
    }
    if (r->len == 0) {
      refuse(std::move(r), BlockStatus::kInvalid, "refused: empty request");
      return;
    }
    if (r->offset > options_.size_bytes || r->len > options_.size_bytes - r->offset) {
      refuse(std::move(r), BlockStatus::kInvalid, "refused: beyond the end of the device");
      return;
    }
  }
  bool wake = false;
  {
    std::unique_lock lock(mutex_);
    space_cv_.wait(lock, [this] { return accepted_ < options_.queue_limit || stopping_; });
    if (stopping_) {
      lock.unlock();
      refuse(std::move(r), BlockStatus::kDeviceFailed, "refused: the shim is stopping");
      return;
    }
    ++accepted_;
    stats_.requests_open.fetch_add(1, std::memory_order_relaxed);
    incoming_.push_back(r.release());
    wake = sleeping_;
    sleeping_ = false;
  }
  if (wake) incoming_wake_.signal();
}

bool DiskShim::take_incoming() {
  std::lock_guard lock(mutex_);
  if (incoming_.empty()) return false;
  for (Request* r : incoming_) pending_.push_back(r);
  incoming_.clear();
  return true;
}

bool DiskShim::issue() {
  if (held_.load(std::memory_order_acquire)) return false;
  uint32_t space = port_->submit_space();
  uint32_t n = 0;
  // What a dead predecessor had, first and in its original order.
  while (n < space && !resend_.empty()) {
    InFlightEntry& resent = table_.entry_for_tag(resend_.front());
    resent.handed_at = std::chrono::steady_clock::now();
    BlockDescriptor d = resent.sent;
    d.flags = resend_flags_;
    resend_.pop_front();
    port_->stage(n++, d);
    stats_.resent.fetch_add(1, std::memory_order_relaxed);
  }
  if (resend_.empty()) resend_flags_ = 0;
  n = issue_retries(n, space);
  while (n < space && !pending_.empty() && table_.has_free()) {
    Request* r = pending_.front();
    uint32_t tag = table_.allocate();
    uint32_t slot = InFlightTable::slot_of(tag);
    BlockDescriptor d{};
    d.tag = tag;
    d.op = static_cast<uint16_t>(r->op);
    if (r->op != BlockOp::kFlush) {
      d.len = static_cast<uint32_t>(std::min<uint64_t>(options_.max_transfer, r->len - r->issued));
      d.iova = options_.buffer_area_iova + uint64_t{slot} * options_.max_transfer;
      d.lba = (r->offset + r->issued) / abi::kSectorSize;
      if (r->op == BlockOp::kWrite) std::memcpy(buffer(slot), r->data + r->issued, d.len);
    }
    InFlightEntry& e = table_.entry_for_tag(tag);
    e.request = r;
    e.part_offset = r->issued;
    e.sent = d;
    e.issue_seq = issue_seq_++;
    e.handed_at = std::chrono::steady_clock::now();
    e.error_retries = 0;
    e.restarted_for_errors = false;
    r->issued += d.len;
    ++r->parts_outstanding;
    if (r->issued >= r->len) {
      r->fully_issued = true;
      pending_.pop_front();
    }
    port_->stage(n++, d);
  }
  if (n == 0) return false;
  port_->commit(n);
  stats_.descriptors.fetch_add(n, std::memory_order_relaxed);
  stats_.descriptors_in_flight.store(table_.in_use(), std::memory_order_relaxed);
  return true;
}

bool DiskShim::harvest() {
  uint32_t n = port_->reap(reap_batch_);
  for (uint32_t i = 0; i < n; ++i) {
    const BlockDescriptor& c = reap_batch_[i];
    InFlightEntry* e = table_.match(c);
    if (e == nullptr) {
      // Unknown, stale, duplicate or altered: drop it, never touch a buffer.
      uint64_t v = stats_.protocol_violations.fetch_add(1, std::memory_order_relaxed);
      if (v < 10)
        spdlog::warn(
            "{}: dropped completion tag={:#x} op={} len={} lba={}: matches nothing in flight",
            options_.device_name, c.tag, c.op, c.len, c.lba);
      report_driver_fault(
          fmt::format("completion tag={:#x} op={} len={} lba={} matches nothing in flight", c.tag,
                      c.op, c.len, c.lba));
      continue;
    }
    if (awaiting_first_completion_) {
      awaiting_first_completion_ = false;
      stats_.first_completion_after_restart_ns.store(
          std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_release);
    }
    Request* r = e->request;
    if (c.status != static_cast<uint16_t>(BlockStatus::kOk)) {
      const char* why = nullptr;
      if (retry_after_error(*e, c, &why)) continue;  // same slot, new tag, sent again
      if (r->status == BlockStatus::kOk) {
        r->status = c.status <= static_cast<uint16_t>(BlockStatus::kDeviceFailed)
                        ? static_cast<BlockStatus>(c.status)
                        : BlockStatus::kIoError;
        r->error_reason = why;
      }
    } else {
      error_restart_armed_ = true;  // the driver can succeed (disk_shim_retry.cc)
      if (r->op == BlockOp::kRead)
        std::memcpy(r->data + e->part_offset, buffer(InFlightTable::slot_of(c.tag)), e->sent.len);
    }
    table_.release(c.tag);
    if (--r->parts_outstanding == 0 && r->fully_issued) complete(r);
  }
  if (n > 0) stats_.descriptors_in_flight.store(table_.in_use(), std::memory_order_relaxed);
  if (port_->protocol_violated()) {
    stats_.protocol_violations.fetch_add(1, std::memory_order_relaxed);
    report_driver_fault(
        "impossible ring index (the driver claims more than was published or released)");
  }
  return n > 0;
}

void DiskShim::report_driver_fault(const std::string& reason) {
  if (fault_reported_) return;
  fault_reported_ = true;
  // The supervisor kills the driver and then holds us (hold()); whatever we
  // hand out meanwhile is resent to the successor like everything else.
  spdlog::error("{}: driver fault: {}", options_.device_name, reason);
  if (options_.on_driver_fault) options_.on_driver_fault(reason);
}

void DiskShim::complete(Request* r) {
  switch (r->op) {
    case BlockOp::kRead:
      stats_.reads.fetch_add(1, std::memory_order_relaxed);
      stats_.read_bytes.fetch_add(r->len, std::memory_order_relaxed);
      break;
    case BlockOp::kWrite:
      stats_.writes.fetch_add(1, std::memory_order_relaxed);
      stats_.write_bytes.fetch_add(r->len, std::memory_order_relaxed);
      break;
    case BlockOp::kFlush:
      stats_.flushes.fetch_add(1, std::memory_order_relaxed);
      break;
  }
  if (r->status != BlockStatus::kOk)
    note_error(*r, r->status, r->error_reason != nullptr ? r->error_reason : "no reason recorded");
  stats_.requests_open.fetch_sub(1, std::memory_order_relaxed);
  r->done(r->status);
  delete r;
  {
    std::lock_guard lock(mutex_);
    --accepted_;
  }
  space_cv_.notify_one();
}

void DiskShim::refuse(std::unique_ptr<Request> r, BlockStatus status, const char* reason) {
  note_error(*r, status, reason);
  r->done(status);
}

void DiskShim::note_error(const Request& r, BlockStatus status, const char* reason) {
  // Every error a frontend passes on (FUSE and NBD turn it into EIO) must be
  // visible here: counted, and logged with its reason. The first ones are
  // each logged; in an error storm (a failed device) one in 1000.
  constexpr uint64_t kLoggedEach = 20;
  const uint64_t n = stats_.errors.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n > kLoggedEach && n % 1000 != 0) return;
  static constexpr const char* kOps[] = {"op?", "read", "write", "flush"};
  const auto op = static_cast<size_t>(r.op);
  spdlog::warn("{}: {} offset={} len={} completed with status {}: {} ({} error(s) so far{})",
               options_.device_name, op < std::size(kOps) ? kOps[op] : "op?", r.offset, r.len,
               static_cast<unsigned>(status), reason, n,
               n > kLoggedEach ? ", 1 in 1000 logged" : "");
}

void DiskShim::run() {
  while (!stop_requested_.load(std::memory_order_acquire)) {
    run_commands();
    check_request_timeouts();  // also under load: other requests may flow past a stuck one
    bool progress = take_incoming();
    progress |= harvest();
    progress |= issue();
    if (progress) continue;

    // Nothing to do: announce the sleep to the driver and the frontends, then
    // re-check both before blocking so that no kick is lost.
    bool waiting_for_space =
        !held_.load(std::memory_order_relaxed) &&
        ((!pending_.empty() && table_.has_free()) || !resend_.empty() || retry_sleep_ms(1) == 0);
    if (port_->prepare_sleep(waiting_for_space)) continue;
    {
      std::lock_guard lock(mutex_);
      if (!incoming_.empty() || !commands_.empty()) {
        port_->finish_sleep();
        continue;
      }
      sleeping_ = true;
    }
    pollfd fds[2] = {{port_->wake_fd(), POLLIN, 0}, {incoming_wake_.fd(), POLLIN, 0}};
    ::poll(fds, 2, retry_sleep_ms(100));
    {
      std::lock_guard lock(mutex_);
      sleeping_ = false;
    }
    port_->finish_sleep();
    if (fds[0].revents & POLLIN) port_->on_wake();
    if (fds[1].revents & POLLIN) incoming_wake_.drain();
  }
}

void DiskShim::hold() {
  held_.store(true, std::memory_order_release);
}

void DiskShim::run_commands() {
  std::deque<std::function<void()>> commands;
  {
    std::lock_guard lock(mutex_);
    if (commands_.empty()) return;
    commands.swap(commands_);
  }
  for (auto& c : commands) c();
}

Result<uint32_t> DiskShim::restart(ResendMode mode) {
  auto done = std::make_shared<std::promise<uint32_t>>();
  std::future<uint32_t> result = done->get_future();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return plain_error(options_.device_name + ": shim is stopped");
    commands_.push_back([this, mode, done] { done->set_value(prepare_restart(mode)); });
    sleeping_ = false;
  }
  incoming_wake_.signal();
  return result.get();
}

void DiskShim::release_quarantine() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    commands_.push_back([this] {
      for (uint32_t tag : quarantined_tags_) table_.release(tag);
      quarantined_tags_.clear();
      stats_.quarantined.store(0, std::memory_order_relaxed);
      stats_.descriptors_in_flight.store(table_.in_use(), std::memory_order_relaxed);
    });
    sleeping_ = false;
  }
  incoming_wake_.signal();
}

uint32_t DiskShim::prepare_restart(ResendMode mode) {
  // 1. Whatever the dead driver completed and posted is a real completion.
  while (harvest()) {
  }
  // 2. Both rings empty for the successor.
  port_->reset();
  // 3. Everything still in flight, oldest first.
  std::vector<uint32_t> tags;
  for (uint32_t slot = 0; slot < table_.capacity(); ++slot) {
    InFlightEntry& e = table_.entry_for_tag(slot);
    if (e.request != nullptr) tags.push_back(e.sent.tag);
  }
  std::sort(tags.begin(), tags.end(), [this](uint32_t a, uint32_t b) {
    return table_.entry_for_tag(a).issue_seq < table_.entry_for_tag(b).issue_seq;
  });
  resend_.clear();
  resend_flags_ = 0;
  // Parts waiting for an error retry are in `tags` like the rest: resent (or
  // failed) once, with their renewed tag, not also retried.
  retry_.clear();
  uint32_t queued = 0;
  if (mode == ResendMode::kFail) {
    for (uint32_t tag : tags) {
      Request* r = table_.entry_for_tag(tag).request;
      r->status = BlockStatus::kIoError;
      r->error_reason = "in flight when the driver died (policy: in-flight requests fail)";
      // The request ends now; its slot (and DMA buffer) waits for the reset.
      table_.entry_for_tag(tag).request = nullptr;
      quarantined_tags_.push_back(tag);
      stats_.failed_on_restart.fetch_add(1, std::memory_order_relaxed);
      if (--r->parts_outstanding == 0 && r->fully_issued) complete(r);
    }
  } else {
    resend_.assign(tags.begin(), tags.end());
    // The successor's clock starts now, not when the dead driver got them.
    const auto now = std::chrono::steady_clock::now();
    for (uint32_t tag : tags) table_.entry_for_tag(tag).handed_at = now;
    resend_flags_ = mode == ResendMode::kAdopt ? abi::kBlockFlagAdopt : 0;
    queued = static_cast<uint32_t>(tags.size());
  }
  stats_.quarantined.store(static_cast<uint32_t>(quarantined_tags_.size()),
                           std::memory_order_relaxed);
  stats_.descriptors_in_flight.store(table_.in_use(), std::memory_order_relaxed);
  stats_.restarts.fetch_add(1, std::memory_order_relaxed);
  stats_.first_completion_after_restart_ns.store(0, std::memory_order_relaxed);
  awaiting_first_completion_ = true;
  fault_reported_ = false;
  held_.store(false, std::memory_order_release);
  return queued;
}

bool DiskShim::drain(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (stats_.requests_open.load(std::memory_order_relaxed) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

void DiskShim::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  space_cv_.notify_all();
  stop_requested_.store(true, std::memory_order_release);
  if (incoming_wake_.valid()) incoming_wake_.signal();
  if (thread_.joinable()) thread_.join();
  take_incoming();
  fail_all_open();
}

void DiskShim::fail_all_open() {
  // Parts still in flight keep their buffer slots: a driver may yet write to
  // them, so their requests are failed but the memory is not reused.
  std::vector<Request*> open;
  for (uint32_t slot = 0; slot < table_.capacity(); ++slot) {
    InFlightEntry& e = table_.entry_for_tag(slot);
    if (e.request != nullptr && std::find(open.begin(), open.end(), e.request) == open.end())
      open.push_back(e.request);
    e.request = nullptr;
  }
  for (Request* r : pending_)
    if (std::find(open.begin(), open.end(), r) == open.end()) open.push_back(r);
  pending_.clear();
  retry_.clear();
  for (Request* r : open) {
    r->status = BlockStatus::kDeviceFailed;
    r->error_reason = "still open when the shim stopped";
    r->parts_outstanding = 0;
    r->fully_issued = true;
    complete(r);
  }
}

}  // namespace uldd::shim
