// Caching choice: every open gets FOPEN_DIRECT_IO (no page cache for the
// file; keep_cache is off and meaningless then). Why:
//  - coherence: the same disk is also served by the NBD frontend, and the
//    shim is the only place that knows the device content; a page cache here
//    would serve stale data after an NBD write;
//  - no double caching: with loop + ext4 on top, ext4 already caches in the
//    loop device's page cache; a second copy in the FUSE file's cache only
//    costs memory and a copy;
//  - durability is what the application asked for: a write returns after the
//    BlockClient acknowledged it, fsync() is a device flush, nothing dirty
//    sits in the kernel that a supervisor crash could lose;
//  - fio --direct=1 (O_DIRECT) then just works, at any alignment (AlignedIo).
// The cost: no mmap of the file (libfuse 3.14 cannot ask for
// FUSE_DIRECT_IO_ALLOW_MMAP) and writes to the one inode are serialized by
// the kernel (no FOPEN_PARALLEL_DIRECT_WRITES in libfuse 3.14); loop issues
// its writes from one worker anyway, and async direct I/O (FUSE_CAP_ASYNC_DIO)
// still keeps several requests in flight per submitter.
//
// Request size: max_write and max_read 1 MiB (libfuse then sets max_pages;
// its receive buffer is 1 MiB + header). "big_writes" is the FUSE 2 name of
// this and is always on in FUSE 3.
#include "shim/frontends/fuse_frontend.h"

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "shim/frontends/fuse_connection_abort.h"
#include "shim/frontends/fuse_mountpoint.h"

namespace uldd::shim {
namespace {

constexpr uint32_t kMaxIo = 1u << 20;
constexpr unsigned kMaxThreads = 16;
constexpr double kAttrTimeout = 60.0;  // the size never changes; mode only through us

int to_errno(abi::BlockStatus status) {
  return status == abi::BlockStatus::kOk ? 0 : EIO;
}

// Errors logged one by one before only one in 1000 is (a failed device
// answers every request with EIO).
constexpr uint64_t kErrorsLoggedEach = 20;

// Linux include/uapi/linux/fuse.h (protocol 7.40, Linux 6.9); Debian 12's
// headers stop at 7.38. A notification (unique 0) with this code moves every
// request read but not answered back to the pending queue, each flagged with
// FUSE_UNIQUE_RESEND in its unique.
constexpr int32_t kFuseNotifyResend = 7;
constexpr uint64_t kFuseUniqueResend = uint64_t{1} << 63;
// The replayed FUSE_INIT's unique: no request the kernel numbers (from 2, in
// steps of 2) has it, and its reply is swallowed before it reaches the fd.
constexpr uint64_t kReplayedInitUnique = (uint64_t{1} << 62) | 0x1d1d;

}  // namespace

struct FuseFrontend::Ops {
  static FuseFrontend& self(fuse_req_t req) {
    return *static_cast<FuseFrontend*>(fuse_req_userdata(req));
  }

  // Every I/O request answered with an error goes through here: counted and
  // logged with why, so that no error reaches the kernel unexplained.
  static void reply_error(fuse_req_t req, int err, const char* op, int64_t off, size_t size,
                          const std::string& why) {
    FuseFrontend& fe = self(req);
    const uint64_t n = fe.error_replies_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n <= kErrorsLoggedEach || n % 1000 == 0) {
      spdlog::warn("fuse: {}: {} offset={} size={} answered {}: {} ({} error repl{} so far)",
                   fe.name_, op, off, size, std::strerror(err), why, n, n == 1 ? "y" : "ies");
    }
    fuse_reply_err(req, err);
  }

  static std::string device_said(abi::BlockStatus status) {
    return "the device completed it with status " + std::to_string(static_cast<unsigned>(status));
  }

  static void fill_stat(FuseFrontend& fe, struct stat& st) {
    st = {};
    st.st_ino = FUSE_ROOT_ID;
    {
      std::lock_guard lock(fe.attr_mutex_);
      st.st_mode = S_IFREG | (fe.mode_ & 07777);
      st.st_uid = fe.uid_;
      st.st_gid = fe.gid_;
    }
    st.st_nlink = 1;
    st.st_size = static_cast<off_t>(fe.io_.size_bytes());
    st.st_blocks = static_cast<blkcnt_t>(fe.io_.size_bytes() / 512);
    st.st_blksize = 4096;
  }

  // libfuse's I/O on the /dev/fuse fd (fuse_session_custom_io), plain
  // read/writev plus: the kernel's FUSE_INIT of a fresh mount is recorded
  // (FuseHandover), resent requests are counted, and the reply to a
  // replayed INIT is dropped (the kernel never sent that request).
  static ssize_t io_read(int fd, void* buf, size_t len, void* userdata) {
    auto& fe = *static_cast<FuseFrontend*>(userdata);
    const ssize_t n = ::read(fd, buf, len);
    if (n >= static_cast<ssize_t>(sizeof(fuse_in_header))) {
      const auto* in = static_cast<const fuse_in_header*>(buf);
      if (in->unique & kFuseUniqueResend)
        fe.resent_requests_.fetch_add(1, std::memory_order_relaxed);
      if (in->opcode == FUSE_INIT && fe.init_length_ != nullptr && !fe.adopted_) {
        const size_t keep = std::min(static_cast<size_t>(n), fe.init_bytes_.size());
        std::memcpy(fe.init_bytes_.data(), buf, keep);
        *fe.init_length_ = static_cast<uint32_t>(keep);
      }
    }
    return n;
  }

  static ssize_t io_writev(int fd, struct iovec* iov, int count, void* /*userdata*/) {
    if (count > 0 && iov[0].iov_len >= sizeof(fuse_out_header) &&
        static_cast<const fuse_out_header*>(iov[0].iov_base)->unique == kReplayedInitUnique) {
      size_t total = 0;
      for (int i = 0; i < count; ++i) total += iov[i].iov_len;
      return static_cast<ssize_t>(total);
    }
    return ::writev(fd, iov, count);
  }

  static void init(void* userdata, fuse_conn_info* conn) {
    static_cast<FuseFrontend*>(userdata)->init_seen_ = true;
    conn->max_write = kMaxIo;   // libfuse derives max_pages from it
    conn->max_read = kMaxIo;    // must repeat the max_read mount option
    conn->max_background = 64;  // async direct I/O requests in flight
    conn->congestion_threshold = 48;
    // O_TRUNC arrives with open() (and is ignored, as on a block device)
    // instead of as a truncate to 0, so `echo hi > disk0` works.
    if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    if (conn->capable & FUSE_CAP_ASYNC_DIO) conn->want |= FUSE_CAP_ASYNC_DIO;
    conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
                    FUSE_CAP_WRITEBACK_CACHE);
  }

  static void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* /*fi*/) {
    if (ino != FUSE_ROOT_ID) {
      fuse_reply_err(req, ENOENT);
      return;
    }
    struct stat st {};
    fill_stat(self(req), st);
    fuse_reply_attr(req, &st, kAttrTimeout);
  }

  static void setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
                      fuse_file_info* /*fi*/) {
    FuseFrontend& fe = self(req);
    if (ino != FUSE_ROOT_ID) {
      fuse_reply_err(req, ENOENT);
      return;
    }
    // A disk has a fixed size; truncating to it is a no-op, anything else
    // is refused as ftruncate() on a block device is.
    if ((to_set & FUSE_SET_ATTR_SIZE) &&
        static_cast<uint64_t>(attr->st_size) != fe.io_.size_bytes()) {
      fuse_reply_err(req, EINVAL);
      return;
    }
    {
      std::lock_guard lock(fe.attr_mutex_);
      if (to_set & FUSE_SET_ATTR_MODE) fe.mode_ = attr->st_mode & 07777;
      if (to_set & FUSE_SET_ATTR_UID) fe.uid_ = attr->st_uid;
      if (to_set & FUSE_SET_ATTR_GID) fe.gid_ = attr->st_gid;
    }
    // Times are accepted and not kept: nothing depends on them.
    struct stat st {};
    fill_stat(fe, st);
    fuse_reply_attr(req, &st, kAttrTimeout);
  }

  static void lookup(fuse_req_t req, fuse_ino_t /*parent*/, const char* /*name*/) {
    fuse_reply_err(req, ENOTDIR);  // the root is a file
  }

  static void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    if (ino != FUSE_ROOT_ID) {
      fuse_reply_err(req, ENOENT);
      return;
    }
    fi->direct_io = 1;  // see the top of this file
    fi->keep_cache = 0;
    fuse_reply_open(req, fi);
  }

  static void read(fuse_req_t req, fuse_ino_t /*ino*/, size_t size, off_t off,
                   fuse_file_info* /*fi*/) {
    FuseFrontend& fe = self(req);
    const uint64_t disk = fe.io_.size_bytes();
    if (off < 0) {
      reply_error(req, EINVAL, "read", off, size, "negative offset");
      return;
    }
    if (static_cast<uint64_t>(off) >= disk) {
      fuse_reply_buf(req, nullptr, 0);  // end of file
      return;
    }
    const size_t n = std::min<uint64_t>(size, disk - static_cast<uint64_t>(off));
    // One buffer per worker thread, reused: a worker serves one request at
    // a time and fuse_reply_buf() copies it out before returning.
    thread_local std::vector<std::byte> buffer;
    if (buffer.size() < n) buffer.resize(n);
    const abi::BlockStatus status =
        fe.io_.read(static_cast<uint64_t>(off), std::span(buffer).first(n));
    if (status != abi::BlockStatus::kOk) {
      reply_error(req, to_errno(status), "read", off, n, device_said(status));
      return;
    }
    fuse_reply_buf(req, reinterpret_cast<const char*>(buffer.data()), n);
  }

  static void write(fuse_req_t req, fuse_ino_t /*ino*/, const char* buf, size_t size, off_t off,
                    fuse_file_info* /*fi*/) {
    FuseFrontend& fe = self(req);
    const uint64_t disk = fe.io_.size_bytes();
    if (off < 0) {
      reply_error(req, EINVAL, "write", off, size, "negative offset");
      return;
    }
    if (static_cast<uint64_t>(off) >= disk) {
      // Like writing past a block device's end.
      if (size == 0) {
        fuse_reply_write(req, 0);
      } else {
        reply_error(req, ENOSPC, "write", off, size, "at or past the end of the device");
      }
      return;
    }
    // A write crossing the end is short; the application's retry gets ENOSPC.
    const size_t n = std::min<uint64_t>(size, disk - static_cast<uint64_t>(off));
    const abi::BlockStatus status =
        fe.io_.write(static_cast<uint64_t>(off), std::as_bytes(std::span(buf, n)));
    if (status != abi::BlockStatus::kOk) {
      reply_error(req, to_errno(status), "write", off, n, device_said(status));
      return;
    }
    fuse_reply_write(req, n);
  }

  // close() promises no durability for a regular file and nothing is cached
  // here, so there is nothing to do; fsync() is where data is made durable.
  static void flush(fuse_req_t req, fuse_ino_t /*ino*/, fuse_file_info* /*fi*/) {
    fuse_reply_err(req, 0);
  }

  static void fsync(fuse_req_t req, fuse_ino_t /*ino*/, int /*datasync*/, fuse_file_info* /*fi*/) {
    const abi::BlockStatus status = self(req).io_.flush();
    if (status != abi::BlockStatus::kOk) {
      reply_error(req, to_errno(status), "fsync", 0, 0, device_said(status));
      return;
    }
    fuse_reply_err(req, 0);
  }

  static void release(fuse_req_t req, fuse_ino_t /*ino*/, fuse_file_info* /*fi*/) {
    fuse_reply_err(req, 0);
  }

  static void statfs(fuse_req_t req, fuse_ino_t /*ino*/) {
    FuseFrontend& fe = self(req);
    struct statvfs st {};
    st.f_bsize = 4096;
    st.f_frsize = 512;
    st.f_blocks = fe.io_.size_bytes() / 512;  // all of it taken by the one file
    st.f_files = 1;
    st.f_namemax = 255;
    fuse_reply_statfs(req, &st);
  }
};

FuseFrontend::FuseFrontend(BlockClient& client, std::filesystem::path mountpoint, std::string name)
    : io_(client), mountpoint_(std::move(mountpoint)), name_(std::move(name)) {}

Result<std::unique_ptr<FuseFrontend>> FuseFrontend::start(BlockClient& client,
                                                          std::filesystem::path mountpoint,
                                                          std::string device_name,
                                                          FuseHandover handover) {
  mountpoint = std::filesystem::absolute(mountpoint).lexically_normal();
  const bool adopt = handover.adopt_fd.valid();
  if (!adopt) {
    ULDD_TRY(prepare_fuse_mountpoint(mountpoint));
  } else if (!fuse_mounted_at(mountpoint,
                              /*resolve_symlinks=*/false)) {  // nobody serves it yet: no lookup
    return Error{ENOENT, "no FUSE mount on " + mountpoint.string() + " to take over"};
  }
  std::unique_ptr<FuseFrontend> fe(
      new FuseFrontend(client, std::move(mountpoint), std::move(device_name)));
  fe->init_length_ = handover.init_length;
  fe->init_bytes_ = handover.init_bytes;
  fe->adopted_ = adopt;
  struct stat st {};
  if (!adopt && ::stat(fe->mountpoint_.c_str(), &st) == 0) {
    // The file starts with the permissions of the file it covers.
    fe->mode_ = st.st_mode & 07777;
    fe->uid_ = st.st_uid;
    fe->gid_ = st.st_gid;
  }

  std::string fsname = "uldd:" + fe->name_;
  for (char& c : fsname) {
    if (c == ',' || c == '\\' || c == ' ' || c == '\t' || c == '\n') c = '_';
  }
  // default_permissions: the kernel checks mode/uid/gid, as for a device
  // node; allow_other (root only) lets those permissions decide who else
  // may use the disk.
  std::string options =
      "fsname=" + fsname + ",subtype=uldd,default_permissions,max_read=" + std::to_string(kMaxIo);
  if (::geteuid() == 0) options += ",allow_other";
  std::vector<std::string> argv_storage = {"uldd-fuse", "-o", options};
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());

  fuse_lowlevel_ops ops{};
  ops.init = &Ops::init;
  ops.lookup = &Ops::lookup;
  ops.getattr = &Ops::getattr;
  ops.setattr = &Ops::setattr;
  ops.open = &Ops::open;
  ops.read = &Ops::read;
  ops.write = &Ops::write;
  ops.flush = &Ops::flush;
  ops.fsync = &Ops::fsync;
  ops.release = &Ops::release;
  ops.statfs = &Ops::statfs;

  fe->session_ = fuse_session_new(&args, &ops, sizeof(ops), fe.get());
  fuse_opt_free_args(&args);
  if (fe->session_ == nullptr) return plain_error("fuse_session_new failed (see stderr)");
  if (Status s = adopt ? fe->take_over(std::move(handover.adopt_fd)) : fe->mount_fresh(); !s) {
    fuse_session_destroy(fe->session_);
    fe->session_ = nullptr;
    return s.error();
  }
  fe->loop_thread_ = std::thread([p = fe.get()] { p->loop(); });
  if (adopt) fe->ask_kernel_to_resend();

  // First request through the new mount: proves it serves, and records the
  // connection's device number for the forced-abort path of stop().
  if (::stat(fe->mountpoint_.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_size) != client.size_bytes()) {
    const Error error = errno_error("stat(" + fe->mountpoint_.string() + ") after mount");
    fe->stop();
    return error;
  }
  fe->mounted_dev_ = st.st_dev;
  if (adopt) {
    fe->mode_ = st.st_mode & 07777;  // what the old process served (cached by the kernel)
    fe->uid_ = st.st_uid;
    fe->gid_ = st.st_gid;
  }
  spdlog::info("fuse: {} {} {} ({} bytes)", fe->name_,
               adopt ? "took over the mount on" : "exposed as", fe->mountpoint_.string(),
               client.size_bytes());
  return fe;
}

Status FuseFrontend::mount_fresh() {
  if (fuse_session_mount(session_, mountpoint_.c_str()) != 0)
    return Error{EIO, "fuse_session_mount(" + mountpoint_.string() + ") failed (see stderr)"};
  // The same fd, read and written through Ops::io_*: libfuse keeps it, and
  // fuse_session_unmount() still detaches the mount.
  const fuse_custom_io io{&Ops::io_writev, &Ops::io_read, nullptr, nullptr};
  if (int rc = fuse_session_custom_io(session_, &io, fuse_session_fd(session_)); rc != 0) {
    fuse_session_unmount(session_);
    return Error{-rc, "fuse_session_custom_io"};
  }
  return {};
}

Status FuseFrontend::take_over(UniqueFd fd) {
  if (init_length_ == nullptr || *init_length_ < sizeof(fuse_in_header) + sizeof(fuse_init_in) ||
      *init_length_ > init_bytes_.size())
    return plain_error("no FUSE_INIT recorded for the mount on " + mountpoint_.string() +
                       ": cannot take it over");
  const fuse_custom_io io{&Ops::io_writev, &Ops::io_read, nullptr, nullptr};
  const int raw = fd.release();
  if (int rc = fuse_session_custom_io(session_, &io, raw); rc != 0) {
    ::close(raw);
    return Error{-rc, "fuse_session_custom_io"};
  }
  // libfuse answers every request before INIT with EIO, and the kernel did
  // its INIT with the dead process: replay that INIT (same protocol minor,
  // same flags offered, so libfuse negotiates what the kernel already uses).
  std::vector<uint8_t> init(init_bytes_.begin(), init_bytes_.begin() + *init_length_);
  auto* in = reinterpret_cast<fuse_in_header*>(init.data());
  in->unique = kReplayedInitUnique;
  fuse_buf buf{};
  buf.mem = init.data();
  buf.size = init.size();
  fuse_session_process_buf(session_, &buf);
  if (!init_seen_) return plain_error("the replayed FUSE_INIT was refused by libfuse");
  return {};
}

void FuseFrontend::ask_kernel_to_resend() {
  const fuse_out_header notify{sizeof(fuse_out_header), kFuseNotifyResend, 0};
  if (::write(fuse_session_fd(session_), &notify, sizeof notify) ==
      static_cast<ssize_t>(sizeof notify)) {
    resend_accepted_ = true;
    spdlog::info(
        "fuse: {}: asked the kernel to resend requests the previous supervisor had not answered",
        name_);
    return;
  }
  spdlog::warn(
      "fuse: {}: FUSE_NOTIFY_RESEND refused ({}; needs Linux >= 6.9): requests the previous "
      "supervisor had read stay unanswered and their callers wait",
      name_, std::strerror(errno));
}

int FuseFrontend::fuse_fd() const {
  return session_ != nullptr ? fuse_session_fd(session_) : -1;
}

FuseFrontend::~FuseFrontend() {
  stop();
  if (poke_.joinable()) poke_.join();
}

void FuseFrontend::loop() {
  fuse_loop_config* config = fuse_loop_cfg_create();
  // One fd for all workers, no clones: see the header (fd store).
  fuse_loop_cfg_set_clone_fd(config, 0);
  fuse_loop_cfg_set_max_threads(config, kMaxThreads);
  fuse_loop_cfg_set_idle_threads(config, kMaxThreads);  // never tear workers down
  const int rc = fuse_session_loop_mt(session_, config);
  fuse_loop_cfg_destroy(config);
  if (rc != 0) spdlog::debug("fuse: {} session loop ended with {}", name_, rc);
  loop_done_ = true;
}

void FuseFrontend::stop() {
  std::lock_guard lock(stop_mutex_);
  if (stopped_ || session_ == nullptr) return;
  stopped_ = true;

  fuse_session_exit(session_);
  // A worker notices the exit flag only after its next request, and the
  // loop's main thread only once a worker leaves. statfs on the mount is a
  // request the kernel always forwards; it runs on a helper thread because
  // it blocks until served (or, if the loop already ended, until the
  // unmount below aborts the connection).
  poke_ = std::thread([path = mountpoint_, done = &poke_done_] {
    struct statvfs st {};
    ::statvfs(path.c_str(), &st);
    done->store(true);
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!loop_done_ && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  bool connection_aborted = false;
  if (!loop_done_) {
    // A worker is stuck in a request that will not finish (the device does
    // not answer), or the mount is no longer reachable at its path while an
    // application keeps it open: abort the connection through fusectl, which
    // fails the waiting requests and ends the loop.
    std::string via;
    Status aborted = abort_fuse_connection(minor(mounted_dev_), &via);
    connection_aborted = aborted.ok();
    if (aborted) {
      spdlog::warn("fuse: {} did not stop on its own; aborted the connection via {}", name_, via);
    } else {
      spdlog::error("fuse: {} did not stop on its own and the connection could not be aborted: {}",
                    name_, aborted.error().describe());
    }
  }
  loop_thread_.join();
  // Closes /dev/fuse (the kernel aborts the connection: requests from apps
  // that still hold the file fail with ENOTCONN) and detaches the mount.
  fuse_session_unmount(session_);  // nothing for a mount taken over: libfuse did not mount it
  fuse_session_destroy(session_);
  session_ = nullptr;
  // libfuse leaves an aborted connection's mount alone (it may have been
  // replaced); ours is still there, and a mount taken over was never libfuse's.
  if ((adopted_ || connection_aborted) && ::umount2(mountpoint_.c_str(), MNT_DETACH) != 0)
    spdlog::warn("fuse: {}: umount2({}): {}", name_, mountpoint_.string(), std::strerror(errno));
  // The poke may be left unanswered (the loop can end before a worker takes
  // it); closing our fd then aborts the connection and ends it, unless a
  // copy is in the fd store: then it ends when the store's copy is removed,
  // and the destructor joins it.
  if (poke_done_) poke_.join();
  spdlog::info(
      "fuse: {} unmounted from {} ({} error repl{}, {} read-modify-write(s) of partial sectors)",
      name_, mountpoint_.string(), error_replies(), error_replies() == 1 ? "y" : "ies",
      io_.partial_writes());
}

}  // namespace uldd::shim
