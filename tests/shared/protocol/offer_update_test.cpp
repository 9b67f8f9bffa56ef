// The offer update wire format: round trips, a golden vector, strict validation naming the field,
// truncated and garbage input, and the sealed frame.
#include "shared/protocol/offer_update.h"

#include <gtest/gtest.h>

#include "shared/protocol/envelope.h"
#include "shared/protocol/keys.h"

namespace cjd {
namespace {

OfferRecord MakeOffer(const std::string& id, uint64_t version) {
  OfferRecord o;
  o.id = id;
  o.title = "10% off candles";
  o.text = "Show this at the till.";
  o.valid_from = "2026-11-01T00:00:00Z";
  o.valid_until = "2026-12-01T00:00:00+01:00";
  o.priority = 5;
  o.requires_consent = true;
  o.max_per_customer = 2;
  o.version = version;
  return o;
}

OfferUpdate Sample() {
  OfferUpdate u;
  u.version = 7;
  u.offers.push_back(MakeOffer("o-1", 3));
  OfferRecord gone;
  gone.id = "o-2";
  gone.version = 4;
  gone.deleted = true;
  u.offers.push_back(gone);
  u.assignments.push_back(OfferAssignment{"L-100", {"o-1", "o-3"}, 6});
  u.general = GeneralOffers{{"o-3"}, 2};
  return u;
}

// The exact bytes EncodeOfferUpdate writes for Sample(): compact JSON, sorted keys. A change here
// is a wire format change (the hub and every agent must agree).
constexpr const char* kGolden =
    R"({"assignments":[{"loyalty_id":"L-100","offers":["o-1","o-3"],"version":6}],)"
    R"("general":{"offers":["o-3"],"version":2},)"
    R"("offers":[{"deleted":false,"id":"o-1","max_per_customer":2,"priority":5,)"
    R"("requires_consent":true,"text":"Show this at the till.","title":"10% off candles",)"
    R"("valid_from":"2026-11-01T00:00:00Z","valid_until":"2026-12-01T00:00:00+01:00","version":3},)"
    R"({"deleted":true,"id":"o-2","version":4}],"version":7})";

TEST(OfferUpdate, EncodesTheGoldenVector) { EXPECT_EQ(EncodeOfferUpdate(Sample()), kGolden); }

TEST(OfferUpdate, DecodesTheGoldenVectorWithInstants) {
  auto u = DecodeOfferUpdate(kGolden);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->version, 7u);
  ASSERT_EQ(u->offers.size(), 2u);
  EXPECT_EQ(u->offers[0].valid_from_ms, 1'793'491'200'000);       // 2026-11-01T00:00:00Z
  EXPECT_EQ(u->offers[0].valid_until_ms, 1'796'079'600'000);      // 2026-11-30T23:00:00Z
  OfferUpdate expected = Sample();
  expected.offers[0].valid_from_ms = u->offers[0].valid_from_ms;
  expected.offers[0].valid_until_ms = u->offers[0].valid_until_ms;
  EXPECT_EQ(*u, expected);
}

TEST(OfferUpdate, RoundTripsMinimalAndFullUpdates) {
  OfferUpdate minimal;
  minimal.version = 1;
  auto a = DecodeOfferUpdate(EncodeOfferUpdate(minimal));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, minimal);

  auto b = DecodeOfferUpdate(EncodeOfferUpdate(Sample()));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(EncodeOfferUpdate(*b), kGolden);
  // Optional fields may be left out by a sender.
  auto c = DecodeOfferUpdate(R"({"version": 9})");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->offers.empty());
  EXPECT_FALSE(c->general.has_value());
  EXPECT_EQ(c->base, 0u);
  // An incremental update names its base; a complete one (base 0) leaves it out.
  OfferUpdate incremental;
  incremental.version = 12;
  incremental.base = 9;
  const std::string text = EncodeOfferUpdate(incremental);
  EXPECT_NE(text.find(R"("base":9)"), std::string::npos) << text;
  auto d = DecodeOfferUpdate(text);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, incremental);
  EXPECT_EQ(EncodeOfferUpdate(minimal).find("base"), std::string::npos);
  // A removed assignment carries no list; an empty list is kept as a list.
  OfferUpdate removal;
  removal.version = 3;
  removal.assignments = {{"L-1", {}, 3}, {"L-2", {}, 3}};
  removal.assignments[0].deleted = true;
  const std::string rtext = EncodeOfferUpdate(removal);
  EXPECT_NE(rtext.find(R"({"deleted":true,"loyalty_id":"L-1","version":3})"), std::string::npos)
      << rtext;
  EXPECT_NE(rtext.find(R"({"loyalty_id":"L-2","offers":[],"version":3})"), std::string::npos)
      << rtext;
  auto r = DecodeOfferUpdate(rtext);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, removal);
}

std::string FieldOf(std::string_view json) {
  auto r = DecodeOfferUpdate(json);
  EXPECT_FALSE(r.ok()) << json;
  if (r.ok()) return "<accepted>";
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  return r.status().field();
}

TEST(OfferUpdate, ValidationErrorsNameTheField) {
  const std::string offer =
      R"("id":"o-1","title":"t","text":"x","valid_from":"2026-11-01T00:00:00Z",)"
      R"("valid_until":"2026-12-01T00:00:00Z","priority":1,"requires_consent":false,)"
      R"("max_per_customer":0,"version":1)";
  auto with = [&](const std::string& extra) {
    return R"({"version":1,"offers":[{)" + offer + extra + "}]}";
  };
  ASSERT_TRUE(DecodeOfferUpdate(with("")).ok());
  EXPECT_EQ(FieldOf(R"({"offers":[]})"), "version");
  EXPECT_EQ(FieldOf(R"({"version":0})"), "version");
  EXPECT_EQ(FieldOf(R"({"version":-3})"), "version");
  EXPECT_EQ(FieldOf(R"({"version":"1"})"), "version");
  EXPECT_EQ(FieldOf(R"({"version":1.5})"), "version");
  EXPECT_EQ(FieldOf(R"({"version":1,"colour":1})"), "colour");
  EXPECT_EQ(FieldOf(R"({"version":4,"base":4})"), "base");  // must be below version
  EXPECT_EQ(FieldOf(R"({"version":4,"base":-1})"), "base");
  EXPECT_EQ(FieldOf(R"({"version":4,"base":"2"})"), "base");
  EXPECT_EQ(FieldOf(R"({"version":1,"offers":{}})"), "offers");
  EXPECT_EQ(FieldOf(with(R"(,"extra":1)")), "offers[0].extra");
  EXPECT_EQ(FieldOf(R"({"version":1,"offers":[{"id":"o 1","version":1,"deleted":true}]})"),
            "offers[0].id");
  EXPECT_EQ(FieldOf(R"({"version":1,"offers":[{"id":"o-1","deleted":true}]})"),
            "offers[0].version");
  EXPECT_EQ(FieldOf(R"({"version":1,"offers":[{"id":"o-1","version":1}]})"), "offers[0].title");
  const std::string bad_until =
      R"({"version":1,"offers":[{"id":"o-1","title":"t","text":"x",)"
      R"("valid_from":"2026-11-01T00:00:00Z","valid_until":"2026-12-01 00:00","priority":1,)"
      R"("requires_consent":false,"max_per_customer":0,"version":1}]})";
  EXPECT_EQ(FieldOf(bad_until), "offers[0].valid_until");
  const std::string reversed =
      R"({"version":1,"offers":[{"id":"o-1","title":"t","text":"x",)"
      R"("valid_from":"2026-12-01T00:00:00Z","valid_until":"2026-11-01T00:00:00Z","priority":1,)"
      R"("requires_consent":false,"max_per_customer":0,"version":1}]})";
  EXPECT_EQ(FieldOf(reversed), "offers[0].valid_until");
  const std::string neg_max =
      R"({"version":1,"offers":[{"id":"o-1","title":"t","text":"x",)"
      R"("valid_from":"2026-11-01T00:00:00Z","valid_until":"2026-12-01T00:00:00Z","priority":1,)"
      R"("requires_consent":"no","max_per_customer":0,"version":1}]})";
  EXPECT_EQ(FieldOf(neg_max), "offers[0].requires_consent");
  EXPECT_EQ(FieldOf(R"({"version":1,"offers":[)" "{" + offer + "},{" + offer + "}]}"),
            "offers[1].id");
  EXPECT_EQ(FieldOf(R"({"version":1,"assignments":[{"loyalty_id":"","offers":[],"version":1}]})"),
            "assignments[0].loyalty_id");
  EXPECT_EQ(
      FieldOf(R"({"version":1,"assignments":[{"loyalty_id":"a\u0001","offers":[],"version":1}]})"),
      "assignments[0].loyalty_id");
  EXPECT_EQ(
      FieldOf(R"({"version":1,"assignments":[{"loyalty_id":"a","offers":["x","x"],"version":1}]})"),
      "assignments[0].offers[1]");
  EXPECT_EQ(FieldOf(R"({"version":1,"assignments":[{"loyalty_id":"a","offers":[1],"version":1}]})"),
            "assignments[0].offers[0]");
  EXPECT_EQ(FieldOf(R"({"version":1,"general":{"offers":["a"]}})"), "general.version");
  EXPECT_EQ(FieldOf(R"({"version":1,"assignments":[{"loyalty_id":"a","version":1}]})"),
            "assignments[0].offers");
  EXPECT_EQ(
      FieldOf(R"({"version":1,"assignments":[{"loyalty_id":"a","deleted":1,"version":1}]})"),
      "assignments[0].deleted");
  EXPECT_EQ(FieldOf(R"({"version":1,"general":[]})"), "general");
}

TEST(OfferUpdate, RejectsTruncatedAndGarbageInput) {
  const std::string golden = kGolden;
  for (size_t n = 0; n < golden.size(); ++n) {
    auto r = DecodeOfferUpdate(golden.substr(0, n));
    EXPECT_FALSE(r.ok()) << "accepted a prefix of " << n << " bytes";
  }
  EXPECT_FALSE(DecodeOfferUpdate("").ok());
  EXPECT_FALSE(DecodeOfferUpdate(std::string("\x28\xb5\x2f\xfd\x00\xff", 6)).ok());
  EXPECT_FALSE(DecodeOfferUpdate("[1,2,3]").ok());
  EXPECT_FALSE(DecodeOfferUpdate(golden + "}").ok());
  EXPECT_FALSE(DecodeOfferUpdate("null").ok());
}

TEST(OfferUpdate, SealedFrameOpensWithTheDownlinkKeyOnly) {
  ASSERT_TRUE(InitCrypto().ok());
  const KeyPair device = NewKeyPair();
  const KeyPair hub = NewKeyPair();
  auto hub_keys = HubSessionKeys(hub, device.public_key, 3);
  auto dev_keys = DeviceSessionKeys(device, hub.public_key, 3);
  ASSERT_TRUE(hub_keys.ok() && dev_keys.ok());
  const std::string frame = SealOfferUpdate(Sample(), "kiosk-1", hub_keys->downlink, 3);

  FrameHeader h;
  auto plain = OpenFrame(frame, "kiosk-1", dev_keys->downlink, &h);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(h.kind, FrameKind::kOfferUpdate);
  EXPECT_EQ(h.key_id, 3u);
  EXPECT_EQ(h.first_seq, 7u);
  EXPECT_EQ(h.last_seq, 7u);
  auto u = DecodeOfferUpdateFrame(h, *plain);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(EncodeOfferUpdate(*u), kGolden);

  EXPECT_FALSE(OpenFrame(frame, "kiosk-1", dev_keys->uplink, &h).ok());
  EXPECT_FALSE(OpenFrame(frame, "kiosk-2", dev_keys->downlink, &h).ok());
}

TEST(OfferUpdate, FrameVersionMustMatchTheHeader) {
  FrameHeader h;
  h.kind = FrameKind::kOfferUpdate;
  h.first_seq = h.last_seq = 8;
  EXPECT_EQ(DecodeOfferUpdateFrame(h, kGolden).status().field(), "version");
  h.kind = FrameKind::kAck;
  h.first_seq = h.last_seq = 7;
  EXPECT_FALSE(DecodeOfferUpdateFrame(h, kGolden).ok());
}

TEST(OfferUpdate, IdRules) {
  EXPECT_TRUE(IsValidOfferId("Spring_2026:candles-10.pct"));
  EXPECT_FALSE(IsValidOfferId(""));
  EXPECT_FALSE(IsValidOfferId(std::string(65, 'a')));
  EXPECT_FALSE(IsValidOfferId("a/b"));
  EXPECT_TRUE(IsValidLoyaltyId("LOY 123 ä"));
  EXPECT_FALSE(IsValidLoyaltyId(""));
  EXPECT_FALSE(IsValidLoyaltyId(std::string(65, 'a')));
  EXPECT_FALSE(IsValidLoyaltyId("a\tb"));
  EXPECT_FALSE(IsValidLoyaltyId("a\x7f"));
  // Well-formed UTF-8 only: it ends up in events and JSON.
  EXPECT_FALSE(IsValidLoyaltyId("\xff"));
  EXPECT_FALSE(IsValidLoyaltyId("ab\xc3"));          // truncated sequence
  EXPECT_FALSE(IsValidLoyaltyId("\xc0\xaf"));        // overlong '/'
  EXPECT_FALSE(IsValidLoyaltyId("\xed\xa0\x80"));    // a UTF-16 surrogate
  EXPECT_TRUE(IsValidLoyaltyId("\xf0\x9f\x8e\x81 gift"));
}

}  // namespace
}  // namespace cjd
