// Preparing the path a FuseFrontend mounts on: it must end up a regular file
// (created if missing) with no dead FUSE mount on top. A supervisor that was
// killed leaves its FUSE mount behind, and every stat() of the path then
// fails with ENOTCONN until someone detaches it; a restarted supervisor must
// do that itself instead of failing to start.
#pragma once

#include <filesystem>

#include "common/result.h"

namespace uldd::shim {

// Detaches stale FUSE mounts on `path` (stat gives ENOTCONN/ECONNABORTED),
// creates the file (and its parent directories) if missing, and refuses a
// directory, a non-regular file, or a live FUSE mount (EBUSY: another
// process serves it). `path` must be absolute and normalized.
Status prepare_fuse_mountpoint(const std::filesystem::path& path);

// True when a FUSE filesystem is mounted exactly at `path`. Without
// `resolve_symlinks` the path is not looked up at all (only mountinfo is
// read): a mount whose server is gone would block the lookup.
bool fuse_mounted_at(const std::filesystem::path& path, bool resolve_symlinks = true);

}  // namespace uldd::shim
