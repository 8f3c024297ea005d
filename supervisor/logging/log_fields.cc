#include "supervisor/logging/log_fields.h"

namespace uldd::supervisor::logging {
bool is_valid_journal_field_name(std::string_view name) {
  // systemd's journal_field_valid(): fields starting with '_' are trusted
  // ones only journald sets.
  if (name.empty() || name.size() > 64 || name[0] == '_' || (name[0] >= '0' && name[0] <= '9'))
    return false;
  for (char c : name)
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

}  // namespace uldd::supervisor::logging
