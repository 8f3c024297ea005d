// FdWire: a Wire over a descriptor that moves one frame per read()/write():
// a TAP device opened with IFF_TAP|IFF_NO_PI, an AF_PACKET socket, or one end
// of a SOCK_SEQPACKET/SOCK_DGRAM socketpair (unit tests). The fd is put in
// non-blocking mode, so the model's event loop never stalls on the wire.
#pragma once

#include "common/unique_fd.h"
#include "devices/e1000/wire.h"

namespace uldd::e1000 {

class FdWire final : public Wire {
 public:
  static Result<FdWire> adopt(UniqueFd fd);

  int fd() const override { return fd_.get(); }
  Result<size_t> receive(std::span<std::byte> buffer) override;
  Status send(std::span<const std::byte> frame) override;

 private:
  explicit FdWire(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace uldd::e1000
