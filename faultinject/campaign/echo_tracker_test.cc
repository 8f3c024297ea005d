// EchoTracker: each kind of echo is told apart — verified, corrupted (with
// the first wrong byte), duplicated, reordered, late — lost ones are found
// by the timeout, round trips and stalls are measured; and the echo peer's
// test-only misbehaviour parses.
#include "faultinject/campaign/echo_tracker.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "faultinject/campaign/echo_peer.h"

namespace uldd::campaign {
namespace {

struct Sent {
  uint64_t seq;
  std::vector<uint8_t> bytes;
};

Sent send(EchoTracker& t, uint64_t now_us) {
  std::vector<uint8_t> buf(t.size());
  uint64_t seq = t.next(buf, now_us);
  return {seq, buf};
}

TEST(EchoTracker, VerifiedEchoCountsAndMeasuresRoundTrip) {
  EchoTracker t(128, 7);
  Sent a = send(t, 1000);
  EXPECT_EQ(a.seq, 1u);
  EXPECT_EQ(t.outstanding(), 1u);
  EXPECT_TRUE(t.on_echo(a.bytes, 1250, -1));
  EXPECT_EQ(t.outstanding(), 0u);
  EXPECT_EQ(t.counts().verified, 1u);
  EXPECT_EQ(t.rtt_max_us(), 250u);
  EXPECT_EQ(t.rtt_percentile_us(50), 250u);
  EXPECT_TRUE(t.problems().empty());
}

TEST(EchoTracker, CorruptedPayloadNamesTheByteAndSettlesTheDatagram) {
  EchoTracker t(128, 7);
  Sent a = send(t, 0);
  a.bytes[100] ^= 0x01;
  EXPECT_FALSE(t.on_echo(a.bytes, 10, 3));
  EXPECT_EQ(t.counts().corrupted, 1u);
  EXPECT_EQ(t.outstanding(), 0u);  // not lost as well
  ASSERT_EQ(t.problems().size(), 1u);
  EXPECT_EQ(t.problems()[0].kind, EchoProblem::Kind::kCorrupted);
  EXPECT_EQ(t.problems()[0].seq, 1u);
  EXPECT_EQ(t.problems()[0].first_wrong_offset, 100);
  EXPECT_EQ(t.problems()[0].after_fault, 3);
  t.expire(10'000'000, 1000, 3);
  EXPECT_EQ(t.counts().lost, 0u);
  auto fresh = t.take_new_corrupted();
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_TRUE(t.take_new_corrupted().empty());  // once
}

TEST(EchoTracker, ForeignAndTruncatedDatagramsAreCorrupted) {
  EchoTracker t(128, 7);
  Sent a = send(t, 0);
  EchoTracker other(128, 8);  // another run's stream
  std::vector<uint8_t> foreign(128);
  other.next(foreign, 0);
  EXPECT_FALSE(t.on_echo(foreign, 5, -1));
  EXPECT_FALSE(t.on_echo(std::span<const uint8_t>(a.bytes.data(), 64), 5, -1));
  EXPECT_FALSE(t.on_echo(std::span<const uint8_t>(a.bytes.data(), 3), 5, -1));
  EXPECT_EQ(t.counts().corrupted, 3u);
  EXPECT_EQ(t.counts().verified, 0u);
}

TEST(EchoTracker, DuplicateReorderLostAndLate) {
  EchoTracker t(64, 1);
  Sent a = send(t, 0), b = send(t, 10), c = send(t, 20), d = send(t, 30);
  EXPECT_TRUE(t.on_echo(b.bytes, 100, -1));
  EXPECT_TRUE(t.on_echo(a.bytes, 110, -1));   // behind b: reordered, still verified
  EXPECT_FALSE(t.on_echo(b.bytes, 120, -1));  // twice
  EXPECT_EQ(t.counts().verified, 2u);
  EXPECT_EQ(t.counts().reordered, 1u);
  EXPECT_EQ(t.counts().duplicated, 1u);
  t.expire(1000 + 25, 1000, 2);  // c (sent at 20) and not yet d (sent at 30)
  EXPECT_EQ(t.counts().lost, 1u);
  EXPECT_EQ(t.outstanding(), 1u);
  EXPECT_FALSE(t.on_echo(c.bytes, 1500, 2));  // after all: late, no longer lost
  EXPECT_EQ(t.counts().lost, 0u);
  EXPECT_EQ(t.counts().late, 1u);
  t.expire(5000, 1000, 2);
  EXPECT_EQ(t.counts().lost, 1u);  // d
  EXPECT_EQ(t.counts().sent, 4u);
  (void)d;
}

// A NIC restart reissues TX frames the device may have sent already; when
// the first copy's echo was lost, the second comes back behind later ones.
// The peer received that datagram twice: a duplicate, not a reordering.
TEST(EchoTracker, AnEchoBehindALaterOneThePeerReceivedTwiceIsADuplicate) {
  EchoTracker t(64, 1);
  std::vector<uint64_t> twice;
  t.set_peer_received_twice(
      [&](uint64_t seq) { return std::find(twice.begin(), twice.end(), seq) != twice.end(); });
  Sent a = send(t, 0), b = send(t, 10), c = send(t, 20);
  EXPECT_TRUE(t.on_echo(c.bytes, 100, -1));
  twice.push_back(a.seq);
  EXPECT_TRUE(t.on_echo(a.bytes, 110, 3));  // reissued: verified, counted duplicated
  EXPECT_TRUE(t.on_echo(b.bytes, 120, 3));  // the peer saw it once: reordered
  EXPECT_EQ(t.counts().verified, 3u);
  EXPECT_EQ(t.counts().duplicated, 1u);
  EXPECT_EQ(t.counts().reordered, 1u);
  ASSERT_EQ(t.problems().size(), 2u);
  EXPECT_EQ(t.problems()[0].kind, EchoProblem::Kind::kDuplicated);
  EXPECT_EQ(t.problems()[0].seq, a.seq);
  EXPECT_EQ(t.problems()[1].kind, EchoProblem::Kind::kReordered);
}

TEST(EchoPeer, NotesTheDatagramsItReceivedTwice) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
  UniqueFd test_end(sv[0]);
  EchoPeer peer(UniqueFd(sv[1]), EchoPeerFault{});
  peer.start();
  EchoTracker probe(64, 8);  // another stream first (the workload's probe): forgotten
  Sent p1 = send(probe, 0);
  ASSERT_EQ(::send(test_end.get(), p1.bytes.data(), p1.bytes.size(), 0), 64);
  EchoTracker t(64, 9);
  Sent a = send(t, 0), b = send(t, 10);
  ASSERT_EQ(a.seq, p1.seq);
  for (const Sent* s : {&a, &b, &a})
    ASSERT_EQ(::send(test_end.get(), s->bytes.data(), s->bytes.size(), 0), 64);
  std::vector<uint8_t> junk(64, 0xee);  // not a udp-echo datagram: not noted
  ASSERT_EQ(::send(test_end.get(), junk.data(), junk.size(), 0), 64);
  for (int i = 0; i < 2000 && peer.echoed() < 5; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(peer.received_twice(a.seq));
  EXPECT_FALSE(peer.received_twice(b.seq));
  EXPECT_FALSE(peer.received_twice(12345));
  peer.stop();
}

TEST(EchoTracker, UnsendReusesTheNumber) {
  EchoTracker t(64, 1);
  Sent a = send(t, 0);
  t.unsend(a.seq);
  EXPECT_EQ(t.outstanding(), 0u);
  EXPECT_EQ(t.counts().sent, 0u);
  Sent b = send(t, 5);
  EXPECT_EQ(b.seq, a.seq);
  EXPECT_TRUE(t.on_echo(b.bytes, 10, -1));
}

TEST(EchoTracker, StallsBetweenVerifiedEchoes) {
  EchoTracker t(64, 1);
  for (uint64_t now : {0u, 1000u, 2000u, 302000u, 303000u}) {
    Sent s = send(t, now);
    t.on_echo(s.bytes, now + 100, -1);
  }
  EXPECT_EQ(t.max_gap_us(), 300'000u);
  ASSERT_EQ(t.stalls().size(), 1u);
  EXPECT_EQ(t.stalls()[0].at_ms, 2u);
  EXPECT_EQ(t.stalls()[0].us, 300'000u);
  EXPECT_EQ(t.echoes_per_100ms().at(0), 3u);
}

TEST(EchoTracker, PauseOfItsOwnIsNotAStall) {
  EchoTracker t(64, 1);
  Sent a = send(t, 0);
  t.on_echo(a.bytes, 100, -1);
  t.resume(900'000);  // a check paused sending until then
  Sent b = send(t, 900'000);
  t.on_echo(b.bytes, 910'000, -1);
  EXPECT_EQ(t.max_gap_us(), 10'000u);
  EXPECT_TRUE(t.stalls().empty());
}

TEST(EchoPeerFault, Parses) {
  auto none = parse_echo_peer_fault("");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->drop_every, 0u);
  auto drop = parse_echo_peer_fault("drop-every=50");
  ASSERT_TRUE(drop.ok());
  EXPECT_EQ(drop->drop_every, 50u);
  auto corrupt = parse_echo_peer_fault("corrupt-every=7");
  ASSERT_TRUE(corrupt.ok());
  EXPECT_EQ(corrupt->corrupt_every, 7u);
  EXPECT_FALSE(parse_echo_peer_fault("corrupt-every=0").ok());
  EXPECT_FALSE(parse_echo_peer_fault("flip=3").ok());
  EXPECT_FALSE(parse_echo_peer_fault("drop-every=x").ok());
}

}  // namespace
}  // namespace uldd::campaign
