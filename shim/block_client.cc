#include "shim/block_client.h"

#include <future>

namespace uldd::shim {
namespace {

template <class Start>
abi::BlockStatus wait_for(Start start) {
  std::promise<abi::BlockStatus> promise;
  auto result = promise.get_future();
  start([&promise](abi::BlockStatus s) { promise.set_value(s); });
  return result.get();
}

}  // namespace

abi::BlockStatus read_sync(BlockClient& client, uint64_t offset, std::span<std::byte> dest) {
  return wait_for([&](BlockDone done) { client.read(offset, dest, std::move(done)); });
}

abi::BlockStatus write_sync(BlockClient& client, uint64_t offset, std::span<const std::byte> data) {
  return wait_for([&](BlockDone done) { client.write(offset, data, std::move(done)); });
}

abi::BlockStatus flush_sync(BlockClient& client) {
  return wait_for([&](BlockDone done) { client.flush(std::move(done)); });
}

}  // namespace uldd::shim
