#include "shared/protocol/device_status.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace cjd {
namespace {

// What an agent sends (agent/status/status_report.cpp), with offers.
constexpr const char* kHeartbeat =
    R"({"device_id":"kiosk-1","store_id":"s1","kind":"kiosk","version":"0.1.0","online":true,)"
    R"("connected":true,"clock":"2026-11-23T14:12:36.120Z","clock_ms":1795443156120,)"
    R"("uptime_s":60,"backlog":3,"backlog_bytes":900,"budget_bytes":1000000,"backlog_age_s":2,)"
    R"("last_seq":42,"acked_seq":39,"last_ack_at":null,"accepted_total":42,"refused_full":0,)"
    R"("duplicates_total":0,"batches_sent":7,"resends":1,"reconnects":0,"bad_downlink":0,)"
    R"("offers_version":12,"offers":4,"offer_assignments":9,"offer_updates_applied":3,)"
    R"("offer_updates_rejected":0,"impressions_recorded":5,"impressions_dropped":0,)"
    R"("will_ms":1795443100000})";

TEST(DeviceStatus, DecodesAnAgentHeartbeat) {
  auto s = DecodeDeviceStatus(kHeartbeat);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->online);
  EXPECT_EQ(s->device_id, "kiosk-1");
  EXPECT_EQ(s->store_id, "s1");
  EXPECT_EQ(s->kind, "kiosk");
  EXPECT_EQ(s->version, "0.1.0");
  EXPECT_EQ(s->clock_ms, 1795443156120);
  EXPECT_EQ(s->will_ms, 1795443100000);
  EXPECT_EQ(s->last_seq, 42u);
  EXPECT_EQ(s->acked_seq, 39u);
  EXPECT_EQ(s->backlog, 3);
  EXPECT_EQ(s->backlog_age_s, 2);
  EXPECT_EQ(s->offers_version, 12u);
}

TEST(DeviceStatus, OnlyOnlineIsRequiredAndUnknownFieldsAreIgnored) {
  auto s = DecodeDeviceStatus(R"({"online":false,"a_newer_field":[1,2]})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_FALSE(s->online);
  EXPECT_FALSE(s->clock_ms.has_value());
  EXPECT_FALSE(s->offers_version.has_value());
  EXPECT_EQ(s->backlog, 0);

  auto missing = DecodeDeviceStatus(R"({"backlog":1})");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().field(), "online");
}

// Each entry: a status body and the field the decoder must name.
struct BadCase {
  const char* body;
  const char* field;
};

TEST(DeviceStatus, NamesTheFirstIllTypedField) {
  const BadCase cases[] = {
      {R"({"online":"yes"})", "online"},
      {R"({"online":1})", "online"},
      {R"({"online":true,"backlog":"7"})", "backlog"},
      {R"({"online":true,"backlog":-1})", "backlog"},
      {R"({"online":true,"backlog":1.5})", "backlog"},
      {R"({"online":true,"backlog":18446744073709551615})", "backlog"},
      {R"({"online":true,"last_seq":-3})", "last_seq"},
      {R"({"online":true,"offers_version":"12"})", "offers_version"},
      {R"({"online":true,"offers_version":null})", "offers_version"},
      {R"({"online":true,"clock_ms":-5})", "clock_ms"},
      {R"({"online":true,"clock_ms":{"a":1}})", "clock_ms"},
      {R"({"online":true,"version":7})", "version"},
      {R"({"online":true,"device_id":null})", "device_id"},
      {R"({"online":true,"last_ack_at":5})", "last_ack_at"},
      {R"({"online":true,"connected":"no"})", "connected"},
  };
  for (const BadCase& c : cases) {
    auto s = DecodeDeviceStatus(c.body);
    ASSERT_FALSE(s.ok()) << c.body;
    EXPECT_EQ(s.status().code(), Code::kInvalid) << c.body;
    EXPECT_EQ(s.status().field(), c.field) << c.body;
  }
}

TEST(DeviceStatus, DecodesTheOutboxEpochAndItsResets) {
  auto s = DecodeDeviceStatus(
      R"({"online":true,"epoch":"00000000000000ff","epoch_confirmed":true,"acks_ignored":0,)"
      R"("probes_sent":1,"refused_disk_full":2,"outbox_resets":[{"at":"2026-12-02T10:00:00Z",)"
      R"("reason":"corrupt","detail":"moved aside","epoch":"00000000000000ff","more":1}]})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->epoch, "00000000000000ff");
  ASSERT_EQ(s->outbox_resets.size(), 1u);
  EXPECT_EQ(s->outbox_resets[0].reason, "corrupt");
  EXPECT_EQ(s->outbox_resets[0].detail, "moved aside");
  // Typed like every other field, and bounded: each error names where it is.
  const std::pair<const char*, const char*> bad[] = {
      {R"({"online":true,"epoch":255})", "epoch"},
      {R"({"online":true,"epoch_confirmed":"yes"})", "epoch_confirmed"},
      {R"({"online":true,"refused_disk_full":-1})", "refused_disk_full"},
      {R"({"online":true,"outbox_resets":{}})", "outbox_resets"},
      {R"({"online":true,"outbox_resets":[1]})", "outbox_resets[0]"},
      {R"({"online":true,"outbox_resets":[{},{"detail":false}]})", "outbox_resets[1].detail"},
  };
  for (const auto& [text, field] : bad) {
    auto r = DecodeDeviceStatus(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().field(), field) << text;
  }
  std::string many = R"({"online":true,"outbox_resets":[)";
  for (size_t i = 0; i <= kMaxOutboxResets; ++i) many += std::string(i ? "," : "") + "{}";
  many += "]}";
  auto r = DecodeDeviceStatus(many);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "outbox_resets");
}

TEST(DeviceStatus, RejectsWhatIsNotAnObjectOrTooLarge) {
  for (const char* body : {"", "not json", "[]", "true", "null", R"("online")", "{\"online\":true"}) {
    auto s = DecodeDeviceStatus(body);
    EXPECT_FALSE(s.ok()) << body;
    EXPECT_EQ(s.status().code(), Code::kInvalid) << body;
  }
  std::string big = R"({"online":true,"pad":")" + std::string(kMaxStatusBytes, 'x') + "\"}";
  EXPECT_FALSE(DecodeDeviceStatus(big).ok());
  // Deep nesting inside an unknown field is bounded by the size limit and does not throw.
  std::string deep = R"({"online":true,"x":)" + std::string(5000, '[') + std::string(5000, ']') + "}";
  EXPECT_TRUE(DecodeDeviceStatus(deep).ok());
}

}  // namespace
}  // namespace cjd
