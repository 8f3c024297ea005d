// PolicyStore: the restart policies currently in force, by name, read from a
// directory of *.toml files. An operator edits files and sends SIGHUP; reload()
// then reads every file and swaps in the new set only if all of them are good.
// One bad file must not leave some devices on new policies and others on old
// ones, nor a device with no policy at all: a failed reload keeps the last good
// set and returns every error (one "file:line:column: reason" per line).
//
// The built-in default (policy_parser.h) is always in the set under "default"
// unless a file provides that name. Lookups hand out shared_ptrs to immutable
// policies, so a caller keeps a consistent policy across a concurrent reload;
// all methods are safe to call from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "policies/restart_policy.h"

namespace uldd::policies {

class PolicyStore {
 public:
  struct ReloadSummary {
    size_t files = 0;         // policy files read
    size_t policies = 0;      // policies in the new set, the built-in default included
    uint64_t generation = 0;  // of the new set
  };

  // Policies are the files named *.toml directly in `directory` (not hidden,
  // not in subdirectories). Nothing is read until reload().
  explicit PolicyStore(std::filesystem::path directory);

  // All or nothing; see above. The Error's message lists every problem found,
  // one per line, with the files in name order.
  Result<ReloadSummary> reload();

  // The policy called `name`, or nullptr.
  std::shared_ptr<const RestartPolicy> find(std::string_view name) const;
  // The policy called `name`, else the "default" one.
  std::shared_ptr<const RestartPolicy> find_or_default(std::string_view name) const;
  std::vector<std::string> names() const;
  // 0 before the first successful reload, then +1 per successful reload.
  uint64_t generation() const;
  // Errors of the last reload() (empty if it succeeded).
  std::vector<std::string> last_errors() const;
  const std::filesystem::path& directory() const { return directory_; }

 private:
  using PolicySet = std::map<std::string, std::shared_ptr<const RestartPolicy>, std::less<>>;

  const std::filesystem::path directory_;
  mutable std::mutex mutex_;  // guards everything below
  std::shared_ptr<const PolicySet> current_;
  uint64_t generation_ = 0;
  std::vector<std::string> last_errors_;
};

}  // namespace uldd::policies
