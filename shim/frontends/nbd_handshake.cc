#include "shim/frontends/nbd_handshake.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "shim/frontends/nbd_protocol.h"
#include "shim/frontends/socket_io.h"

namespace uldd::shim {
namespace {

using namespace nbd;  // NOLINT(google-build-using-namespace): wire constants

// No option we implement carries more than a name (<= 4096 bytes by the
// spec's string rule) and a short list; anything larger is not worth reading.
constexpr uint32_t kMaxOptionData = 64 * 1024;

class Negotiation {
 public:
  Negotiation(int fd, const NbdExport& exp) : fd_(fd), exp_(exp) {}

  NbdHandshakeResult run() {
    const ServerGreeting greeting{be(kNbdMagic), be(kIHaveOpt),
                                  be<uint16_t>(kFlagFixedNewstyle | kFlagNoZeroes)};
    if (!write_struct(fd_, greeting)) return NbdHandshakeResult::kClosed;
    uint32_t client_flags = 0;
    if (!read_struct(fd_, client_flags)) return NbdHandshakeResult::kClosed;
    client_flags = from_be(client_flags);
    // "Client flags": the server MUST drop the connection on unknown bits.
    if ((client_flags & ~(kClientFlagFixedNewstyle | kClientFlagNoZeroes)) != 0) {
      spdlog::warn("nbd: client sent unknown flags {:#x}; closing", client_flags);
      return NbdHandshakeResult::kClosed;
    }
    no_zeroes_ = (client_flags & kClientFlagNoZeroes) != 0;

    for (;;) {
      OptionHeader header{};
      if (!read_struct(fd_, header)) return NbdHandshakeResult::kClosed;
      if (from_be(header.magic) != kIHaveOpt) {
        spdlog::warn("nbd: bad option magic; closing");
        return NbdHandshakeResult::kClosed;
      }
      const uint32_t option = from_be(header.option);
      const uint32_t length = from_be(header.length);
      if (length > kMaxOptionData) {
        spdlog::warn("nbd: option {} with {} bytes of data; closing", option, length);
        return NbdHandshakeResult::kClosed;
      }
      std::vector<std::byte> data(length);
      if (!read_full(fd_, data)) return NbdHandshakeResult::kClosed;

      std::optional<NbdHandshakeResult> outcome = handle(option, data);
      if (outcome) return *outcome;
    }
  }

 private:
  // Returns a result when negotiation ends with this option.
  std::optional<NbdHandshakeResult> handle(uint32_t option, std::span<const std::byte> data) {
    bool sent = true;
    switch (option) {
      case kOptExportName: {
        // No error reply exists for this option: an unknown name ends the
        // session ("NBD_OPT_EXPORT_NAME").
        if (!matches(as_string(data))) return NbdHandshakeResult::kClosed;
        const ExportNameReply reply{be(exp_.size), be(exp_.transmission_flags)};
        const std::array<std::byte, kExportNameZeroPad> zeroes{};
        if (!write_struct(fd_, reply)) return NbdHandshakeResult::kClosed;
        if (!no_zeroes_ && !write_full(fd_, zeroes)) return NbdHandshakeResult::kClosed;
        return NbdHandshakeResult::kTransmission;
      }
      case kOptAbort:
        (void)send(option, kRepAck, {});
        return NbdHandshakeResult::kClosed;
      case kOptList:
        if (!data.empty()) {
          sent = send_error(option, kRepErrInvalid, "NBD_OPT_LIST takes no data");
        } else {
          std::vector<std::byte> server(4 + exp_.name.size());
          const uint32_t name_len = be<uint32_t>(exp_.name.size());
          std::memcpy(server.data(), &name_len, 4);
          std::memcpy(server.data() + 4, exp_.name.data(), exp_.name.size());
          sent = send(option, kRepServer, server) && send(option, kRepAck, {});
        }
        break;
      case kOptInfo:
      case kOptGo: {
        std::optional<bool> go = info_or_go(option, data);
        if (!go) return NbdHandshakeResult::kClosed;
        if (*go) return NbdHandshakeResult::kTransmission;
        break;
      }
      default:
        // Includes NBD_OPT_STRUCTURED_REPLY (we only send simple replies),
        // NBD_OPT_STARTTLS and the metadata-context options.
        sent = send_error(option, kRepErrUnsup, "option not supported by uldd");
        break;
    }
    if (!sent) return NbdHandshakeResult::kClosed;
    return std::nullopt;
  }

  // NBD_OPT_INFO / NBD_OPT_GO. Data: 32 bits name length, name, 16 bits
  // number of information requests, that many 16-bit info types. Returns
  // true to enter transmission, false to keep negotiating, nullopt on a
  // dead socket.
  std::optional<bool> info_or_go(uint32_t option, std::span<const std::byte> data) {
    auto fail = [&](uint32_t type, const char* why) -> std::optional<bool> {
      if (!send_error(option, type, why)) return std::nullopt;
      return false;
    };
    if (data.size() < 6) return fail(kRepErrInvalid, "option data too short");
    uint32_t name_len = 0;
    std::memcpy(&name_len, data.data(), 4);
    name_len = from_be(name_len);
    if (name_len > data.size() - 6) return fail(kRepErrInvalid, "name length beyond option data");
    const std::string name = as_string(data.subspan(4, name_len));
    uint16_t count = 0;
    std::memcpy(&count, data.data() + 4 + name_len, 2);
    count = from_be(count);
    if (data.size() != 6 + name_len + 2 * uint64_t{count}) {
      return fail(kRepErrInvalid, "information request count does not match length");
    }
    bool want_name = false;
    for (uint16_t i = 0; i < count; ++i) {
      uint16_t type = 0;
      std::memcpy(&type, data.data() + 6 + name_len + 2 * i, 2);
      if (from_be(type) == kInfoName) want_name = true;
    }
    if (!matches(name)) return fail(kRepErrUnknown, "no such export");

    // NBD_INFO_EXPORT is mandatory. Block sizes are sent unasked: the spec
    // lets a server supply them regardless, and clients that do honour them
    // (libnbd, qemu) then send aligned requests; those that don't are still
    // served (unaligned requests go through AlignedIo).
    const InfoExportData info{be<uint16_t>(kInfoExport), be(exp_.size),
                              be(exp_.transmission_flags)};
    const InfoBlockSizeData sizes{be<uint16_t>(kInfoBlockSize), be(exp_.min_block),
                                  be(exp_.preferred_block), be(exp_.max_block)};
    bool ok = send(option, kRepInfo, std::as_bytes(std::span(&info, 1))) &&
              send(option, kRepInfo, std::as_bytes(std::span(&sizes, 1)));
    if (ok && want_name) {
      std::vector<std::byte> reply(2 + exp_.name.size());
      const uint16_t type = be<uint16_t>(kInfoName);
      std::memcpy(reply.data(), &type, 2);
      std::memcpy(reply.data() + 2, exp_.name.data(), exp_.name.size());
      ok = send(option, kRepInfo, reply);
    }
    ok = ok && send(option, kRepAck, {});
    if (!ok) return std::nullopt;
    return option == kOptGo;
  }

  // The empty name selects the default export, which is our only one.
  bool matches(const std::string& name) const { return name.empty() || name == exp_.name; }

  static std::string as_string(std::span<const std::byte> data) {
    return {reinterpret_cast<const char*>(data.data()), data.size()};
  }

  bool send(uint32_t option, uint32_t type, std::span<const std::byte> payload) {
    OptionReplyHeader header{be(kOptReplyMagic), be(option), be(type),
                             be<uint32_t>(payload.size())};
    iovec iov[2] = {{&header, sizeof(header)},
                    {const_cast<std::byte*>(payload.data()), payload.size()}};
    return write_full(fd_, iov).ok();
  }

  bool send_error(uint32_t option, uint32_t type, std::string_view message) {
    return send(option, type, std::as_bytes(std::span(message.data(), message.size())));
  }

  const int fd_;
  const NbdExport& exp_;
  bool no_zeroes_ = false;
};

}  // namespace

NbdHandshakeResult run_nbd_handshake(int fd, const NbdExport& exp) {
  return Negotiation(fd, exp).run();
}

}  // namespace uldd::shim
