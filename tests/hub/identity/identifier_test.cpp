#include "hub/identity/identifier.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace cjd::hub::identity {
namespace {

struct Case {
  std::string country;
  std::string raw;
  std::string want;  // empty: must be rejected
};

void ExpectCases(IdType type, const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    const Result<std::string> got = Normalize(type, c.raw, NormalizeOptions{c.country});
    if (c.want.empty()) {
      EXPECT_FALSE(got.ok()) << c.country << " '" << c.raw << "' -> " << (got.ok() ? *got : "");
      if (!got.ok()) {
        EXPECT_EQ(got.status().code(), Code::kInvalid);
        EXPECT_EQ(got.status().field(), std::string("identifier.") + IdTypeName(type));
      }
    } else {
      ASSERT_TRUE(got.ok()) << c.country << " '" << c.raw << "': " << got.status().ToString();
      EXPECT_EQ(*got, c.want) << c.country << " '" << c.raw << "'";
      // The normal form is a fixed point.
      const Result<std::string> again = Normalize(type, *got, NormalizeOptions{c.country});
      ASSERT_TRUE(again.ok()) << *got;
      EXPECT_EQ(*again, *got);
    }
  }
}

TEST(IdType, NamesRoundTripAndPriorityOrder) {
  std::set<std::string> names;
  for (IdType t : kAllIdTypes) {
    names.insert(IdTypeName(t));
    EXPECT_EQ(ParseIdType(IdTypeName(t)), t);
  }
  EXPECT_EQ(names, (std::set<std::string>{"loyalty_id", "customer_id", "email", "phone",
                                          "card_fingerprint", "anonymous_id"}));
  EXPECT_FALSE(ParseIdType("Email").has_value());
  EXPECT_GT(Priority(IdType::kLoyaltyId), Priority(IdType::kCustomerId));
  EXPECT_GT(Priority(IdType::kCustomerId), Priority(IdType::kCardFingerprint));
  EXPECT_GT(Priority(IdType::kCardFingerprint), Priority(IdType::kEmail));
  EXPECT_GT(Priority(IdType::kEmail), Priority(IdType::kPhone));
  EXPECT_GT(Priority(IdType::kPhone), Priority(IdType::kAnonymousId));
  EXPECT_TRUE(IsPii(IdType::kEmail));
  EXPECT_FALSE(IsPii(IdType::kAnonymousId));
}

TEST(Normalize, Emails) {
  ExpectCases(IdType::kEmail, {
      {"GB", " Ann.Smith@Example.COM ", "ann.smith@example.com"},
      {"GB", "\tBOB@Mail.Co.UK\r\n", "bob@mail.co.uk"},
      {"GB", "mailto:Jo@Shop.io", "jo@shop.io"},
      {"GB", "a+tag@gmail.com", "a+tag@gmail.com"},
      {"GB", "first.last@sub.example-shop.de", "first.last@sub.example-shop.de"},
      {"GB", "o'neil@example.ie", "o'neil@example.ie"},
      {"GB", "", ""},
      {"GB", "   ", ""},
      {"GB", "ann", ""},
      {"GB", "ann@", ""},
      {"GB", "@example.com", ""},
      {"GB", "a@@example.com", ""},
      {"GB", "a@b@example.com", ""},
      {"GB", "ann smith@example.com", ""},
      {"GB", "ann@example", ""},
      {"GB", "ann@-example.com", ""},
      {"GB", "ann@example-.com", ""},
      {"GB", "a..b@example.com", ""},
      {"GB", ".a@example.com", ""},
      {"GB", "a.@example.com", ""},
      {"GB", "a@example..com", ""},
      {"GB", "a@1.2.3.4", ""},
      {"GB", "a@exa_mple.com", ""},
      {"GB", "\"a b\"@example.com", ""},
      {"GB", std::string(65, 'a') + "@example.com", ""},
  });
}

TEST(Normalize, PhonesGbDeEsUsFr) {
  ExpectCases(IdType::kPhone, {
      {"GB", "020 7946 0958", "+442079460958"},
      {"GB", "(020) 7946-0958", "+442079460958"},
      {"GB", "+44 20 7946 0958", "+442079460958"},
      {"GB", "+44 (0)20 7946 0958", "+442079460958"},
      {"GB", "0044 20 7946 0958", "+442079460958"},
      {"GB", "07400 123456", "+447400123456"},
      {"gb", "07400.123.456", "+447400123456"},
      {"DE", "030 12345678", "+493012345678"},
      {"DE", "030/12345678", "+493012345678"},
      {"DE", "+49 (0)30 12345678", "+493012345678"},
      {"DE", "+49 030 12345678", "+493012345678"},
      {"DE", "0049 30 12345678", "+493012345678"},
      {"DE", "0151 23456789", "+4915123456789"},
      {"ES", "612 345 678", "+34612345678"},
      {"ES", "+34 612 34 56 78", "+34612345678"},
      {"ES", "0034 912 345 678", "+34912345678"},
      {"US", "(212) 555-0123", "+12125550123"},
      {"US", "212.555.0123", "+12125550123"},
      {"US", "1-212-555-0123", "+12125550123"},
      {"US", "+1 212 555 0123", "+12125550123"},
      {"US", "011 44 20 7946 0958", "+442079460958"},
      // "00" where the country's own prefix is another one: read internationally when the number
      // is not valid read nationally.
      {"US", "0044 20 7946 0958", "+442079460958"},
      {"FR", "01 23 45 67 89", "+33123456789"},
      {"FR", "06 12 34 56 78", "+33612345678"},
      {"FR", "+33 6 12 34 56 78", "+33612345678"},
      {"FR", "+33 (0)6 12 34 56 78", "+33612345678"},
      {"FR", "0033 612345678", "+33612345678"},
      // A number written internationally ignores the default country.
      {"FR", "+44 20 7946 0958", "+442079460958"},
      {"DE", "0044 7400 123456", "+447400123456"},
  });
}

TEST(Normalize, PhonesOtherCountries) {
  ExpectCases(IdType::kPhone, {
      {"IT", "06 1234 5678", "+390612345678"},     // Italy keeps the 0
      {"IT", "+39 06 1234 5678", "+390612345678"},
      {"AU", "(02) 9876 5432", "+61298765432"},
      {"AU", "0412 345 678", "+61412345678"},
      {"AU", "+61 2 9876 5432", "+61298765432"},
      {"AU", "0011 44 20 7946 0958", "+442079460958"},
      {"IE", "087 123 4567", "+353871234567"},
      {"NL", "06-12345678", "+31612345678"},
      {"RU", "8 (495) 123-45-67", "+74951234567"},
      {"JP", "03-1234-5678", "+81312345678"},
      {"CA", "416 555 0199", "+14165550199"},
      {"", "+44 20 7946 0958", "+442079460958"},
      // Countries the hand-written table did not have.
      {"CO", "601 234 5678", "+576012345678"},
      {"CL", "+56 2 2123 4567", "+56221234567"},
  });
}

// The numbers the hand-written table (60 countries) gave two E.164 values for, depending on how
// they were written; libphonenumber gives one. (The old values are in phone_rekey_test.cpp.)
TEST(Normalize, PhonesWithOneNormalFormHoweverWritten) {
  // Argentina, a Buenos Aires mobile: "9" after the country code internationally, "15" after the
  // area code nationally (the table kept the 15: "+54111523456789").
  ExpectCases(IdType::kPhone, {
      {"AR", "+54 9 11 2345-6789", "+5491123456789"},
      {"AR", "011 15 2345-6789", "+5491123456789"},
      {"AR", "(011) 15-2345-6789", "+5491123456789"},
      {"GB", "+54 9 11 2345 6789", "+5491123456789"},
      // The fixed line with the same digits is another number.
      {"AR", "011 2345-6789", "+541123456789"},
      {"AR", "+54 11 2345-6789", "+541123456789"},
      // Rio Gallegos: a 4-digit area code, a 6-digit subscriber number.
      {"AR", "02966 15 423456", "+5492966423456"},
      {"AR", "+54 9 2966 42-3456", "+5492966423456"},
  });
  // Mexico: mobiles lost the "1" after +52 (2019) and the "044"/"045" national prefixes (the
  // table kept both: "+5215512345678", "+520445512345678").
  ExpectCases(IdType::kPhone, {
      {"MX", "55 1234 5678", "+525512345678"},
      {"MX", "+52 55 1234 5678", "+525512345678"},
      {"MX", "+52 1 55 1234 5678", "+525512345678"},
      {"MX", "044 55 1234 5678", "+525512345678"},
      {"MX", "045 55 1234 5678", "+525512345678"},
      {"MX", "01 55 1234 5678", "+525512345678"},
  });
  // Brazil: a national number may start with "0" and a carrier selection code (21, 15, ...);
  // the table removed the 0 and kept the carrier code ("+552111987654321").
  ExpectCases(IdType::kPhone, {
      {"BR", "(11) 98765-4321", "+5511987654321"},
      {"BR", "011 98765-4321", "+5511987654321"},
      {"BR", "0 21 11 98765-4321", "+5511987654321"},
      {"BR", "0 15 11 98765 4321", "+5511987654321"},
      {"BR", "+55 11 98765-4321", "+5511987654321"},
  });
}

TEST(Normalize, InvalidPhones) {
  ExpectCases(IdType::kPhone, {
      {"GB", "", ""},
      {"GB", "abc", ""},
      {"GB", "12345", ""},                        // +4412345: too short
      {"GB", "+1234567890123456", ""},            // 16 digits
      {"GB", "020 7946 0958 ext 12", ""},         // extensions are not a person's number
      {"GB", "020 7946 0958 x12", ""},
      {"GB", "+44 20 7946 0958#", ""},
      {"GB", "+1 800 FLOWERS", ""},               // letters
      {"GB", "Call 020 7946 0958", ""},
      {"GB", "+44+20 7946 0958", ""},
      {"GB", "20+7946", ""},
      {"GB", "+0044 20 7946 0958", ""},
      {"US", "555-0123", ""},                     // 7 digits: no area code
      {"US", "+1 212 555 01234", ""},             // NANP needs 10 national digits
      {"", "020 7946 0958", ""},                  // national form without a default country
      {"ZZ", "020 7946 0958", ""},
      {"UK", "020 7946 0958", ""},                // not an ISO 3166 code (GB is)
      // Invalid for their country; the hand-written table took any 8 to 15 digits.
      {"GB", "020 7946 095", ""},                 // London numbers have 10 national digits
      {"GB", "+44 20 7946 095", ""},
      {"GB", "0000000000", ""},
      {"GB", "07700 900123", ""},                 // Ofcom's drama range: not a real mobile
      {"US", "+1 555 555 5555", ""},              // 555 is not an area code
      {"BR", "+55 11 8765-4321", ""},             // Brazilian mobiles have 9 digits since 2016
      {"", "+999 1234 5678", ""},                 // no such country calling code
      {"GB", std::string(80, '1'), ""},
  });
  const Result<std::string> bad = Normalize(IdType::kPhone, "020 7946 095", NormalizeOptions{"GB"});
  EXPECT_EQ(bad.status().field(), "identifier.phone");
  EXPECT_NE(bad.status().message().find("not a valid number"), std::string::npos)
      << bad.status().message();
}

TEST(Normalize, PhoneRegionsAndNationalNumbers) {
  EXPECT_EQ(PhoneRegionCount(), 245u);  // bookworm's libphonenumber 8.12.57
  for (const char* iso : {"GB", "gb", "DE", "AR", "MX", "BR", "US", "AU", "CO", "CL", "PE", "NG"}) {
    EXPECT_TRUE(IsPhoneRegion(iso)) << iso;
  }
  EXPECT_FALSE(IsPhoneRegion("ZZ"));
  EXPECT_FALSE(IsPhoneRegion("UK"));
  EXPECT_FALSE(IsPhoneRegion("GBR"));
  EXPECT_FALSE(IsPhoneRegion(""));
  EXPECT_EQ(PhoneNationalNumber("+442079460958"), "2079460958");
  EXPECT_EQ(PhoneNationalNumber("+5491123456789"), "91123456789");
  EXPECT_EQ(PhoneNationalNumber("+390612345678"), "0612345678");
  EXPECT_EQ(PhoneNationalNumber("+99912345678"), std::nullopt);
  EXPECT_EQ(PhoneNationalNumber("442079460958"), std::nullopt);
}

TEST(Normalize, StoredPhonesOfTheOldNormaliser) {
  const NormalizeOptions gb{"GB"};
  // Valid stored values: what Normalize() gives.
  EXPECT_EQ(*RenormalizeStoredPhone("+442079460958", gb), "+442079460958");
  EXPECT_EQ(*RenormalizeStoredPhone("+54111523456789", gb), "+5491123456789");
  EXPECT_EQ(*RenormalizeStoredPhone("+5215512345678", gb), "+525512345678");
  EXPECT_EQ(*RenormalizeStoredPhone("+520445512345678", gb), "+525512345678");
  // Not valid as E.164, valid read nationally: Brazil's carrier code after the trunk 0.
  EXPECT_FALSE(Normalize(IdType::kPhone, "+552111987654321", gb).ok());
  EXPECT_EQ(*RenormalizeStoredPhone("+552111987654321", gb), "+5511987654321");
  // Invalid either way.
  const Result<std::string> bad = RenormalizeStoredPhone("+44207946095", gb);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().field(), "identifier.phone");
  EXPECT_FALSE(RenormalizeStoredPhone("+99912345678", gb).ok());
}

TEST(Normalize, NonPhoneNormalFormWithoutPhoneMetadata) {
  EXPECT_EQ(*NormalizeNonPhone(IdType::kEmail, " Ann@Shop.IO "), "ann@shop.io");
  EXPECT_EQ(*NormalizeNonPhone(IdType::kLoyaltyId, " L  1 "), "L 1");
  const Result<std::string> phone = NormalizeNonPhone(IdType::kPhone, "+442079460958");
  ASSERT_FALSE(phone.ok());
  EXPECT_EQ(phone.status().field(), "identifier.phone");
}

TEST(Normalize, IdsAndFingerprints) {
  ExpectCases(IdType::kLoyaltyId, {
      {"GB", "  LOY 123  ", "LOY 123"},
      {"GB", "LOY  1 \t 23", "LOY 1 23"},
      {"GB", "AbC-9", "AbC-9"},                   // case is kept
      {"GB", "  \t ", ""},
      {"GB", "LOY\x01" "1", ""},
      {"GB", std::string(300, '7'), ""},
  });
  ExpectCases(IdType::kCustomerId, {{"GB", " C-00042 ", "C-00042"}, {"GB", "", ""}});
  ExpectCases(IdType::kCardFingerprint, {
      {"GB", "  fp_AbC123  ", "fp_AbC123"},
      {"GB", "fp\tAbC", ""},
  });
  ExpectCases(IdType::kAnonymousId, {{"GB", " 0190a7c2-AAAA ", "0190a7c2-AAAA"}});
  EXPECT_NE(*Normalize(IdType::kLoyaltyId, "abc", {}), *Normalize(IdType::kLoyaltyId, "ABC", {}));
}

TEST(Normalize, TypedIdentifier) {
  const auto email = ParseTypedIdentifier("email: Ann@Example.com", {});
  ASSERT_TRUE(email.ok()) << email.status().ToString();
  EXPECT_EQ(email->first, IdType::kEmail);
  EXPECT_EQ(email->second, "ann@example.com");
  const auto phone = ParseTypedIdentifier("phone:030 12345678", NormalizeOptions{"DE"});
  ASSERT_TRUE(phone.ok());
  EXPECT_EQ(phone->second, "+493012345678");
  EXPECT_FALSE(ParseTypedIdentifier("ann@example.com", {}).ok());
  EXPECT_FALSE(ParseTypedIdentifier("mail:ann@example.com", {}).ok());
  EXPECT_FALSE(ParseTypedIdentifier("email:not-an-email", {}).ok());
}

PepperKey TestPepper(uint8_t start) {
  PepperKey k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(start + i);
  return k;
}

TEST(IdentifierKey, StableKnownVectors) {
  // BLAKE2b-128 keyed with bytes 0..31 over (type byte || value), computed independently with
  // Python's hashlib.blake2b(key=..., digest_size=16).
  const PepperKey pepper = TestPepper(0);
  EXPECT_EQ(KeyHex(IdentifierKey(IdType::kEmail, "ann@example.com", pepper)),
            "7d6b023380b604f3ba93cd28513e16ac");
  EXPECT_EQ(KeyHex(IdentifierKey(IdType::kPhone, "+442079460958", pepper)),
            "ca690f99e15425a0c4858bec7ce53f39");
  EXPECT_EQ(IdentifierKey(IdType::kEmail, "ann@example.com", pepper),
            IdentifierKey(IdType::kEmail, "ann@example.com", pepper));
}

TEST(IdentifierKey, DependsOnPepperTypeAndValue) {
  const PepperKey a = TestPepper(0);
  const PepperKey b = TestPepper(1);
  EXPECT_NE(IdentifierKey(IdType::kLoyaltyId, "12345", a), IdentifierKey(IdType::kLoyaltyId, "12345", b));
  EXPECT_NE(IdentifierKey(IdType::kLoyaltyId, "12345", a), IdentifierKey(IdType::kCustomerId, "12345", a));
  EXPECT_NE(IdentifierKey(IdType::kLoyaltyId, "12345", a), IdentifierKey(IdType::kLoyaltyId, "12346", a));
  std::set<IdKey> keys;
  for (IdType t : kAllIdTypes) keys.insert(IdentifierKey(t, "same-text", a));
  EXPECT_EQ(keys.size(), static_cast<size_t>(kIdTypeCount));
}

TEST(IdentifierKey, HexRoundTrip) {
  const IdKey k = IdentifierKey(IdType::kEmail, "ann@example.com", TestPepper(7));
  const std::string hex = KeyHex(k);
  EXPECT_EQ(hex.size(), 32u);
  EXPECT_EQ(*KeyFromHex(hex), k);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(*KeyFromHex(upper), k);
  EXPECT_FALSE(KeyFromHex(hex.substr(1)).ok());
  EXPECT_FALSE(KeyFromHex(std::string(32, 'g')).ok());
}

}  // namespace
}  // namespace cjd::hub::identity
