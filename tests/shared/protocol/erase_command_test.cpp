// The erase command and receipt (erase_command.h): round trips, and strict decoding of what a
// sealed frame may carry (a device key stolen from a till can seal anything).
#include "shared/protocol/erase_command.h"

#include <gtest/gtest.h>

#include <vector>

namespace cjd {
namespace {

TEST(EraseCommand, RoundTrips) {
  EraseCommand c;
  c.erasure_id = "era_0123456789abcdef0123";
  c.identifiers = {{"email", "ann@example.com"}, {"phone", "+442079460958"}, {"loyalty_id", "L-1"}};
  c.default_country = "GB";
  auto back = DecodeEraseCommand(EncodeEraseCommand(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->erasure_id, c.erasure_id);
  EXPECT_EQ(back->identifiers, c.identifiers);
  EXPECT_EQ(back->default_country, "GB");

  EraseReceipt r{c.erasure_id, 3, 1};
  auto rb = DecodeEraseReceipt(EncodeEraseReceipt(r));
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_EQ(rb->erasure_id, r.erasure_id);
  EXPECT_EQ(rb->outbox_redacted, 3);
  EXPECT_EQ(rb->offers_removed, 1);
}

TEST(EraseCommand, DecodingIsStrict) {
  const std::string id = R"("erasure_id":"era_0123456789abcdef0123")";
  for (const std::string& bad : std::vector<std::string>{
           "[]", "not json", "{}",
           R"({"erasure_id":"era_XYZ","identifiers":[["email","a@b.c"]]})",
           R"({"erasure_id":"era_0123456789ABCDEF0123","identifiers":[["email","a@b.c"]]})",
           "{" + id + "}",
           "{" + id + R"(,"identifiers":[]})",
           "{" + id + R"(,"identifiers":[["shoe","42"]]})",
           "{" + id + R"(,"identifiers":[["email",""]]})",
           "{" + id + R"(,"identifiers":[["email"]]})",
           "{" + id + R"(,"identifiers":[["email",7]]})",
           "{" + id + R"(,"identifiers":[["email","a@b.c"]],"default_country":"GBR"})",
           "{" + id + R"(,"identifiers":[["email","a@b.c"]],"extra":1})",
       }) {
    EXPECT_FALSE(DecodeEraseCommand(bad).ok()) << bad;
  }
  std::string many = "{" + id + R"(,"identifiers":[)";
  for (size_t i = 0; i <= kMaxEraseIdentifiers; ++i) many += std::string(i ? "," : "") + R"(["email","a@b.c"])";
  EXPECT_FALSE(DecodeEraseCommand(many + "]}").ok());
  for (const std::string& bad : std::vector<std::string>{
           "{}", "{" + id + R"(,"outbox_redacted":-1})",
           "{" + id + R"(,"offers_removed":"2"})", "{" + id + R"(,"more":true})"}) {
    EXPECT_FALSE(DecodeEraseReceipt(bad).ok()) << bad;
  }
  EXPECT_TRUE(DecodeEraseReceipt("{" + id + "}").ok());
}

}  // namespace
}  // namespace cjd
