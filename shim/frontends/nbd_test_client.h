// NbdTestClient: a deliberately hand-written NBD client for the NBD server's
// unit tests, so the server is checked against the protocol text (via
// nbd_protocol.h) rather than against another implementation's quirks.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "shim/frontends/nbd_protocol.h"
#include "shim/frontends/socket_io.h"

namespace uldd::shim::testing {

class NbdTestClient {
 public:
  struct OptionReply {
    uint32_t option = 0;
    uint32_t type = 0;
    std::vector<std::byte> data;
  };
  struct Reply {
    uint32_t error = 0;
    uint64_t cookie = 0;
  };

  // Connects and reads the server greeting (checked).
  explicit NbdTestClient(const std::string& path) {
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    connected_ = ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval tv{10, 0};  // a test must fail, not hang, if the server goes quiet
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (!connected_) return;
    nbd::ServerGreeting g{};
    connected_ = read_struct(fd_.get(), g).ok();
    greeting_ok_ =
        connected_ && nbd::from_be(g.nbd_magic) == nbd::kNbdMagic &&
        nbd::from_be(g.ihaveopt) == nbd::kIHaveOpt &&
        nbd::from_be(g.handshake_flags) == (nbd::kFlagFixedNewstyle | nbd::kFlagNoZeroes);
  }

  bool connected() const { return connected_; }
  bool greeting_ok() const { return greeting_ok_; }
  int fd() const { return fd_.get(); }

  bool send_client_flags(uint32_t flags) { return write_struct(fd(), nbd::be(flags)).ok(); }

  bool send_option(uint32_t option, const std::vector<std::byte>& data,
                   uint64_t magic = nbd::kIHaveOpt) {
    nbd::OptionHeader h{nbd::be(magic), nbd::be(option), nbd::be<uint32_t>(data.size())};
    Status s = write_struct(fd(), h);
    if (s.ok()) s = write_full(fd(), data);
    if (!s.ok()) ADD_FAILURE() << "send_option(" << option << "): " << s.error().describe();
    return s.ok();
  }

  std::optional<OptionReply> read_option_reply() {
    nbd::OptionReplyHeader h{};
    if (!read_struct(fd(), h)) return std::nullopt;
    EXPECT_EQ(nbd::from_be(h.magic), nbd::kOptReplyMagic);
    OptionReply r;
    r.option = nbd::from_be(h.option);
    r.type = nbd::from_be(h.reply_type);
    r.data.resize(nbd::from_be(h.length));
    if (!read_full(fd(), r.data)) return std::nullopt;
    return r;
  }

  static std::vector<std::byte> info_request(const std::string& name,
                                             const std::vector<uint16_t>& infos) {
    std::vector<std::byte> d(4 + name.size() + 2 + 2 * infos.size());
    const uint32_t len = nbd::be<uint32_t>(name.size());
    std::memcpy(d.data(), &len, 4);
    std::memcpy(d.data() + 4, name.data(), name.size());
    const uint16_t n = nbd::be<uint16_t>(infos.size());
    std::memcpy(d.data() + 4 + name.size(), &n, 2);
    for (size_t i = 0; i < infos.size(); ++i) {
      const uint16_t t = nbd::be(infos[i]);
      std::memcpy(d.data() + 6 + name.size() + 2 * i, &t, 2);
    }
    return d;
  }

  // Reads option replies up to and including the final ACK or error.
  std::vector<OptionReply> read_until_final() {
    std::vector<OptionReply> out;
    for (;;) {
      auto r = read_option_reply();
      if (!r) return out;
      out.push_back(*r);
      if (r->type != nbd::kRepInfo && r->type != nbd::kRepServer) return out;
    }
  }

  // Full fixed-newstyle handshake ending in NBD_OPT_GO; true on ACK.
  bool handshake(const std::string& name) {
    if (!greeting_ok_ ||
        !send_client_flags(nbd::kClientFlagFixedNewstyle | nbd::kClientFlagNoZeroes))
      return false;
    if (!send_option(nbd::kOptGo, info_request(name, {nbd::kInfoBlockSize}))) return false;
    auto replies = read_until_final();
    return !replies.empty() && replies.back().type == nbd::kRepAck;
  }

  bool send_request(uint16_t type, uint64_t cookie, uint64_t offset, uint32_t length,
                    std::span<const std::byte> payload = {}, uint32_t magic = nbd::kRequestMagic) {
    nbd::Request r{nbd::be(magic), 0, nbd::be(type), cookie, nbd::be(offset), nbd::be(length)};
    return write_struct(fd(), r).ok() && write_full(fd(), payload).ok();
  }

  std::optional<Reply> read_reply() {
    nbd::SimpleReply r{};
    if (!read_struct(fd(), r)) return std::nullopt;
    EXPECT_EQ(nbd::from_be(r.magic), nbd::kSimpleReplyMagic);
    return Reply{nbd::from_be(r.error), r.cookie};
  }

  bool read_data(std::span<std::byte> out) { return read_full(fd(), out).ok(); }

  // True when the server closed the connection (EOF, not a timeout).
  bool at_eof() {
    std::byte b{};
    return ::recv(fd(), &b, 1, 0) == 0;
  }

 private:
  UniqueFd fd_;
  bool connected_ = false;
  bool greeting_ok_ = false;
};

}  // namespace uldd::shim::testing
