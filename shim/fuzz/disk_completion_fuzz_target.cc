// Fuzz target: everything a disk driver can write into its ring region, fed
// to a real DiskShim through a real RingDriverPort.
//
// The fuzzer plays the driver. Some requests are issued through the shim's
// BlockClient side; then the input picks, step by step, what the "driver"
// does: serve the next request honestly, post a mutated or made-up
// completion, post one twice, scribble on a ring index (completion tail,
// request head, the wake-up flags), or die and be restarted (hold + restart
// in any ResendMode, as the supervisor does). When the input runs out the
// driver turns honest and serves what is left; then the shim is stopped.
//
// What must hold, whatever the driver wrote (abort() otherwise, which the
// fuzzer reports as a crash):
//   - every request's completion callback runs exactly once;
//   - the source buffer of a write is never written;
//   - no byte outside the shim's own buffers is touched (ASan);
//   - a run with no hostile step completes every request kOk, and every read
//     returns exactly the disk's bytes (reads and writes use disjoint halves
//     of the disk, so in-flight order cannot matter).
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "abi/ring_region.h"
#include "common/event_fd.h"
#include "shim/disk_shim.h"
#include "shim/fuzz/byte_reader.h"
#include "shim/ring_driver_port.h"

namespace {

using uldd::abi::BlockDescriptor;
using uldd::abi::BlockOp;
using uldd::abi::BlockStatus;

constexpr uint32_t kRingCapacity = 8;
constexpr uint32_t kMaxTransfer = 4096;
constexpr uint32_t kBuffers = 4;
constexpr uint64_t kBufferAreaIova = 4096;
constexpr uint64_t kDiskBytes = 64 * 1024;
constexpr uint64_t kHalf = kDiskBytes / 2;  // writes below, reads above

[[noreturn]] void invariant_broken(const char* what) {
  std::fprintf(stderr, "disk_completion_fuzz: invariant broken: %s\n", what);
  std::abort();
}

std::byte disk_byte(uint64_t offset) {
  return static_cast<std::byte>((offset * 131 + 7) & 0xff);
}

struct Issued {
  BlockOp op;
  uint64_t offset;
  std::vector<std::byte> data;      // write: source (must stay unchanged); read: destination
  std::vector<std::byte> original;  // write: a copy of the source
  std::atomic<int> completions{0};
  std::atomic<uint16_t> status{0};
};

// The "driver": the consumer of the request ring and producer of the
// completion ring, with its own view of both index lines.
class FuzzDriver {
 public:
  FuzzDriver(const uldd::abi::RingRegionView& view, std::vector<std::byte>& dma,
             std::vector<std::byte>& disk)
      : view_(view), dma_(dma), disk_(disk) {
    reattach();
  }
  // After a restart the shim reset both rings to empty: start over.
  void reattach() {
    requests_ = uldd::abi::SpscConsumer<BlockDescriptor>(view_.request_indices(),
                                                         view_.request_slots(), kRingCapacity, 0);
    completions_ = uldd::abi::SpscProducer<BlockDescriptor>(
        view_.completion_indices(), view_.completion_slots(), kRingCapacity, 0);
  }

  // Takes the next request and serves it as a correct driver would. False if
  // none is ready (or the shim's tail is impossible: a driver would stop).
  bool serve_one() {
    if (requests_.available() == 0) return false;
    BlockDescriptor d = requests_.peek(0);
    requests_.release(1);
    // An honest driver still checks what the shim sent before DMA.
    bool in_range = d.iova >= kBufferAreaIova && d.len <= kMaxTransfer &&
                    d.iova + d.len <= dma_.size() && d.lba * 512 + d.len <= disk_.size();
    if (in_range && d.op == static_cast<uint16_t>(BlockOp::kRead))
      std::memcpy(dma_.data() + d.iova, disk_.data() + d.lba * 512, d.len);
    if (in_range && d.op == static_cast<uint16_t>(BlockOp::kWrite))
      std::memcpy(disk_.data() + d.lba * 512, dma_.data() + d.iova, d.len);
    d.status = static_cast<uint16_t>(in_range ? BlockStatus::kOk : BlockStatus::kInvalid);
    d.flags = 0;
    last_ = d;
    post(d);
    return true;
  }

  void post(const BlockDescriptor& d) {
    if (completions_.free_slots() == 0) return;  // a full ring: the shim is behind
    completions_.stage(0, d);
    completions_.publish(1);
  }

  const BlockDescriptor& last() const { return last_; }
  uint32_t requests_ready() const { return requests_.available(); }

 private:
  const uldd::abi::RingRegionView& view_;
  std::vector<std::byte>& dma_;
  std::vector<std::byte>& disk_;
  uldd::abi::SpscConsumer<BlockDescriptor> requests_;
  uldd::abi::SpscProducer<BlockDescriptor> completions_;
  BlockDescriptor last_{};
};

// A ring region in ordinary (ASan-checked) memory, laid out as the
// supervisor lays out the memfd.
struct RingMemory {
  RingMemory() {
    uldd::abi::RingRegionHeader h = uldd::abi::ring_region_layout(kRingCapacity);
    bytes = static_cast<std::byte*>(std::aligned_alloc(4096, h.region_size));
    std::memset(bytes, 0, h.region_size);
    std::memcpy(bytes, &h, sizeof h);
    view = uldd::abi::RingRegionView{bytes, h};
  }
  ~RingMemory() { std::free(bytes); }
  std::byte* bytes;
  uldd::abi::RingRegionView view{};
};

void scribble_index(const uldd::abi::RingRegionView& view, uldd::fuzz::ByteReader& in) {
  uint32_t value = in.u32();
  switch (in.u8() % 5) {
    case 0:
      uldd::abi::ring_detail::store(view.completion_indices()->producer.tail, value,
                                    std::memory_order_release);
      break;
    case 1:
      uldd::abi::ring_detail::store(view.request_indices()->consumer.head, value,
                                    std::memory_order_release);
      break;
    case 2:
      uldd::abi::ring_detail::store(view.request_indices()->consumer.consumer_needs_wakeup, value,
                                    std::memory_order_release);
      break;
    case 3:
      uldd::abi::ring_detail::store(view.completion_indices()->producer.producer_needs_wakeup,
                                    value, std::memory_order_release);
      break;
    default: {  // a slot the shim has not been told about
      BlockDescriptor junk;
      in.bytes(&junk, sizeof junk);
      std::memcpy(&view.completion_slots()[value % kRingCapacity], &junk, sizeof junk);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = [] {
    spdlog::set_level(spdlog::level::off);  // the shim logs every refused completion
    return true;
  }();
  (void)quiet;
  uldd::fuzz::ByteReader in(data, size);

  std::vector<std::byte> dma(kBufferAreaIova + kBuffers * kMaxTransfer);
  std::vector<std::byte> disk(kDiskBytes);
  for (uint64_t i = 0; i < kDiskBytes; ++i) disk[i] = disk_byte(i);
  RingMemory ring;
  auto driver_wake = uldd::EventFd::create();
  auto shim_wake = uldd::EventFd::create();
  if (!driver_wake || !shim_wake) return 0;

  std::atomic<int> faults{0};
  uldd::shim::DiskShimOptions o;
  o.device_name = "fuzz0";
  o.size_bytes = kDiskBytes;
  o.max_transfer = kMaxTransfer;
  o.buffer_area = dma.data() + kBufferAreaIova;
  o.buffer_area_iova = kBufferAreaIova;
  o.buffer_count = kBuffers;
  o.on_driver_fault = [&](const std::string&) { faults.fetch_add(1); };
  uldd::shim::DiskShim shim(
      o, std::make_unique<uldd::shim::RingDriverPort>(ring.view, *driver_wake, *shim_wake));
  if (!shim.start().ok()) return 0;
  FuzzDriver driver(ring.view, dma, disk);

  // Requests: writes in the lower half of the disk, reads in the upper half.
  std::vector<std::unique_ptr<Issued>> issued;
  const int count = 1 + in.u8() % 6;
  for (int i = 0; i < count; ++i) {
    auto r = std::make_unique<Issued>();
    r->op = (in.u8() & 1) ? BlockOp::kWrite : BlockOp::kRead;
    uint64_t len = 512 * (1 + in.u8() % 16);  // up to 8 KiB: split into two transfers
    uint64_t sector = in.u16() % ((kHalf - len) / 512 + 1);
    r->offset = sector * 512 + (r->op == BlockOp::kRead ? kHalf : 0);
    r->data.resize(len);
    for (uint64_t b = 0; b < len; ++b) r->data[b] = static_cast<std::byte>(i * 37 + b);
    if (r->op == BlockOp::kRead) std::memset(r->data.data(), 0xee, len);
    r->original = r->data;
    Issued* raw = r.get();
    auto done = [raw](BlockStatus s) {
      raw->status.store(static_cast<uint16_t>(s));
      raw->completions.fetch_add(1);
    };
    if (r->op == BlockOp::kWrite)
      shim.write(r->offset, r->data, done);
    else
      shim.read(r->offset, r->data, done);
    issued.push_back(std::move(r));
  }
  auto all_done = [&] {
    for (auto& r : issued)
      if (r->completions.load() == 0) return false;
    return true;
  };

  // The driver's steps, chosen by the input; honest once it runs out.
  bool hostile = false;
  int seen_faults = 0;
  // Bounded by steps and by time; an honest run needs a dozen serves, so the
  // 10 s are for a loaded machine, never reached by a working shim.
  const auto honest_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int step = 0; !all_done(); ++step) {
    if (step >= 20000 || std::chrono::steady_clock::now() > honest_deadline) break;
    uint8_t action = in.empty() ? 0 : in.u8() % 12;
    const bool serves = action < 6 || action == 11;
    if (serves && driver.requests_ready() == 0)  // only serving needs the shim to have issued
      (void)driver_wake->wait_for(std::chrono::microseconds(500));
    switch (action) {
      case 6: {  // a served completion with some bytes changed
        BlockDescriptor d = driver.last();
        auto* b = reinterpret_cast<uint8_t*>(&d);
        b[in.u8() % sizeof d] ^= static_cast<uint8_t>(in.u8() | 1);
        driver.post(d);
        hostile = true;
        break;
      }
      case 7: {  // a completion made of input bytes
        BlockDescriptor d;
        in.bytes(&d, sizeof d);
        driver.post(d);
        hostile = true;
        break;
      }
      case 8:  // the same completion twice
        driver.post(driver.last());
        hostile = true;
        break;
      case 9:
        scribble_index(ring.view, in);
        hostile = true;
        break;
      case 10: {  // the driver dies; the supervisor restarts it
        shim.hold();
        auto mode = static_cast<uldd::shim::ResendMode>(in.u8() % 3);
        if (!shim.restart(mode)) invariant_broken("restart() failed");
        if (mode == uldd::shim::ResendMode::kFail) shim.release_quarantine();
        driver.reattach();
        hostile = true;
        break;
      }
      default:
        driver.serve_one();
    }
    shim_wake->signal();
    // A reported violation is answered as the supervisor would: restart.
    if (faults.load() != seen_faults) {
      seen_faults = faults.load();
      shim.hold();
      if (!shim.restart(uldd::shim::ResendMode::kReissue)) invariant_broken("restart() failed");
      driver.reattach();
    }
  }
  const bool finished = all_done();
  shim.stop();

  for (auto& r : issued) {
    if (r->completions.load() != 1) invariant_broken("a request completed other than once");
    if (r->op == BlockOp::kWrite && r->data != r->original)
      invariant_broken("a write's source buffer was written");
  }
  if (!hostile && !finished) invariant_broken("honest run left requests open");
  if (!hostile) {
    for (auto& r : issued) {
      if (r->status.load() != static_cast<uint16_t>(BlockStatus::kOk))
        invariant_broken("honest run: a request failed");
      if (r->op != BlockOp::kRead) continue;
      for (size_t b = 0; b < r->data.size(); ++b)
        if (r->data[b] != disk_byte(r->offset + b)) invariant_broken("honest run: read data wrong");
    }
  }
  return 0;
}
