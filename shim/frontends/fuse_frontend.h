// FuseFrontend: exposes a disk shim's BlockClient as ONE regular file of the
// device's size, e.g. /run/uldd/disk0, through libfuse3's low-level API. The
// file is what the kernel and applications use: `losetup` + ext4 on it,
// `fio --direct=1` against it, `dd` to it.
//
// The mount point is itself a regular file (created if missing): libfuse
// passes rootmode from stat() of the mount point and the kernel accepts a
// file-on-file mount when the FUSE root inode is a regular file, so there is
// no directory level and no name to look up.
//
// Requests are served by libfuse's multi-threaded loop (its own worker
// threads, all reading the one /dev/fuse fd: no clone fds), so several are in
// flight at once; each worker blocks in AlignedIo while its request is on the
// device, and the shim's back-pressure therefore simply holds FUSE requests.
//
// Surviving a supervisor restart (docs/fd-store.md): the /dev/fuse fd can be
// kept in the service manager's fd store. One fd and no clones, because the
// kernel ends the requests a closing clone fd had read (ECONNABORTED) while
// those read through a fd that stays open wait. A new supervisor takes the
// mount over from that fd (FuseHandover::adopt_fd): it replays the FUSE_INIT
// recorded at mount time into a new libfuse session (the kernel will not send
// another) and asks the kernel to resend what the dead process had read but
// not answered (FUSE_NOTIFY_RESEND, Linux >= 6.9).
//
// Caching: the file is opened with FOPEN_DIRECT_IO, see fuse_frontend.cc.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "common/result.h"
#include "common/unique_fd.h"
#include "shim/block_client.h"
#include "shim/frontends/aligned_io.h"

struct fuse_session;

namespace uldd::shim {

// How a mount is carried across a supervisor restart. Empty: mount fresh,
// record nothing.
struct FuseHandover {
  // Where the FUSE_INIT request of a fresh mount is recorded (the raw bytes
  // the kernel sent) and, when adopting, read back from: memory the caller
  // keeps alive (and across restarts: a memfd in the fd store).
  uint32_t* init_length = nullptr;
  std::span<uint8_t> init_bytes;
  // Valid: take over the live mount at the mount point served through this
  // /dev/fuse fd instead of mounting.
  UniqueFd adopt_fd;
};

class FuseFrontend {
 public:
  // Mounts the file at `mountpoint` (replacing a stale FUSE mount left by a
  // crashed run; a live mount there is an error) and starts serving; or,
  // with handover.adopt_fd, takes over the mount already there.
  static Result<std::unique_ptr<FuseFrontend>> start(BlockClient& client,
                                                     std::filesystem::path mountpoint,
                                                     std::string device_name,
                                                     FuseHandover handover = {});
  ~FuseFrontend();
  FuseFrontend(const FuseFrontend&) = delete;
  FuseFrontend& operator=(const FuseFrontend&) = delete;

  // Stops serving and unmounts (lazily: an application that still has the
  // file open gets ENOTCONN from then on instead of blocking the stop), then
  // joins the worker threads. Requests already on the device complete first.
  // Idempotent; the destructor calls it. With the /dev/fuse fd also in the
  // fd store, the connection ends only when the store's copy is removed
  // (DiskDevice::stop does that last).

  void stop();

  const std::filesystem::path& mountpoint() const { return mountpoint_; }
  // Read, write and fsync requests answered with an error (EIO from the
  // device, ENOSPC past the end, EINVAL): each is also logged with its reason,
  // so a kernel I/O error on a loop device over this file can be traced here.
  uint64_t error_replies() const { return error_replies_.load(std::memory_order_relaxed); }
  // The /dev/fuse fd the session serves (for the fd store); -1 once stopped.
  int fuse_fd() const;
  // Requests the kernel sent again after FUSE_NOTIFY_RESEND (flagged
  // FUSE_UNIQUE_RESEND): the dead supervisor had read them, not answered.
  uint64_t resent_requests() const { return resent_requests_.load(std::memory_order_relaxed); }
  // Adopted: false when the kernel refused FUSE_NOTIFY_RESEND (older than
  // 6.9), so requests read by the dead process stay unanswered.
  bool resend_accepted() const { return resend_accepted_; }

  struct Ops;  // the libfuse callbacks (fuse_frontend.cc)

 private:
  FuseFrontend(BlockClient& client, std::filesystem::path mountpoint, std::string name);
  void loop();
  Status mount_fresh();
  Status take_over(UniqueFd fd);
  void ask_kernel_to_resend();

  AlignedIo io_;
  const std::filesystem::path mountpoint_;
  const std::string name_;

  // Attributes an operator may change (chmod/chown); size never changes.
  std::mutex attr_mutex_;
  mode_t mode_ = 0600;
  uid_t uid_ = 0;
  gid_t gid_ = 0;

  fuse_session* session_ = nullptr;
  dev_t mounted_dev_ = 0;  // st_dev of the mount, for the fusectl abort fallback
  std::thread loop_thread_;
  std::thread poke_;  // stop(): a request that makes a worker notice the exit
  std::atomic<bool> poke_done_{false};
  std::mutex stop_mutex_;
  std::atomic<bool> loop_done_{false};
  std::atomic<uint64_t> error_replies_{0};
  std::atomic<uint64_t> resent_requests_{0};
  bool stopped_ = false;
  uint32_t* init_length_ = nullptr;  // FuseHandover
  std::span<uint8_t> init_bytes_;
  bool adopted_ = false;    // took the mount over: unmount it ourselves
  bool init_seen_ = false;  // Ops::init ran (the replayed INIT was taken)
  bool resend_accepted_ = false;
};

}  // namespace uldd::shim
