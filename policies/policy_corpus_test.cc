// The bad-policy corpus (issue 4, scenario 009): every file in
// policies/testdata/bad/ must be refused, at the position and for the reason
// its first line states:
//
//   # expect: <line>:<column>: <substring of the reason>
//
// One test per file, so a failure names the file. A corpus that shrank below
// 25 files, or a file without an expectation, fails too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "policies/policy_parser.h"

namespace uldd::policies {
namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = fs::path(ULDD_SOURCE_DIR) / "policies/testdata/bad";
constexpr size_t kMinimumCorpus = 25;

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kCorpus, ec)) {
    if (entry.path().extension() == ".toml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

struct Expectation {
  std::string position;  // "4:10"
  std::string reason;    // a substring of what follows "line:column: "
};

// From "# expect: 4:10: unknown key"; nullopt if the line has another shape.
std::optional<Expectation> expectation_of(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  constexpr std::string_view kTag = "# expect: ";
  if (!line.starts_with(kTag)) return std::nullopt;
  std::string rest = line.substr(kTag.size());
  size_t first = rest.find(':');
  size_t second = first == std::string::npos ? first : rest.find(": ", first + 1);
  if (second == std::string::npos) return std::nullopt;
  return Expectation{rest.substr(0, second), rest.substr(second + 2)};
}

class BadPolicyFile : public ::testing::TestWithParam<fs::path> {};

TEST_P(BadPolicyFile, IsRefusedAtTheStatedPositionForTheStatedReason) {
  const fs::path& file = GetParam();
  auto expected = expectation_of(file);
  ASSERT_TRUE(expected) << file << ": first line is not '# expect: L:C: reason'";
  ASSERT_FALSE(expected->reason.empty()) << file;
  auto policy = load_policy_file(file);
  ASSERT_FALSE(policy.ok()) << file << " was accepted";
  std::string message = policy.error().describe();
  std::string prefix = file.string() + ":" + expected->position + ": ";
  EXPECT_TRUE(message.starts_with(prefix)) << "got:  " << message << "\nwant: " << prefix << "...";
  EXPECT_NE(message.find(expected->reason, prefix.size()), std::string::npos)
      << "got:  " << message << "\nwant reason containing: " << expected->reason;
}

std::string test_name(const ::testing::TestParamInfo<fs::path>& info) {
  std::string name = info.param.stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return "f" + name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadPolicyFile, ::testing::ValuesIn(corpus_files()), test_name);

TEST(BadPolicyCorpus, IsLargeEnough) {
  EXPECT_GE(corpus_files().size(), kMinimumCorpus);
}

// The corpus only proves something if the same files minus their mistake are
// good: each one here is a bad file's shape with the mistake fixed.
TEST(BadPolicyCorpus, NearMissesOfTheMistakesAreAccepted) {
  for (const char* good : {
           "[backoff]\ninitial = \"1ms\"\n",
           "[restart]\ndelay = \"250ms\"\n",
           "[heartbeat]\ninterval = \"100ms\"\ntimeout = \"101ms\"\n",
           "[exhausted]\naction = \"run-hook\"\nhook = \"/usr/bin/logger\"\n",
           "[exhausted]\naction = \"stop-supervisor\"\nexit_code = 1\n",
           "[backoff]\njitter = 1.0\nmultiplier = 1\n",
           "[limits]\nmemory = \"16MiB\"\ncpu = \"1%\"\nopen_files = 16\n",
           "[restart]\nmode = \"never\"\nintensity = 0\n",
       }) {
    auto p = parse_policy(good, "good.toml");
    EXPECT_TRUE(p.ok()) << good << " -> " << p.error().describe();
  }
}

}  // namespace
}  // namespace uldd::policies
