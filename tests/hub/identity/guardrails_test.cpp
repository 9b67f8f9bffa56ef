#include "hub/identity/guardrails.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace cjd::hub::identity {
namespace {

// Normalises `raw` (default country GB) and checks it with `g`.
CheckResult CheckRaw(const Guardrails& g, IdType type, const std::string& raw,
                     const std::string& country = "GB") {
  const Result<std::string> n = Normalize(type, raw, NormalizeOptions{country});
  EXPECT_TRUE(n.ok()) << raw << ": " << n.status().ToString();
  return n.ok() ? g.Check(type, *n) : CheckResult{Verdict::kBlock, "invalid"};
}

TEST(Guardrails, DefaultLimits) {
  const Guardrails g;
  EXPECT_EQ(g.Limit(IdType::kEmail), 5);
  EXPECT_EQ(g.Limit(IdType::kPhone), 3);
  EXPECT_EQ(g.Limit(IdType::kLoyaltyId), 2);
  EXPECT_EQ(g.Limit(IdType::kCustomerId), 2);
  EXPECT_EQ(g.Limit(IdType::kCardFingerprint), 10);
  EXPECT_EQ(g.Limit(IdType::kAnonymousId), 200);
  EXPECT_TRUE(g.HasRoom(IdType::kPhone, 2));
  EXPECT_FALSE(g.HasRoom(IdType::kPhone, 3));
  GuardrailConfig unlimited;
  unlimited.max_per_profile[TypeIndex(IdType::kPhone)] = 0;
  EXPECT_TRUE(Guardrails(unlimited, {}).HasRoom(IdType::kPhone, 1000));
}

TEST(Guardrails, JunkValuesOfAnyType) {
  const Guardrails g;
  for (const char* v : {"0", "null", "NULL", "None", "n/a", "N/A", "unknown", "test", "-",
                        "1234567890", "0000000000"}) {
    for (IdType t : {IdType::kLoyaltyId, IdType::kCustomerId, IdType::kCardFingerprint,
                     IdType::kAnonymousId}) {
      const CheckResult r = CheckRaw(g, t, v);
      EXPECT_EQ(r.verdict, Verdict::kBlock) << IdTypeName(t) << " " << v;
      EXPECT_EQ(r.reason, "blocklisted");
      EXPECT_FALSE(r.allowed());
    }
  }
  EXPECT_EQ(g.Check(IdType::kLoyaltyId, "").verdict, Verdict::kBlock);
  const CheckResult ok = CheckRaw(g, IdType::kLoyaltyId, "LOY-000123");
  EXPECT_EQ(ok.verdict, Verdict::kAllow);
  EXPECT_TRUE(ok.reason.empty());
  EXPECT_EQ(CheckRaw(g, IdType::kCustomerId, "nullable-7").verdict, Verdict::kAllow);
}

TEST(Guardrails, JunkEmails) {
  const Guardrails g;
  for (const char* v : {"test@test.com", "TEST@TEST.COM", " no@email.com", "noemail@shop.co.uk",
                        "NoReply@brand.de", "donotreply@x.fr", "someone@example.com",
                        "a@b.test", "user@shop.invalid", "null@null.com"}) {
    EXPECT_EQ(CheckRaw(g, IdType::kEmail, v).verdict, Verdict::kBlock) << v;
  }
  for (const char* v : {"ann@example.co.uk", "no.reply.fan@gmail.com", "testa@shop.com",
                        "nora@email.com"}) {
    EXPECT_EQ(CheckRaw(g, IdType::kEmail, v).verdict, Verdict::kAllow) << v;
  }
}

TEST(Guardrails, JunkPhones) {
  const Guardrails g;
  // Repeated digits and runs that are valid numbers, in national and international forms.
  for (const char* v : {"1234567890", "07777777777", "+44 7777 777777", "+44 1234 567890",
                        "+49 9876543210", "+34 666 666 666"}) {
    const CheckResult r = CheckRaw(g, IdType::kPhone, v);
    EXPECT_EQ(r.verdict, Verdict::kBlock) << v;
    EXPECT_EQ(r.reason, "junk_pattern") << v;
  }
  // Most placeholders are not valid numbers at all: libphonenumber rejects them before the
  // guardrails see them.
  for (const char* v : {"01111 111111", "1111111111", "+10000000000", "+44 0000 000000",
                        "+33 0 00 00 00 00", "+999 1111 1111", "0000000000"}) {
    EXPECT_FALSE(Normalize(IdType::kPhone, v, NormalizeOptions{"GB"}).ok()) << v;
  }
  EXPECT_FALSE(Normalize(IdType::kPhone, "(555) 555-5555", NormalizeOptions{"US"}).ok());
  for (const char* v : {"+44 20 7946 0958", "07400 123456", "+49 30 12345678", "+1 212 555 0123",
                        "+61 2 9876 5432", "+44 20 1234 5678", "+54 9 11 2345 6789"}) {
    EXPECT_EQ(CheckRaw(g, IdType::kPhone, v).verdict, Verdict::kAllow) << v;
  }
  GuardrailConfig off;
  off.block_phone_patterns = false;
  const Guardrails lax(off, {});
  EXPECT_EQ(CheckRaw(lax, IdType::kPhone, "07777777777").verdict, Verdict::kAllow);
  EXPECT_EQ(lax.Check(IdType::kPhone, "+10000000000").verdict, Verdict::kBlock);  // blocked list
}

TEST(Guardrails, SharedIdentifiersAttachButNeverLink) {
  GuardrailConfig c;
  c.shared = {{IdType::kLoyaltyId, " HOUSE-CARD-01 "}, {IdType::kAnonymousId, "kiosk-7"},
              {IdType::kPhone, "020 7946 0000"}};
  const Guardrails g(c, NormalizeOptions{"GB"});
  const CheckResult r = g.Check(IdType::kLoyaltyId, "HOUSE-CARD-01");
  EXPECT_EQ(r.verdict, Verdict::kShared);
  EXPECT_EQ(r.reason, "shared");
  EXPECT_TRUE(r.allowed());
  EXPECT_EQ(g.Check(IdType::kAnonymousId, "kiosk-7").verdict, Verdict::kShared);
  EXPECT_EQ(g.Check(IdType::kPhone, "+442079460000").verdict, Verdict::kShared);
  // Per type, and exact (ids are case-sensitive).
  EXPECT_EQ(g.Check(IdType::kCustomerId, "HOUSE-CARD-01").verdict, Verdict::kAllow);
  EXPECT_EQ(g.Check(IdType::kLoyaltyId, "house-card-01").verdict, Verdict::kAllow);
}

TEST(Guardrails, ConfigurableBlocklist) {
  GuardrailConfig c;
  c.blocked_any.clear();
  c.blocked_email_local_parts.clear();
  c.blocked_email_domains.clear();
  c.blocked = {{IdType::kEmail, " Foo@Bar.COM "}, {IdType::kPhone, "020 7946 0111"}};
  const Guardrails g(c, NormalizeOptions{"GB"});
  EXPECT_EQ(g.Check(IdType::kLoyaltyId, "null").verdict, Verdict::kAllow);
  EXPECT_EQ(g.Check(IdType::kEmail, "foo@bar.com").verdict, Verdict::kBlock);
  EXPECT_EQ(g.Check(IdType::kPhone, "+442079460111").verdict, Verdict::kBlock);
  EXPECT_EQ(g.Check(IdType::kEmail, "test@test.com").verdict, Verdict::kAllow);
  EXPECT_EQ(g.config().blocked.size(), 2u);
}

TEST(Guardrails, GuardrailFilesReadTypedAndUntypedLinesAndReportTheRest) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("cjd-guardrails-" + std::to_string(::getpid()) + ".txt");
  {
    std::ofstream out(path);
    out << "# the shop's own junk\r\n"
        << "email:till@shop.example  \n"
        << "\n"
        << "phone:+44 7700 900000\n"
        << "NOT-KNOWN\r\n"
        << "fax:123\n";  // no such identifier type: a value for every type, or ignored
  }
  std::vector<std::pair<IdType, std::string>> typed;
  std::vector<std::string> any, ignored;
  ASSERT_TRUE(ReadGuardrailFile(path.string(), false, &typed, &any, &ignored).ok());
  EXPECT_EQ(typed, (std::vector<std::pair<IdType, std::string>>{
                       {IdType::kEmail, "till@shop.example"}, {IdType::kPhone, "+44 7700 900000"}}));
  EXPECT_EQ(any, (std::vector<std::string>{"NOT-KNOWN", "fax:123"}));
  EXPECT_TRUE(ignored.empty());

  // A shared-identifier file takes typed lines only: the others are reported, not guessed.
  typed.clear();
  any.clear();
  ASSERT_TRUE(ReadGuardrailFile(path.string(), true, &typed, nullptr, &ignored).ok());
  EXPECT_EQ(typed.size(), 2u);
  EXPECT_EQ(ignored, (std::vector<std::string>{"NOT-KNOWN", "fax:123"}));
  std::filesystem::remove(path);

  const Status missing = ReadGuardrailFile(path.string(), false, &typed, &any, &ignored);
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_NE(missing.message().find(path.string()), std::string::npos);
}

}  // namespace
}  // namespace cjd::hub::identity
