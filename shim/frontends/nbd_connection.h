// NbdConnection: one NBD client, from handshake to close. Requests are
// pipelined: the connection's reader thread decodes a request and submits it
// to the BlockClient without waiting; the completion (on the shim's thread)
// only queues the reply; a writer thread of the connection sends replies in
// completion order. So a slow or stalled client can never block the shim's
// thread, and a slow device does not stop the connection from reading ahead.
//
// Memory is bounded per connection: the reader stops taking requests while
// kMaxInFlight requests or kMaxInFlightBytes of buffers are between
// submission and reply sent, which pushes back on the client through its
// socket.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "abi/block_descriptor.h"
#include "common/unique_fd.h"
#include "shim/frontends/aligned_io.h"
#include "shim/frontends/nbd_handshake.h"

namespace uldd::shim {

class NbdConnection {
 public:
  static constexpr uint32_t kMaxInFlight = 128;
  static constexpr uint64_t kMaxInFlightBytes = 128u << 20;

  // `io` and `exp` must outlive the connection.
  NbdConnection(AlignedIo& io, const NbdExport& exp, UniqueFd fd);
  ~NbdConnection();
  NbdConnection(const NbdConnection&) = delete;
  NbdConnection& operator=(const NbdConnection&) = delete;

  // Starts the reader thread (handshake, then transmission).
  void start();
  // Asks the connection to end: unblocks its socket. Requests already handed
  // to the BlockClient still complete before the threads exit.
  void close();
  // True once the threads are done; join() then returns at once.
  bool finished() const { return finished_.load(); }
  void join();

 private:
  struct Reply {
    uint64_t cookie = 0;  // wire bytes, echoed unchanged
    uint32_t error = 0;   // NBD wire errno
    bool with_data = false;
    std::unique_ptr<std::byte[]> data;  // read payload, or write data kept alive
    uint32_t length = 0;
    uint64_t budget = 0;  // bytes counted against kMaxInFlightBytes
  };

  void run();
  void serve();
  void write_replies();

  // Waits until a request of `bytes` fits in the in-flight budget.
  void reserve(uint64_t bytes);
  // Gives back what reserve() took, once the request's reply is sent.
  void release(uint64_t bytes);
  // Queues a reply for the writer; never blocks (runs on the shim's thread).
  void enqueue(Reply reply);
  void complete(const std::shared_ptr<Reply>& reply, abi::BlockStatus status);
  void reply_now(uint64_t cookie, uint32_t error);
  bool in_range(uint64_t offset, uint64_t length) const;

  AlignedIo& io_;
  const NbdExport& exp_;
  UniqueFd fd_;  // closed only by the destructor, after the threads are joined

  std::mutex mutex_;
  std::condition_variable budget_cv_;  // reader: room in the budget; end: drained
  std::condition_variable writer_cv_;  // writer: replies queued or exit
  std::deque<Reply> replies_;
  uint32_t in_flight_ = 0;
  uint64_t in_flight_bytes_ = 0;
  bool closing_ = false;
  bool writer_exit_ = false;
  std::atomic<bool> broken_{false};  // a reply could not be sent
  std::atomic<bool> finished_{false};

  std::thread reader_;
  std::thread writer_;
};

}  // namespace uldd::shim
