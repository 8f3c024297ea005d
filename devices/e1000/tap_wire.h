// The production wire of uldd-hw e1000: a TAP device (IFF_TAP|IFF_NO_PI) that
// the model creates, optionally inside a named network namespace
// (/run/netns/NAME, as `ip netns add` makes), so that the peer side of the
// "cable" is an ordinary Linux interface in that namespace where the rig puts
// an address. The interface is brought up; the model's thread returns to its
// own namespace afterwards (the TAP stays where it was made).
#pragma once

#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace uldd::e1000 {

// Creates (or attaches to) TAP `name`, in namespace `netns` when not empty.
Result<UniqueFd> open_tap_wire(const std::string& name, const std::string& netns);

}  // namespace uldd::e1000
