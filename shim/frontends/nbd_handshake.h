// NBD fixed newstyle negotiation, server side: greets a new connection and
// answers its options until the client picks our export (NBD_OPT_GO or
// NBD_OPT_EXPORT_NAME) or leaves. Kept apart from the transmission phase
// because it is strictly sequential and has its own error replies
// (NBD_REP_ERR_*) instead of per-request errno values.
#pragma once

#include <cstdint>
#include <string>

namespace uldd::shim {

// What the server tells clients about its one export.
struct NbdExport {
  std::string name;
  uint64_t size = 0;
  uint16_t transmission_flags = 0;
  uint32_t min_block = 512;
  uint32_t preferred_block = 4096;
  uint32_t max_block = 32u << 20;
};

enum class NbdHandshakeResult {
  kTransmission,  // the client selected the export: requests follow
  kClosed,        // the client aborted, misbehaved or went away
};

// Runs the whole negotiation on a connected socket (blocking).
NbdHandshakeResult run_nbd_handshake(int fd, const NbdExport& exp);

}  // namespace uldd::shim
