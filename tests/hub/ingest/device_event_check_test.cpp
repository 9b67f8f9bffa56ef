#include "hub/ingest/device_event_check.h"

#include <gtest/gtest.h>

#include "shared/event/json_exact.h"

namespace cjd::hub {
namespace {

DeviceRecord Device(const std::string& kind = "pos") {
  DeviceRecord r;
  r.device_id = "pos-1";
  r.store_id = "s1";
  r.kind = kind;
  return r;
}

// A wire event as an agent would send it, from the event JSON text.
WireEvent Wire(const std::string& json_text) {
  auto parsed = ParseJsonExact(json_text);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  auto e = ValidateEvent(*parsed);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  WireEvent w;
  w.seq = 1;
  w.event_id = e->event_id;
  w.type = static_cast<uint8_t>(e->type);
  w.occurred_at_ms = e->occurred_at_ms;
  w.body = ToCanonicalJson(*e);
  return w;
}

const char* kScan =
    R"({"type":"loyalty_scan","event_id":"e1","occurred_at":"2026-11-23T14:12:36Z",)"
    R"("store_id":"s1","customer":{"loyalty_id":"L1"}})";

TEST(DeviceEventCheck, AcceptsWhatTheAgentApiAcceptsAndKeepsItCanonical) {
  for (const char* kind : {"pos", "kiosk"}) {
    WireEvent w = Wire(kScan);
    const std::string canonical = w.body;
    EXPECT_EQ(CheckDeviceEvent(Device(kind), &w), nullptr) << kind;
    EXPECT_EQ(w.body, canonical);
  }
}

TEST(DeviceEventCheck, RefusesTypesTheAgentApiNeverTakes) {
  WireEvent w = Wire(
      R"({"type":"identify","event_id":"e2","occurred_at":"2026-11-23T14:12:36Z",)"
      R"("store_id":"s1","customer":{"loyalty_id":"L1"},"attributes":{"tier":"gold"}})");
  EXPECT_STREQ(CheckDeviceEvent(Device("pos"), &w), "event_type");
  EXPECT_STREQ(CheckDeviceEvent(Device("kiosk"), &w), "event_type");
  WireEvent scan = Wire(kScan);
  EXPECT_STREQ(CheckDeviceEvent(Device("toaster"), &scan), "event_type");
}

TEST(DeviceEventCheck, RefusesAnotherStoresEvents) {
  WireEvent w = Wire(
      R"({"type":"loyalty_scan","event_id":"e3","occurred_at":"2026-11-23T14:12:36Z",)"
      R"("store_id":"s2","customer":{"loyalty_id":"L1"}})");
  EXPECT_STREQ(CheckDeviceEvent(Device(), &w), "event_store");
}

TEST(DeviceEventCheck, RefusesBodiesThatAreInvalidOrDisagreeWithTheBatch) {
  WireEvent w = Wire(kScan);
  w.body = R"({"type":"loyalty_scan"})";
  EXPECT_STREQ(CheckDeviceEvent(Device(), &w), "event_invalid");
  w = Wire(kScan);
  w.body = "not json";
  EXPECT_STREQ(CheckDeviceEvent(Device(), &w), "event_invalid");
  w = Wire(kScan);
  w.event_id = "other";
  EXPECT_STREQ(CheckDeviceEvent(Device(), &w), "event_invalid");
  w = Wire(kScan);
  w.type = static_cast<uint8_t>(EventType::kTransaction);
  EXPECT_STREQ(CheckDeviceEvent(Device(), &w), "event_invalid");
  w = Wire(kScan);
  w.occurred_at_ms += 1;
  EXPECT_STREQ(CheckDeviceEvent(Device(), &w), "event_invalid");
}

}  // namespace
}  // namespace cjd::hub
