#include "uio/emulated_uio.h"

#include <sched.h>

#include <algorithm>

namespace uldd::uio {
namespace {

uint32_t load_index(const uint32_t& index) {
  return std::atomic_ref<uint32_t>(const_cast<uint32_t&>(index)).load(std::memory_order_acquire);
}

// Waits until `done()` holds or EmulatedUio::kModelTimeout passes; false on
// timeout. Spins briefly (the model is usually awake and applies a write in
// well under a microsecond), then yields the CPU so that a model sharing it
// can run.
template <class Pred>
bool wait_for_model(Pred done) {
  for (int i = 0; i < 256; ++i) {
    if (done()) return true;
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
  const auto deadline = std::chrono::steady_clock::now() + EmulatedUio::kModelTimeout;
  for (uint32_t i = 0;; ++i) {
    if (done()) return true;
    ::sched_yield();
    if ((i & 63) == 0 && std::chrono::steady_clock::now() >= deadline) return done();
  }
}

}  // namespace

Result<std::unique_ptr<EmulatedUio>> EmulatedUio::attach(UniqueFd bar, UniqueFd dma, UniqueFd irq,
                                                         UniqueFd doorbell) {
  auto bar_mem = SharedMemory::attach(std::move(bar), 4096, "emulated BAR0");
  if (!bar_mem) return bar_mem.error();
  auto dma_mem = SharedMemory::attach(std::move(dma), 4096, "DMA region");
  if (!dma_mem) return dma_mem.error();
  return std::unique_ptr<EmulatedUio>(
      new EmulatedUio(std::move(bar_mem.value()), std::move(dma_mem.value()),
                      EventFd::adopt(std::move(irq)), EventFd::adopt(std::move(doorbell))));
}

EmulatedUio::EmulatedUio(SharedMemory bar, SharedMemory dma, EventFd irq, EventFd doorbell)
    : bar_(std::move(bar)),
      dma_(std::move(dma)),
      irq_(std::move(irq)),
      doorbell_(std::move(doorbell)) {
  if (bar_.size() < kMinBarWithSideband) return;
  auto* layout = reinterpret_cast<SidebandLayout*>(bar_.data() + sideband_offset(bar_.size()));
  uint64_t magic = std::atomic_ref<uint64_t>(layout->magic).load(std::memory_order_acquire);
  if (magic != kSidebandMagic || layout->version != kSidebandVersion ||
      layout->log_capacity != kWriteLogCapacity ||
      layout->read_to_clear_count > kMaxReadToClearRanges)
    return;
  read_to_clear_count_ = layout->read_to_clear_count;
  std::copy_n(layout->read_to_clear, read_to_clear_count_, read_to_clear_);
  // A restarted driver carries on from where its predecessor's last complete
  // append left the log (a half-made entry was never published).
  log_tail_ = load_index(layout->log_tail);
  log_ = layout;
}

bool EmulatedUio::is_read_to_clear(size_t offset) const {
  for (uint32_t i = 0; i < read_to_clear_count_; ++i) {
    if (offset >= read_to_clear_[i].first && offset <= read_to_clear_[i].last) return true;
  }
  return false;
}

void EmulatedUio::append_write(size_t offset, uint32_t value) {
  const uint32_t tail = log_tail_;
  if (tail - load_index(log_->log_head) >= kWriteLogCapacity) {
    // Full: the model may be asleep on lazy writes, so wake it, then wait.
    doorbell_.signal();
    if (!wait_for_model([&] { return tail - load_index(log_->log_head) < kWriteLogCapacity; })) {
      ++model_timeouts_;
      return;
    }
  }
  log_->log[tail % kWriteLogCapacity] = MmioWrite{static_cast<uint32_t>(offset), value};
  // Publishes the entry: the model's acquire load of log_tail sees it whole.
  std::atomic_ref<uint32_t>(log_->log_tail).store(tail + 1, std::memory_order_release);
  log_tail_ = tail + 1;
}

uint32_t EmulatedUio::read_through_log(size_t offset) const {
  if (load_index(log_->log_head) != log_tail_) {
    // A read flushes posted writes: lazy ones included, hence the kick.
    doorbell_.signal();
    if (!wait_for_model([&] { return load_index(log_->log_head) == log_tail_; })) ++model_timeouts_;
  }
  if (is_read_to_clear(offset)) return exchange_register(bar_.data(), offset, 0);
  return load_register(bar_.data(), offset);
}

}  // namespace uldd::uio
