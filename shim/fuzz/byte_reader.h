// ByteReader: turns a fuzzer's input into the decisions a fuzz target makes
// (how many requests, which action next, which bytes to write). When the
// input is used up every read returns 0, so a target's "input exhausted"
// path is the honest one and every input terminates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace uldd::fuzz {

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool empty() const { return pos_ >= size_; }
  uint8_t u8() { return empty() ? 0 : data_[pos_++]; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  uint32_t u32() { return u16() | (static_cast<uint32_t>(u16()) << 16); }
  // Fills `out` with the next bytes (zeros past the end).
  void bytes(void* out, size_t n) {
    auto* o = static_cast<uint8_t*>(out);
    for (size_t i = 0; i < n; ++i) o[i] = u8();
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace uldd::fuzz
