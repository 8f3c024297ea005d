// parse_nic_tables: the [[nic]] part of the supervisor's TOML configuration.
// Kept apart from config.cc so the NIC keys, their ranges and their error
// messages live in one place; config.cc calls it once after [[disk]].
// Errors are "source:line:column: reason" like every other config error.
#pragma once

#include <toml++/toml.h>

#include <string>

#include "common/result.h"
#include "supervisor/config.h"

namespace uldd::supervisor {

// Reads every [[nic]] table of `root` into `config.nics`. Device names must
// be unique across disks and NICs (both name memfds, logs and status lines),
// and no TAP name may be used twice in the same network namespace.
Status parse_nic_tables(const std::string& source, const toml::table& root,
                        SupervisorConfig& config);

}  // namespace uldd::supervisor
