// NbdServer: exposes a disk shim's BlockClient to standard NBD clients
// (nbdinfo, nbdcopy, qemu-img, nbd-client/the kernel's nbd driver) over a
// unix socket, e.g. nbd+unix:///disk0?socket=/run/uldd/disk0.nbd.
//
// Protocol subset (see nbd_protocol.h): fixed newstyle handshake with
// NBD_OPT_GO, NBD_OPT_INFO, NBD_OPT_EXPORT_NAME, NBD_OPT_LIST and
// NBD_OPT_ABORT; everything else, structured replies included, gets
// NBD_REP_ERR_UNSUP. Transmission: READ, WRITE, FLUSH, TRIM (checked no-op),
// DISC, with simple replies only. Advertised: HAS_FLAGS, SEND_FLUSH,
// SEND_TRIM, CAN_MULTI_CONN; block sizes 512 / 4096 / 32 MiB.
//
// CAN_MULTI_CONN is correct because there is no per-connection cache: a reply
// to a write is sent only after the BlockClient acknowledged it, and
// BlockClient::flush covers every acknowledged write whichever connection
// (or frontend) issued it.
//
// Unaligned requests (from clients that ignore or never asked for the
// advertised 512-byte minimum, which the spec allows when no block size was
// negotiated) are served through AlignedIo rather than refused; out-of-range
// requests get NBD_EINVAL; a request with a bad magic drops the connection.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/event_fd.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "shim/block_client.h"
#include "shim/frontends/aligned_io.h"
#include "shim/frontends/nbd_handshake.h"

namespace uldd::shim {

class NbdConnection;

class NbdServer {
 public:
  // Listens on `socket` (a stale socket file from a dead server is replaced;
  // a live one is an error) and serves the export `export_name`; the empty
  // name (the NBD default export) selects it too.
  // With `adopted_listener` (a listening socket kept in the fd store across a
  // supervisor restart, bound to `socket`): serves on it instead of binding.
  static Result<std::unique_ptr<NbdServer>> start(BlockClient& client, std::filesystem::path socket,
                                                  std::string export_name,
                                                  UniqueFd adopted_listener = {});
  ~NbdServer();
  NbdServer(const NbdServer&) = delete;
  NbdServer& operator=(const NbdServer&) = delete;

  // Closes the listener and every connection (requests already submitted
  // complete first), joins all threads and removes the socket file.
  // Idempotent.
  void stop();

  const std::filesystem::path& socket_path() const { return socket_; }
  int listener_fd() const { return listener_.get(); }
  const NbdExport& export_info() const { return export_; }

 private:
  NbdServer(BlockClient& client, std::filesystem::path socket, NbdExport exp);
  void accept_loop();
  void reap_finished();

  AlignedIo io_;
  const std::filesystem::path socket_;
  const NbdExport export_;
  UniqueFd listener_;
  EventFd wake_;
  ino_t socket_inode_ = 0;  // to remove only the socket we created

  std::mutex mutex_;  // guards connections_ and stopped_
  std::vector<std::unique_ptr<NbdConnection>> connections_;
  bool stopped_ = false;
  std::thread acceptor_;
};

}  // namespace uldd::shim
