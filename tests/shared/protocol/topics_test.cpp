#include "shared/protocol/topics.h"

#include <gtest/gtest.h>

namespace cjd::topics {
namespace {

TEST(TopicsTest, Build) {
  EXPECT_EQ(Up("dev-001"), "cjd/v1/dev/dev-001/up");
  EXPECT_EQ(Down("dev-001"), "cjd/v1/dev/dev-001/down");
  EXPECT_EQ(Status("dev-001"), "cjd/v1/dev/dev-001/status");
  EXPECT_EQ(AllUp(), "cjd/v1/dev/+/up");
  EXPECT_EQ(AllStatus(), "cjd/v1/dev/+/status");
}

TEST(TopicsTest, ParseRoundTrip) {
  for (const std::string& id : {std::string("dev-001"), std::string("a"), std::string("A.b_C-9"),
                                std::string(64, 'x')}) {
    std::optional<Parsed> up = Parse(Up(id));
    ASSERT_TRUE(up.has_value()) << id;
    EXPECT_EQ(up->device_id, id);
    EXPECT_EQ(up->channel, Channel::kUp);
    std::optional<Parsed> down = Parse(Down(id));
    ASSERT_TRUE(down.has_value());
    EXPECT_EQ(down->device_id, id);
    EXPECT_EQ(down->channel, Channel::kDown);
    std::optional<Parsed> status = Parse(Status(id));
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->device_id, id);
    EXPECT_EQ(status->channel, Channel::kStatus);
  }
}

TEST(TopicsTest, ParseRejectsWhatIsNotOurs) {
  const std::vector<std::string> bad = {
      "",
      "cjd/v1/dev/+/up",            // a filter, not a concrete topic
      "cjd/v1/dev/#",
      "cjd/v1/dev/#/up",
      "cjd/v1/dev/a/b/up",          // extra level
      "cjd/v1/dev/a/up/extra",
      "cjd/v1/dev/a/up/",
      "cjd/v1/dev//up",             // empty device id
      "cjd/v1/dev/a/",
      "cjd/v1/dev/a",
      "cjd/v1/dev/",
      "cjd/v1/dev",
      "cjd/v1/dev/a/UP",
      "cjd/v1/dev/a/upp",
      "cjd/v1/dev/a/ack",
      "cjd/v2/dev/a/up",            // wrong prefix
      "/cjd/v1/dev/a/up",
      "xcjd/v1/dev/a/up",
      "CJD/v1/dev/a/up",
      "cjd/v1/devs/a/up",
      "cjd/v1/dev/a b/up",
      "cjd/v1/dev/" + std::string(65, 'x') + "/up",  // device id too long
      std::string("cjd/v1/dev/a\0b/up", 17),
      "cjd/v1/dev/d\xc3\xa9v/up",   // non-ASCII
  };
  for (const std::string& topic : bad) {
    EXPECT_FALSE(Parse(topic).has_value()) << topic;
  }
}

TEST(TopicsTest, DeviceIds) {
  EXPECT_TRUE(IsValidDeviceId("a"));
  EXPECT_TRUE(IsValidDeviceId("store-42.till_3"));
  EXPECT_TRUE(IsValidDeviceId("ABCxyz0189"));
  EXPECT_TRUE(IsValidDeviceId(std::string(64, 'z')));
  EXPECT_FALSE(IsValidDeviceId(""));
  EXPECT_FALSE(IsValidDeviceId(std::string(65, 'z')));
  for (std::string_view bad : {"a/b", "+", "#", "a+", "a#b", "a b", "a\tb", "a\nb", "ä", "a:b",
                               "a$", "a*"}) {
    EXPECT_FALSE(IsValidDeviceId(bad)) << bad;
  }
  EXPECT_FALSE(IsValidDeviceId(std::string_view("a\0b", 3)));
}

}  // namespace
}  // namespace cjd::topics

namespace cjd::topics {
namespace {

TEST(Topics, HubStatusIsNotADeviceTopic) {
  EXPECT_EQ(HubStatus(), "cjd/v1/hub/status");
  EXPECT_FALSE(Parse(HubStatus()).has_value());
}

}  // namespace
}  // namespace cjd::topics
