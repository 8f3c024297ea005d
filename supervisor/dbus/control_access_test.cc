// ControlAccess and the error map without a bus: who may mutate, what a
// refusal says, and which D-Bus name each seam error code gets.
#include "supervisor/dbus/control_access.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "supervisor/dbus/bus_error_map.h"
#include "supervisor/dbus/bus_names.h"

namespace uldd::dbus {
namespace {

TEST(ControlAccessTest, RootAndGroupMembersMayOthersMayNot) {
  const ControlAccess access("uldd", gid_t{990});
  EXPECT_TRUE(access.authorize(CallerIdentity{0, 1, {}}, "Restart").ok());
  EXPECT_TRUE(access.authorize(CallerIdentity{1000, 2, {100, 990}}, "Restart").ok());
  const Status refused = access.authorize(CallerIdentity{1000, 2, {100, 991}}, "Stop");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, EACCES);
  EXPECT_EQ(refused.error().message, "Stop refused: uid 1000 is neither root nor in group 'uldd'");
}

TEST(ControlAccessTest, WithoutAGroupOnlyRootMay) {
  const ControlAccess none("", std::nullopt);
  EXPECT_TRUE(none.authorize(CallerIdentity{0, 1, {}}, "Reload").ok());
  EXPECT_EQ(none.authorize(CallerIdentity{5, 1, {0}}, "Reload").error().message,
            "Reload refused: uid 5 is not root");
  const ControlAccess missing = ControlAccess::for_group("uldd-no-such-group-for-tests");
  EXPECT_FALSE(missing.group_gid().has_value());
  EXPECT_EQ(missing.authorize(CallerIdentity{5, 1, {}}, "Reload").error().message,
            "Reload refused: uid 5 is not root (control group 'uldd-no-such-group-for-tests' does "
            "not exist)");
  EXPECT_FALSE(ControlAccess::for_group("").group_gid().has_value());
}

TEST(ControlAccessTest, AnExistingGroupIsResolvedOnce) {
  const ControlAccess root_group = ControlAccess::for_group("root");
  ASSERT_TRUE(root_group.group_gid().has_value());
  EXPECT_EQ(*root_group.group_gid(), 0u);
}

TEST(BusErrorMapTest, EverySeamCodeHasItsName) {
  EXPECT_STREQ(bus_error_name(Error{ENOENT, ""}), kErrorNoSuchDevice);
  EXPECT_STREQ(bus_error_name(Error{EINVAL, ""}), kErrorInvalidArgs);
  EXPECT_STREQ(bus_error_name(Error{EBUSY, ""}), kErrorInvalidState);
  EXPECT_STREQ(bus_error_name(Error{ENOTSUP, ""}), kErrorNotSupported);
  EXPECT_STREQ(bus_error_name(Error{EIO, ""}), kErrorFailed);
  EXPECT_STREQ(bus_error_name(Error{EACCES, ""}), kErrorAccessDenied);
  EXPECT_STREQ(bus_error_name(Error{0, "plain"}), kErrorFailed);

  sd_bus_error error = SD_BUS_ERROR_NULL;
  EXPECT_LT(set_bus_error(&error, Error{EBUSY, "nic0 is colocated"}), 0);
  EXPECT_STREQ(error.name, kErrorInvalidState);
  EXPECT_STREQ(error.message, "nic0 is colocated");
  sd_bus_error_free(&error);
}

}  // namespace
}  // namespace uldd::dbus
