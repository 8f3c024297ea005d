// PolicyStore (see policy_store.h). Files are parsed outside the lock — a
// reload must not stall a restart decision that needs a policy — and the lock
// is held only to swap the finished set in.
#include "policies/policy_store.h"

#include <algorithm>
#include <system_error>
#include <utility>

#include "policies/policy_parser.h"

namespace uldd::policies {
namespace {

namespace fs = std::filesystem;

// The candidate files, sorted so errors come out in a stable order. Hidden
// files are editors' lock and swap files (".#nvme.toml"), not policies.
Result<std::vector<fs::path>> policy_files(const fs::path& directory) {
  std::error_code ec;
  fs::directory_iterator it(directory, ec);
  if (ec) return Error{ec.value(), directory.string() + ": cannot list policy directory"};
  std::vector<fs::path> files;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    std::string name = p.filename().string();
    if (name.starts_with('.') || p.extension() != ".toml") continue;
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec)) continue;  // follows symlinks
    files.push_back(p);
  }
  if (ec) return Error{ec.value(), directory.string() + ": cannot list policy directory"};
  std::sort(files.begin(), files.end());
  return files;
}

std::shared_ptr<const RestartPolicy> builtin_default() {
  static const auto policy = std::make_shared<const RestartPolicy>(default_policy());
  return policy;
}

}  // namespace

PolicyStore::PolicyStore(fs::path directory)
    : directory_(std::move(directory)),
      current_(std::make_shared<const PolicySet>(PolicySet{{"default", builtin_default()}})) {}

Result<PolicyStore::ReloadSummary> PolicyStore::reload() {
  std::vector<std::string> errors;
  PolicySet next;
  auto files = policy_files(directory_);
  size_t file_count = 0;
  if (!files.ok()) {
    errors.push_back(files.error().describe());
  } else {
    file_count = files->size();
    for (const fs::path& path : *files) {
      auto policy = load_policy_file(path);
      if (!policy.ok()) {
        errors.push_back(policy.error().describe());
        continue;
      }
      auto [it, fresh] = next.emplace(policy->name, nullptr);
      if (!fresh) {
        errors.push_back(policy->defined_at + (policy->defined_at == policy->source ? ":1:1" : "") +
                         ": policy name '" + policy->name + "' is already defined by " +
                         it->second->defined_at);
        continue;
      }
      it->second = std::make_shared<const RestartPolicy>(std::move(policy).value());
    }
  }
  next.emplace("default", builtin_default());  // no-op when a file defines "default"

  std::lock_guard lock(mutex_);
  last_errors_ = errors;
  if (!errors.empty()) {
    std::string message;
    for (const std::string& e : errors) message += (message.empty() ? "" : "\n") + e;
    return plain_error(std::move(message));
  }
  current_ = std::make_shared<const PolicySet>(std::move(next));
  ++generation_;
  return ReloadSummary{file_count, current_->size(), generation_};
}

std::shared_ptr<const RestartPolicy> PolicyStore::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = current_->find(name);
  return it == current_->end() ? nullptr : it->second;
}

std::shared_ptr<const RestartPolicy> PolicyStore::find_or_default(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = current_->find(name);
  if (it == current_->end()) it = current_->find("default");
  return it->second;
}

std::vector<std::string> PolicyStore::names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, policy] : *current_) out.push_back(name);
  return out;
}

uint64_t PolicyStore::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

std::vector<std::string> PolicyStore::last_errors() const {
  std::lock_guard lock(mutex_);
  return last_errors_;
}

}  // namespace uldd::policies
