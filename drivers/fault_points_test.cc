// Tests of FaultPoints, the driver's reader of ControlBlock::faults[]: it
// fires an arming exactly once per generation on the after-th pass, never
// when disarmed, ignores a slot caught mid-write (odd generation) and unknown
// ids, and keeps leaking once leak-memory fired. The slots are written with
// faultinject's arm_fault_point, the supervisor's writer.
#include "drivers/fault_points.h"

#include <gtest/gtest.h>

#include "abi/block_descriptor.h"
#include "faultinject/fault_point_request.h"

namespace uldd::drivers {
namespace {

using abi::FaultPoint;

void arm(abi::ControlBlock& cb, FaultPoint p, uint32_t after, uint32_t arg = 0) {
  ASSERT_TRUE(faultinject::arm_fault_point(cb, {p, after, arg}).ok());
}

TEST(FaultPoints, NothingFiresWithoutAControlBlockOrWhenDisarmed) {
  FaultPoints none(nullptr);
  none.refresh();
  EXPECT_FALSE(none.armed());
  EXPECT_FALSE(none.fire(FaultPoint::kCrashHere));

  abi::ControlBlock cb{};
  FaultPoints fp(&cb);
  fp.refresh();
  for (uint32_t id = 1; id < abi::kFaultPointIdLimit; ++id)
    EXPECT_FALSE(fp.fire(static_cast<FaultPoint>(id)));
  arm(cb, FaultPoint::kWrongLength, 1);
  faultinject::disarm_fault_point(cb, FaultPoint::kWrongLength);
  fp.refresh();
  EXPECT_FALSE(fp.armed());
  EXPECT_FALSE(fp.fire(FaultPoint::kWrongLength));
  EXPECT_EQ(fp.fired(), 0u);
}

TEST(FaultPoints, FiresOnceOnTheAfterThPassPerGeneration) {
  abi::ControlBlock cb{};
  FaultPoints fp(&cb);
  arm(cb, FaultPoint::kSkipDoorbell, 3);
  EXPECT_FALSE(fp.fire(FaultPoint::kSkipDoorbell));  // not seen before refresh()
  fp.refresh();
  EXPECT_TRUE(fp.armed());
  EXPECT_FALSE(fp.fire(FaultPoint::kCrashHere));     // another point
  EXPECT_FALSE(fp.fire(FaultPoint::kSkipDoorbell));  // pass 1
  EXPECT_FALSE(fp.fire(FaultPoint::kSkipDoorbell));  // pass 2
  EXPECT_TRUE(fp.fire(FaultPoint::kSkipDoorbell));   // pass 3
  EXPECT_FALSE(fp.fire(FaultPoint::kSkipDoorbell));
  fp.refresh();  // same generation: stays fired
  EXPECT_FALSE(fp.fire(FaultPoint::kSkipDoorbell));
  EXPECT_FALSE(fp.armed());
  EXPECT_EQ(fp.fired(), 1u);

  arm(cb, FaultPoint::kSkipDoorbell, 0);  // new generation, after 0 = next pass
  fp.refresh();
  EXPECT_TRUE(fp.fire(FaultPoint::kSkipDoorbell));
  EXPECT_EQ(fp.fired(), 2u);
}

TEST(FaultPoints, ArgumentAndSeveralPointsAtOnce) {
  abi::ControlBlock cb{};
  FaultPoints fp(&cb);
  arm(cb, FaultPoint::kStall, 1, 123);
  arm(cb, FaultPoint::kLostCompletion, 2);
  fp.refresh();
  uint32_t arg = 0;
  EXPECT_TRUE(fp.fire(FaultPoint::kStall, &arg));
  EXPECT_EQ(arg, 123u);
  EXPECT_FALSE(fp.fire(FaultPoint::kLostCompletion));
  EXPECT_TRUE(fp.fire(FaultPoint::kLostCompletion));
}

TEST(FaultPoints, SlotCaughtMidWriteOrWithAnUnknownIdIsIgnored) {
  abi::ControlBlock cb{};
  FaultPoints fp(&cb);
  cb.faults[0] = {static_cast<uint32_t>(FaultPoint::kCrashHere), 1, 3, 0};  // odd: being written
  cb.faults[1] = {999, 1, 2, 0};
  fp.refresh();
  EXPECT_FALSE(fp.armed());
  cb.faults[0].generation = 4;  // the writer finished
  fp.refresh();
  EXPECT_TRUE(fp.fire(FaultPoint::kCrashHere));
}

TEST(FaultPoints, CompletionFaultsDropDuplicateAndLengthen) {
  abi::ControlBlock cb{};
  FaultPoints fp(&cb);
  std::vector<abi::BlockDescriptor> batch(4);
  for (uint32_t i = 0; i < 4; ++i) batch[i] = {i, 0, 0, 4096, 0, 0, 0};
  apply_completion_faults(fp, batch);  // disarmed: untouched
  ASSERT_EQ(batch.size(), 4u);
  arm(cb, FaultPoint::kLostCompletion, 2);
  arm(cb, FaultPoint::kDoubleCompletion, 3);
  arm(cb, FaultPoint::kWrongLength, 1);
  fp.refresh();
  apply_completion_faults(fp, batch);
  // tag 0: wrong length (pass 1); tag 1: lost (pass 2 of lost, so no pass of
  // the others); tag 3: third pass of double -> posted twice.
  ASSERT_EQ(batch.size(), 4u);
  EXPECT_EQ(batch[0].tag, 0u);
  EXPECT_EQ(batch[0].len, 4096u + abi::kWrongLengthDelta);
  EXPECT_EQ(batch[1].tag, 2u);
  EXPECT_EQ(batch[1].len, 4096u);
  EXPECT_EQ(batch[2].tag, 3u);
  EXPECT_EQ(batch[3].tag, 3u);
}

TEST(FaultPoints, LeakKeepsGrowingUntilTheSlotChanges) {
  abi::ControlBlock cb{};
  FaultPoints fp(&cb);
  arm(cb, FaultPoint::kLeakMemory, 2, 1);
  fp.on_loop_pass();
  EXPECT_EQ(fp.leaked_bytes(), 0u);  // pass 1 of after=2
  fp.on_loop_pass();
  fp.on_loop_pass();
  fp.on_loop_pass();
  EXPECT_EQ(fp.leaked_bytes(), 3u << 20);
  EXPECT_EQ(fp.fired(), 1u);
  faultinject::disarm_fault_point(cb, FaultPoint::kLeakMemory);
  fp.on_loop_pass();
  EXPECT_EQ(fp.leaked_bytes(), 3u << 20);
}

}  // namespace
}  // namespace uldd::drivers
