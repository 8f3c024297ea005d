// Wire: the cable behind the emulated e1000. The model sends every
// transmitted frame into it and receives frames from it; frames carry no
// preamble and no FCS (as on a TAP device). A seam, so the model runs on a
// TAP in a peer network namespace in production (tap_wire.h) and on a
// socketpair in unit tests, with the same code.
#pragma once

#include <cstddef>
#include <span>

#include "common/result.h"

namespace uldd::e1000 {

class Wire {
 public:
  virtual ~Wire() = default;
  // Becomes readable (poll) when a frame is waiting.
  virtual int fd() const = 0;
  // Reads one frame into `buffer`. Returns its length, or 0 when no frame is
  // waiting. A frame longer than `buffer` is cut to it.
  virtual Result<size_t> receive(std::span<std::byte> buffer) = 0;
  // Sends one frame. Never blocks: a wire that cannot take the frame now
  // drops it (as a cable does when nobody listens) and says so.
  virtual Status send(std::span<const std::byte> frame) = 0;
};

}  // namespace uldd::e1000
