// abort_fuse_connection: ends a FUSE connection from outside, the way
// `echo 1 > /sys/fs/fuse/connections/N/abort` does — every request waiting on
// it fails (ENOTCONN) and the session loop returns. FuseFrontend::stop needs
// it when a request cannot finish (a worker blocked on a device that will
// not answer) and the loop would otherwise never end.
//
// The fusectl file system is usually mounted at /sys/fs/fuse/connections
// (systemd does it), but not always (containers, minimal hosts). Then it is
// mounted for the moment at a private temporary directory, used, and
// unmounted again: nothing is left behind on the host.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.h"

namespace uldd::shim {

// `connection` is the connection number: the minor of the mount's st_dev.
// `where` (may be null) receives the abort file that was written.
Status abort_fuse_connection(unsigned connection, std::string* where = nullptr);

}  // namespace uldd::shim
