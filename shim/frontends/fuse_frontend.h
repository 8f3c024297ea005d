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
// threads, one /dev/fuse clone fd each), so several are in flight at once;
// each worker blocks in AlignedIo while its request is on the device, and the
// shim's back-pressure therefore simply holds FUSE requests.
//
// Caching: the file is opened with FOPEN_DIRECT_IO, see fuse_frontend.cc.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "shim/block_client.h"
#include "shim/frontends/aligned_io.h"

struct fuse_session;

namespace uldd::shim {

class FuseFrontend {
 public:
  // Mounts the file at `mountpoint` (replacing a stale FUSE mount left by a
  // crashed run; a live mount there is an error) and starts serving.
  static Result<std::unique_ptr<FuseFrontend>> start(BlockClient& client,
                                                     std::filesystem::path mountpoint,
                                                     std::string device_name);
  ~FuseFrontend();
  FuseFrontend(const FuseFrontend&) = delete;
  FuseFrontend& operator=(const FuseFrontend&) = delete;

  // Stops serving and unmounts (lazily: an application that still has the
  // file open gets ENOTCONN from then on instead of blocking the stop), then
  // joins the worker threads. Requests already on the device complete first.
  // Idempotent; the destructor calls it.
  void stop();

  const std::filesystem::path& mountpoint() const { return mountpoint_; }
  // Read, write and fsync requests answered with an error (EIO from the
  // device, ENOSPC past the end, EINVAL): each is also logged with its reason,
  // so a kernel I/O error on a loop device over this file can be traced here.
  uint64_t error_replies() const { return error_replies_.load(std::memory_order_relaxed); }

  struct Ops;  // the libfuse callbacks (fuse_frontend.cc)

 private:
  FuseFrontend(BlockClient& client, std::filesystem::path mountpoint, std::string name);
  void loop();

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
  std::mutex stop_mutex_;
  std::atomic<bool> loop_done_{false};
  std::atomic<uint64_t> error_replies_{0};
  bool stopped_ = false;
};

}  // namespace uldd::shim
