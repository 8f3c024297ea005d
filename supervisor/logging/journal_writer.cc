#include "supervisor/logging/journal_writer.h"

#include <sys/uio.h>
#include <systemd/sd-journal.h>

namespace uldd::supervisor::logging {
namespace {

class SdJournalWriter final : public JournalWriter {
 public:
  Status send(const std::vector<std::string>& fields) override {
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (const std::string& f : fields) iov.push_back({const_cast<char*>(f.data()), f.size()});
    int r = sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
    if (r < 0) return Error{-r, "sd_journal_sendv"};
    return {};
  }
};

}  // namespace

std::unique_ptr<JournalWriter> real_journal_writer() {
  return std::make_unique<SdJournalWriter>();
}

}  // namespace uldd::supervisor::logging
