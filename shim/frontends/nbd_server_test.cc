#include "shim/frontends/nbd_server.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "shim/frontends/fake_block_client.h"
#include "shim/frontends/nbd_test_client.h"

namespace uldd::shim {
namespace {

using namespace nbd;  // NOLINT(google-build-using-namespace)
using testing::FakeBlockClient;
using testing::NbdTestClient;

constexpr uint64_t kDisk = 4 << 20;

std::vector<std::byte> pattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = std::byte(rng());
  return v;
}

template <class T>
T field(const std::vector<std::byte>& d, size_t off) {
  T v;
  std::memcpy(&v, d.data() + off, sizeof(T));
  return from_be(v);
}

class NbdServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("uldd-nbd-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    socket_ = (dir_ / "disk0.nbd").string();
    auto server = NbdServer::start(fake_, socket_, "disk0");
    ASSERT_TRUE(server.ok()) << server.error().describe();
    server_ = std::move(server.value());
  }
  void TearDown() override {
    if (server_) server_->stop();
    EXPECT_EQ(fake_.violations, 0u) << "the server broke the BlockClient contract";
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<NbdTestClient> connect_go() {
    auto c = std::make_unique<NbdTestClient>(socket_);
    EXPECT_TRUE(c->handshake("disk0"));
    return c;
  }

  FakeBlockClient fake_{kDisk, FakeBlockClient::Completion::kThread};
  std::filesystem::path dir_;
  std::string socket_;
  std::unique_ptr<NbdServer> server_;
};

TEST_F(NbdServerTest, GoRepliesExportAndBlockSizeInfo) {
  NbdTestClient c(socket_);
  ASSERT_TRUE(c.greeting_ok());
  ASSERT_TRUE(c.send_client_flags(kClientFlagFixedNewstyle | kClientFlagNoZeroes));
  ASSERT_TRUE(
      c.send_option(kOptGo, NbdTestClient::info_request("disk0", {kInfoBlockSize, kInfoName})));
  auto replies = c.read_until_final();
  ASSERT_EQ(replies.size(), 4u);
  bool saw_export = false, saw_sizes = false, saw_name = false;
  for (size_t i = 0; i + 1 < replies.size(); ++i) {
    const auto& r = replies[i];
    EXPECT_EQ(r.option, kOptGo);
    ASSERT_EQ(r.type, kRepInfo);
    switch (field<uint16_t>(r.data, 0)) {
      case kInfoExport:
        ASSERT_EQ(r.data.size(), 12u);
        EXPECT_EQ(field<uint64_t>(r.data, 2), kDisk);
        EXPECT_EQ(field<uint16_t>(r.data, 10),
                  kFlagHasFlags | kFlagSendFlush | kFlagSendTrim | kFlagCanMultiConn);
        saw_export = true;
        break;
      case kInfoBlockSize:
        ASSERT_EQ(r.data.size(), 14u);
        EXPECT_EQ(field<uint32_t>(r.data, 2), 512u);
        EXPECT_EQ(field<uint32_t>(r.data, 6), 4096u);
        EXPECT_EQ(field<uint32_t>(r.data, 10), 32u << 20);
        saw_sizes = true;
        break;
      case kInfoName:
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(r.data.data()) + 2, r.data.size() - 2),
                  "disk0");
        saw_name = true;
        break;
    }
  }
  EXPECT_TRUE(saw_export && saw_sizes && saw_name);
  EXPECT_EQ(replies.back().type, kRepAck);
  // In transmission now: a read works.
  ASSERT_TRUE(c.send_request(kCmdRead, 7, 0, 512));
  auto reply = c.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->error, 0u);
  EXPECT_EQ(reply->cookie, 7u);
}

TEST_F(NbdServerTest, OptionErrorsKeepNegotiating) {
  NbdTestClient c(socket_);
  ASSERT_TRUE(c.send_client_flags(kClientFlagFixedNewstyle));
  // Unknown export.
  ASSERT_TRUE(c.send_option(kOptGo, NbdTestClient::info_request("nope", {})));
  auto r = c.read_until_final();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, kRepErrUnknown);
  // Unsupported options, structured replies included.
  for (uint32_t opt : {uint32_t{kOptStructuredReply}, uint32_t{kOptStartTls}, uint32_t{42}}) {
    ASSERT_TRUE(c.send_option(opt, {}));
    auto u = c.read_option_reply();
    ASSERT_TRUE(u);
    EXPECT_EQ(u->option, opt);
    EXPECT_EQ(u->type, kRepErrUnsup) << "option " << opt;
  }
  // Malformed INFO.
  ASSERT_TRUE(c.send_option(kOptInfo, {std::byte{0}, std::byte{0}}));
  auto bad = c.read_option_reply();
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->type, kRepErrInvalid);
  // LIST: one server entry, then ACK; LIST with data is invalid.
  ASSERT_TRUE(c.send_option(kOptList, {}));
  auto list = c.read_until_final();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].type, kRepServer);
  EXPECT_EQ(field<uint32_t>(list[0].data, 0), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(list[0].data.data()) + 4, 5), "disk0");
  EXPECT_EQ(list[1].type, kRepAck);
  ASSERT_TRUE(c.send_option(kOptList, {std::byte{1}}));
  auto list_bad = c.read_option_reply();
  ASSERT_TRUE(list_bad);
  EXPECT_EQ(list_bad->type, kRepErrInvalid);
  // INFO does not end negotiation; the default (empty) name is our export.
  ASSERT_TRUE(c.send_option(kOptInfo, NbdTestClient::info_request("", {})));
  auto info = c.read_until_final();
  ASSERT_FALSE(info.empty());
  EXPECT_EQ(info.back().type, kRepAck);
  // Still negotiating: ABORT is acknowledged, then the server closes.
  ASSERT_TRUE(c.send_option(kOptAbort, {}));
  auto ack = c.read_option_reply();
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->type, kRepAck);
  EXPECT_TRUE(c.at_eof());
}

TEST_F(NbdServerTest, ExportNameOldStyle) {
  for (bool no_zeroes : {true, false}) {
    NbdTestClient c(socket_);
    ASSERT_TRUE(
        c.send_client_flags(kClientFlagFixedNewstyle | (no_zeroes ? kClientFlagNoZeroes : 0)));
    const std::string name = "disk0";
    ASSERT_TRUE(c.send_option(
        kOptExportName,
        std::vector<std::byte>(reinterpret_cast<const std::byte*>(name.data()),
                               reinterpret_cast<const std::byte*>(name.data()) + name.size())));
    ExportNameReply reply{};
    ASSERT_TRUE(read_struct(c.fd(), reply));
    EXPECT_EQ(from_be(reply.export_size), kDisk);
    EXPECT_TRUE(from_be(reply.transmission_flags) & kFlagHasFlags);
    if (!no_zeroes) {
      std::vector<std::byte> zeroes(kExportNameZeroPad, std::byte{1});
      ASSERT_TRUE(c.read_data(zeroes));
      EXPECT_EQ(zeroes, std::vector<std::byte>(kExportNameZeroPad));
    }
    ASSERT_TRUE(c.send_request(kCmdDisc, 0, 0, 0));
    EXPECT_TRUE(c.at_eof());
  }
  // An unknown name can only be answered by closing the connection.
  NbdTestClient c(socket_);
  ASSERT_TRUE(c.send_client_flags(kClientFlagFixedNewstyle));
  ASSERT_TRUE(c.send_option(kOptExportName, {std::byte{'x'}}));
  EXPECT_TRUE(c.at_eof());
}

TEST_F(NbdServerTest, ProtocolViolationsInNegotiationClose) {
  NbdTestClient unknown_flags(socket_);
  ASSERT_TRUE(unknown_flags.send_client_flags(1u << 7));
  EXPECT_TRUE(unknown_flags.at_eof());
  NbdTestClient bad_magic(socket_);
  ASSERT_TRUE(bad_magic.send_client_flags(kClientFlagFixedNewstyle));
  ASSERT_TRUE(bad_magic.send_option(kOptList, {}, /*magic=*/0x1234));
  EXPECT_TRUE(bad_magic.at_eof());
}

TEST_F(NbdServerTest, ReadWriteFlushTrimDiscRoundTrip) {
  auto c = connect_go();
  auto data = pattern(64 * 1024, 3);
  ASSERT_TRUE(c->send_request(kCmdWrite, 1, 8192, data.size(), data));
  auto w = c->read_reply();
  ASSERT_TRUE(w);
  EXPECT_EQ(w->error, 0u);
  EXPECT_EQ(w->cookie, 1u);
  EXPECT_EQ(fake_.snapshot(8192, data.size()), data);

  ASSERT_TRUE(c->send_request(kCmdFlush, 2, 0, 0));
  auto f = c->read_reply();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->error, 0u);
  EXPECT_EQ(fake_.flushes, 1u);

  ASSERT_TRUE(c->send_request(kCmdRead, 3, 8192, data.size()));
  auto r = c->read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, 0u);
  std::vector<std::byte> back(data.size());
  ASSERT_TRUE(c->read_data(back));
  EXPECT_EQ(back, data);

  ASSERT_TRUE(c->send_request(kCmdTrim, 4, 0, 4096));
  auto t = c->read_reply();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->error, 0u);

  // Unaligned requests are served byte-exactly (read-modify-write).
  auto small = pattern(3, 9);
  ASSERT_TRUE(c->send_request(kCmdWrite, 5, 8193, 3, small));
  auto uw = c->read_reply();
  ASSERT_TRUE(uw);
  EXPECT_EQ(uw->error, 0u);
  ASSERT_TRUE(c->send_request(kCmdRead, 6, 8192, 5));
  auto ur = c->read_reply();
  ASSERT_TRUE(ur);
  EXPECT_EQ(ur->error, 0u);
  std::vector<std::byte> five(5);
  ASSERT_TRUE(c->read_data(five));
  EXPECT_EQ(five, (std::vector<std::byte>{data[0], small[0], small[1], small[2], data[4]}));

  ASSERT_TRUE(c->send_request(kCmdDisc, 7, 0, 0));
  EXPECT_TRUE(c->at_eof());
}

TEST_F(NbdServerTest, BadRangesGetEinvalAndTheConnectionStaysUsable) {
  auto c = connect_go();
  auto data = pattern(4096, 4);
  ASSERT_TRUE(c->send_request(kCmdWrite, 1, kDisk - 512, data.size(), data));  // crosses the end
  ASSERT_TRUE(c->send_request(kCmdRead, 2, kDisk, 512));                       // past the end
  ASSERT_TRUE(c->send_request(kCmdRead, 3, 0, (32u << 20) + 512));             // beyond max
  ASSERT_TRUE(c->send_request(kCmdTrim, 4, UINT64_MAX - 10, 512));             // overflow
  ASSERT_TRUE(c->send_request(kCmdWriteZeroes, 5, 0, 512));                    // not offered
  std::set<uint64_t> seen;
  for (int i = 0; i < 5; ++i) {
    auto r = c->read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error, kEinval) << "cookie " << r->cookie;
    seen.insert(r->cookie);
  }
  EXPECT_EQ(seen.size(), 5u);
  ASSERT_TRUE(c->send_request(kCmdRead, 6, 0, 512));  // the write payload was consumed
  auto ok = c->read_reply();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->error, 0u);
  EXPECT_EQ(ok->cookie, 6u);
}

TEST_F(NbdServerTest, BadRequestMagicDropsTheConnection) {
  auto c = connect_go();
  ASSERT_TRUE(c->send_request(kCmdRead, 1, 0, 512, {}, /*magic=*/0xdeadbeef));
  EXPECT_TRUE(c->at_eof());
  // The server itself is fine.
  auto d = connect_go();
  ASSERT_TRUE(d->send_request(kCmdFlush, 2, 0, 0));
  auto r = d->read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, 0u);
}

TEST_F(NbdServerTest, DeviceErrorsBecomeEio) {
  auto c = connect_go();
  fake_.inject(abi::BlockStatus::kMediaError);
  ASSERT_TRUE(c->send_request(kCmdRead, 1, 0, 4096));
  auto r = c->read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, kEio);  // and no data follows
  fake_.inject(abi::BlockStatus::kOk);
  ASSERT_TRUE(c->send_request(kCmdFlush, 2, 0, 0));
  auto f = c->read_reply();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->cookie, 2u);
  EXPECT_EQ(f->error, 0u);
}

// Requests are all submitted before any completes; the device then finishes
// them last-first, and the replies come back in that (completion) order.
TEST_F(NbdServerTest, PipelinedRequestsCompleteOutOfOrder) {
  auto c = connect_go();
  auto base = pattern(8192, 5);
  fake_.fill(0, base);
  auto newer = pattern(4096, 6);
  fake_.hold();
  ASSERT_TRUE(c->send_request(kCmdRead, 10, 0, 4096));
  ASSERT_TRUE(c->send_request(kCmdWrite, 11, 65536, newer.size(), newer));
  ASSERT_TRUE(c->send_request(kCmdRead, 12, 4096, 4096));
  ASSERT_TRUE(c->send_request(kCmdFlush, 13, 0, 0));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (fake_.held_count() < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(fake_.held_count(), 4u) << "the server did not keep 4 requests in flight";
  fake_.release_reversed();
  std::vector<uint64_t> order;
  for (int i = 0; i < 4; ++i) {
    auto r = c->read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error, 0u);
    order.push_back(r->cookie);
    if (r->cookie == 10 || r->cookie == 12) {
      std::vector<std::byte> got(4096);
      ASSERT_TRUE(c->read_data(got));
      const size_t off = r->cookie == 10 ? 0 : 4096;
      EXPECT_TRUE(std::equal(got.begin(), got.end(), base.begin() + off));
    }
  }
  EXPECT_EQ(order, (std::vector<uint64_t>{13, 12, 11, 10}));
  EXPECT_EQ(fake_.snapshot(65536, newer.size()), newer);
}

TEST_F(NbdServerTest, ConcurrentConnections) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      auto c = connect_go();
      for (int i = 0; i < 50; ++i) {
        auto data = pattern(4096, t * 1000 + i);
        const uint64_t off = (uint64_t(t) * 64 + i % 64) * 4096;
        ASSERT_TRUE(c->send_request(kCmdWrite, i, off, data.size(), data));
        auto w = c->read_reply();
        ASSERT_TRUE(w);
        ASSERT_EQ(w->error, 0u);
        ASSERT_TRUE(c->send_request(kCmdRead, i, off, data.size()));
        auto r = c->read_reply();
        ASSERT_TRUE(r);
        ASSERT_EQ(r->error, 0u);
        std::vector<std::byte> back(data.size());
        ASSERT_TRUE(c->read_data(back));
        ASSERT_EQ(back, data);
      }
    });
  }
  for (auto& th : threads) th.join();
}

TEST_F(NbdServerTest, StopClosesConnectionsAndRemovesSocket) {
  auto c = connect_go();
  NbdTestClient negotiating(socket_);
  ASSERT_TRUE(negotiating.greeting_ok());
  server_->stop();
  EXPECT_FALSE(std::filesystem::exists(socket_));
  EXPECT_TRUE(c->at_eof());
  EXPECT_TRUE(negotiating.at_eof());
  server_->stop();  // idempotent
}

TEST_F(NbdServerTest, StaleSocketIsReplacedLiveOneIsNot) {
  // A second server on the live socket is refused.
  auto second = NbdServer::start(fake_, socket_, "disk0");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, EADDRINUSE);
  // A crashed server leaves its socket file behind: simulate by stopping
  // ours without cleanup, i.e. bind a socket and close it.
  server_->stop();
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  s.reset();
  ASSERT_TRUE(std::filesystem::exists(socket_));
  auto again = NbdServer::start(fake_, socket_, "disk0");
  ASSERT_TRUE(again.ok()) << again.error().describe();
  auto c = connect_go();
  again.value()->stop();
}

}  // namespace
}  // namespace uldd::shim
