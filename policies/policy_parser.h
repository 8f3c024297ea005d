// Reading restart policies from TOML. A policy file is written by an operator
// and read by a supervisor that must not guess: every field is checked, an
// unknown key is an error (with a "did you mean"), and a bad file is refused
// as a whole with "file:line:column: reason" — nothing half-parsed is ever
// used. The format is documented field by field in policies/README.md.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"
#include "policies/restart_policy.h"

namespace uldd::policies {

// Parses policy TOML. `source` names it in errors and in RestartPolicy::source;
// without a `name =` key the policy is named after source's file name minus
// its extension ("/etc/uldd/policies/nvme.toml" -> "nvme").
Result<RestartPolicy> parse_policy(std::string_view toml, const std::string& source);

// Reads and parses one file (at most 1 MiB).
Result<RestartPolicy> load_policy_file(const std::filesystem::path& path);

// The built-in policy: the defaults of RestartPolicy, named "default", source
// "<built-in default>". Used for a device whose policy names no file.
const RestartPolicy& default_policy();

// The same policy as TOML text with every field written out and explained
// (policies/default.toml, compiled in, so `uldd-supervisor` can print it).
extern const std::string_view kDefaultPolicyToml;

}  // namespace uldd::policies
