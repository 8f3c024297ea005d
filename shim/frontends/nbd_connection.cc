#include "shim/frontends/nbd_connection.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <span>

#include "shim/frontends/nbd_protocol.h"
#include "shim/frontends/socket_io.h"

namespace uldd::shim {

using namespace nbd;  // NOLINT(google-build-using-namespace): wire constants

namespace {

// Any device failure is an I/O error to the client. kInvalid included: the
// request passed our own range checks, so a refusal further down is the
// device's problem, not the client's.
uint32_t wire_error(abi::BlockStatus status) {
  return status == abi::BlockStatus::kOk ? kOk : kEio;
}

}  // namespace

NbdConnection::NbdConnection(AlignedIo& io, const NbdExport& exp, UniqueFd fd)
    : io_(io), exp_(exp), fd_(std::move(fd)) {}

NbdConnection::~NbdConnection() {
  close();
  join();
}

void NbdConnection::start() {
  reader_ = std::thread([this] { run(); });
}

void NbdConnection::close() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  budget_cv_.notify_all();
  // Wakes the reader out of read(); the fd itself stays open (and its number
  // reserved) until the destructor, so this never races with a reuse.
  ::shutdown(fd_.get(), SHUT_RDWR);
}

void NbdConnection::join() {
  if (reader_.joinable()) reader_.join();
}

void NbdConnection::run() {
  if (run_nbd_handshake(fd_.get(), exp_) == NbdHandshakeResult::kTransmission) {
    writer_ = std::thread([this] { write_replies(); });
    serve();
    // Every submitted request completes and gets its reply (or is dropped
    // if the socket is dead) before the writer goes.
    {
      std::unique_lock lock(mutex_);
      budget_cv_.wait(lock, [this] { return in_flight_ == 0; });
      writer_exit_ = true;
    }
    writer_cv_.notify_all();
    writer_.join();
  }
  // The client sees end of stream now, not when the server reaps us.
  ::shutdown(fd_.get(), SHUT_RDWR);
  finished_ = true;
}

bool NbdConnection::in_range(uint64_t offset, uint64_t length) const {
  return length <= kMaxPayload && offset <= exp_.size && length <= exp_.size - offset;
}

void NbdConnection::serve() {
  BlockClient& client = io_.client();
  for (;;) {
    Request request{};
    if (!read_struct(fd_.get(), request)) return;  // closed, DISC-less exit or close()
    if (from_be(request.magic) != kRequestMagic) {
      // Framing is lost: nothing after this can be trusted ("Transmission").
      spdlog::warn("nbd {}: bad request magic {:#x}; dropping connection", exp_.name,
                   from_be(request.magic));
      return;
    }
    const uint16_t type = from_be(request.type);
    const uint64_t offset = from_be(request.offset);
    const uint32_t length = from_be(request.length);
    const uint64_t cookie = request.cookie;

    switch (type) {
      case kCmdRead: {
        if (!in_range(offset, length)) {
          reply_now(cookie, kEinval);
          break;
        }
        reserve(length);
        auto reply = std::make_shared<Reply>();
        reply->cookie = cookie;
        reply->with_data = true;
        reply->data = std::make_unique_for_overwrite<std::byte[]>(length);
        reply->length = length;
        reply->budget = length;
        std::span<std::byte> dest(reply->data.get(), length);
        if (io_.is_aligned(offset, length)) {
          client.read(offset, dest, [this, reply](abi::BlockStatus s) { complete(reply, s); });
        } else {
          // Rare (clients honour the advertised 512-byte minimum); the
          // read-modify-write path is synchronous, on this reader thread.
          complete(reply, io_.read(offset, dest));
        }
        break;
      }
      case kCmdWrite: {
        if (length > kMaxPayload) {
          // Stay in sync with the stream: drop the payload, then refuse.
          if (!discard(fd_.get(), length)) return;
          reply_now(cookie, kEinval);
          break;
        }
        reserve(length);
        auto reply = std::make_shared<Reply>();
        reply->cookie = cookie;
        reply->data = std::make_unique_for_overwrite<std::byte[]>(length);
        reply->budget = length;
        std::span<std::byte> data(reply->data.get(), length);
        if (!read_full(fd_.get(), data)) {
          release(length);  // never submitted, never answered
          return;
        }
        if (!in_range(offset, length)) {
          reply->error = kEinval;
          enqueue(std::move(*reply));
        } else if (io_.is_aligned(offset, length)) {
          client.write(offset, data, [this, reply](abi::BlockStatus s) { complete(reply, s); });
        } else {
          complete(reply, io_.write(offset, data));
        }
        break;
      }
      case kCmdFlush: {
        reserve(0);
        auto reply = std::make_shared<Reply>();
        reply->cookie = cookie;
        client.flush([this, reply](abi::BlockStatus s) { complete(reply, s); });
        break;
      }
      case kCmdTrim:
        // Advisory by the spec (the client may assume nothing about trimmed
        // contents), so a checked no-op is a correct implementation.
        reply_now(cookie, in_range(offset, length) ? kOk : kEinval);
        break;
      case kCmdDisc:
        return;
      default:
        reply_now(cookie, kEinval);
        break;
    }
  }
}

void NbdConnection::reserve(uint64_t bytes) {
  std::unique_lock lock(mutex_);
  budget_cv_.wait(lock, [&] {
    return closing_ || (in_flight_ < kMaxInFlight &&
                        (in_flight_ == 0 || in_flight_bytes_ + bytes <= kMaxInFlightBytes));
  });
  ++in_flight_;
  in_flight_bytes_ += bytes;
}

void NbdConnection::release(uint64_t bytes) {
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
    in_flight_bytes_ -= bytes;
  }
  budget_cv_.notify_all();
}

void NbdConnection::reply_now(uint64_t cookie, uint32_t error) {
  reserve(0);
  Reply reply;
  reply.cookie = cookie;
  reply.error = error;
  enqueue(std::move(reply));
}

void NbdConnection::complete(const std::shared_ptr<Reply>& reply, abi::BlockStatus status) {
  reply->error = wire_error(status);
  enqueue(std::move(*reply));
}

void NbdConnection::enqueue(Reply reply) {
  // Notify under the lock: once the writer can see the reply, the connection
  // may wind down and be destroyed, condition variable included, so the shim
  // thread must be done with it before releasing the mutex.
  std::lock_guard lock(mutex_);
  replies_.push_back(std::move(reply));
  writer_cv_.notify_one();
}

void NbdConnection::write_replies() {
  std::unique_lock lock(mutex_);
  for (;;) {
    writer_cv_.wait(lock, [this] { return !replies_.empty() || writer_exit_; });
    if (replies_.empty()) return;  // exit only once drained
    Reply reply = std::move(replies_.front());
    replies_.pop_front();
    lock.unlock();

    if (!broken_) {
      SimpleReply header{be(kSimpleReplyMagic), be(reply.error), reply.cookie};
      iovec iov[2] = {{&header, sizeof(header)}, {reply.data.get(), reply.length}};
      const bool data = reply.with_data && reply.error == kOk;
      if (!write_full(fd_.get(), std::span(iov, data ? 2 : 1))) {
        // The client is gone; stop the reader too. Later replies are dropped
        // but still accounted, so the connection can wind down.
        broken_ = true;
        ::shutdown(fd_.get(), SHUT_RDWR);
      }
    }
    reply.data.reset();

    release(reply.budget);
    lock.lock();
  }
}

}  // namespace uldd::shim
