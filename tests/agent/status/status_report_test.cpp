#include "agent/status/status_report.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "shared/protocol/device_status.h"

namespace cjd::agent {
namespace {

TEST(StatusReport, CarriesBacklogAgeVersionAndClock) {
  StatusSnapshot s;
  s.device_id = "pos-1";
  s.store_id = "s1";
  s.kind = "pos";
  s.now_ms = 1'700'000'060'000;
  s.started_ms = 1'700'000'000'000;
  s.backlog = 5;
  s.oldest_accepted_ms = 1'700'000'030'000;
  s.last_ack_ms = 0;
  auto j = nlohmann::json::parse(StatusJson(s));
  EXPECT_EQ(j["device_id"], "pos-1");
  EXPECT_EQ(j["backlog"], 5);
  EXPECT_EQ(j["backlog_age_s"], 30);
  EXPECT_EQ(j["uptime_s"], 60);
  EXPECT_EQ(j["version"], CJD_VERSION);
  EXPECT_EQ(j["clock"], "2023-11-14T22:14:20.000Z");
  EXPECT_TRUE(j["last_ack_at"].is_null());
  EXPECT_FALSE(j["connected"].get<bool>());
}

TEST(StatusReport, EmptyBacklogHasNoAge) {
  StatusSnapshot s;
  s.now_ms = 2'000'000;
  s.oldest_accepted_ms = 1'000'000;
  s.backlog = 0;
  s.last_ack_ms = 1'500'000;
  auto j = nlohmann::json::parse(StatusJson(s));
  EXPECT_EQ(j["backlog_age_s"], 0);
  EXPECT_EQ(j["last_ack_at"], "1970-01-01T00:25:00.000Z");
}

TEST(StatusReport, CarriesTheOfferCacheVersionWhenTheAgentHasOne) {
  StatusSnapshot s;
  EXPECT_FALSE(nlohmann::json::parse(StatusJson(s)).contains("offers_version"));
  s.offers_enabled = true;
  s.offers_version = 42;
  s.offers_count = 3;
  s.offer_assignments = 7;
  s.impressions_dropped = 1;
  auto j = nlohmann::json::parse(StatusJson(s));
  EXPECT_EQ(j["offers_version"], 42);
  EXPECT_EQ(j["offers"], 3);
  EXPECT_EQ(j["offer_assignments"], 7);
  EXPECT_EQ(j["impressions_dropped"], 1);
  EXPECT_EQ(j["offer_updates_rejected"], 0);
}

// The hub decodes every status with the shared strict decoder: what the agent writes must pass.
TEST(StatusReport, PassesTheHubsStrictDecoder) {
  StatusSnapshot s;
  s.device_id = "kiosk-1";
  s.store_id = "s1";
  s.kind = "kiosk";
  s.now_ms = 1'700'000'060'000;
  s.started_ms = 1'700'000'000'000;
  s.last_seq = 9;
  s.acked_seq = 7;
  s.backlog = 2;
  s.last_ack_ms = 1'700'000'050'000;
  for (bool offers : {false, true}) {
    s.offers_enabled = offers;
    s.offers_version = 5;
    auto d = DecodeDeviceStatus(StatusJson(s));
    ASSERT_TRUE(d.ok()) << d.status().ToString() << " " << StatusJson(s);
    EXPECT_TRUE(d->online);
    EXPECT_EQ(d->device_id, "kiosk-1");
    EXPECT_EQ(d->clock_ms, s.now_ms);
    EXPECT_EQ(d->last_seq, 9u);
    EXPECT_EQ(d->offers_version.has_value(), offers);
  }
}

// Twenty resets (all the outbox keeps) whose details hold a path with UTF-8 cut mid-character,
// control characters and quotes: the status still serialises and passes the hub's decoder.
TEST(StatusReport, ResetDetailsOfAnyBytesStayPrintableAndWithinTheHubsLimit) {
  StatusSnapshot s;
  s.device_id = "pos-1";
  s.store_id = "s1";
  s.kind = "pos";
  s.epoch = 0xabc;
  std::string detail = "quick_check: *** in database main ***\nPage 6: \"bad\" \\ ";
  while (detail.size() < kMaxResetDetail - 1) detail += "/var/lib/cjd/tienda-a\xc3\xb1o";
  detail.resize(kMaxResetDetail - 1);
  detail += "\xc3\xb1\x01\xff";  // "ñ" split by the cut, then a control and an invalid byte
  for (size_t i = 0; i < 20; ++i) {
    s.outbox_resets.push_back(OutboxResetReport{1'700'000'000'000, "corrupt", detail, 0xabc});
  }
  std::string text;
  ASSERT_NO_THROW(text = StatusJson(s));
  auto d = DecodeDeviceStatus(text);
  ASSERT_TRUE(d.ok()) << d.status().ToString() << " (" << text.size() << " bytes)";
  ASSERT_EQ(d->outbox_resets.size(), 20u);
  const std::string& got = d->outbox_resets[0].detail;
  EXPECT_EQ(got.size(), kMaxResetDetail);
  EXPECT_EQ(got.substr(0, 37), "quick_check: *** in database main ***");
  for (char c : got) EXPECT_TRUE(c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') << int(c);
}

TEST(StatusReport, CarriesMemoryOnlyWhenSetAndTheHeartbeatDecoderIgnoresIt) {
  StatusSnapshot s;
  EXPECT_FALSE(nlohmann::json::parse(StatusJson(s)).contains("memory"));
  s.memory = ReadMemoryReport();
  const auto j = nlohmann::json::parse(StatusJson(s));
  ASSERT_TRUE(j.contains("memory"));
  // This test process is resident and SQLite's counter is readable.
  EXPECT_GT(j["memory"]["rss_bytes"].get<int64_t>(), 0);
  EXPECT_GE(j["memory"]["sqlite_bytes"].get<int64_t>(), 0);
  EXPECT_GE(j["memory"]["sqlite_peak_bytes"].get<int64_t>(),
            j["memory"]["sqlite_bytes"].get<int64_t>());
  EXPECT_TRUE(DecodeDeviceStatus(StatusJson(s)).ok());
}

}  // namespace
}  // namespace cjd::agent
