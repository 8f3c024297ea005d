// DeviceHandover: what a device gets at start-up to survive supervisor
// restarts (docs/fd-store.md): the service manager's fd store, where it puts
// every fd that must outlive the supervisor once it serves (and takes them
// back out on a clean stop), and the fds a previous supervisor left there,
// from which it is brought up instead of anew. Both null: today's behaviour.
#pragma once

#include "supervisor/systemd/fd_inventory.h"
#include "supervisor/systemd/fd_store.h"

namespace uldd::supervisor {

struct DeviceHandover {
  systemd::FdStore* store = nullptr;
  systemd::FdInventory* inventory = nullptr;
};

}  // namespace uldd::supervisor
