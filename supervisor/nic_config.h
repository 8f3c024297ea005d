// parse_nic_tables: the [[nic]] part of the supervisor's TOML configuration.
// Kept apart from config.cc so the NIC keys, their ranges and their error
// messages live in one place; config.cc calls it once after [[disk]]. The
// keys both device kinds share are read here too, for config.cc's disks.
// Errors are "source:line:column: reason" like every other config error.
#pragma once

#include <toml++/toml.h>

#include <string>

#include "common/result.h"
#include "common/toml_table_reader.h"
#include "supervisor/config.h"

namespace uldd::supervisor {

// Reads every [[nic]] table of `root` into `config.nics`. Device names must
// be unique across disks and NICs (both name memfds, logs and status lines),
// and no TAP name may be used twice in the same network namespace.
Status parse_nic_tables(const std::string& source, const toml::table& root,
                        SupervisorConfig& config);

// The keys every device table has, read the same way for [[disk]] and [[nic]]
// (`kind` is "disk" or "nic"). First: a required 'name' ([a-z0-9_-]{1,15}; it
// names memfds, logs and status lines) and 'mode' ("isolated"/"colocated").
Status read_device_name_and_mode(const TomlTableReader& r, std::string_view kind, std::string& name,
                                 DriverMode& mode);
// Last: 'policy' (a policy file name, [a-z0-9_-]{1,64}) and 'driver' (an
// absolute path, or "" for the bundled driver).
Status read_device_policy_and_driver(const TomlTableReader& r, std::string& policy,
                                     std::filesystem::path& driver);

}  // namespace uldd::supervisor
