// Which outbox events carry the person an erase command names (agent/privacy/device_eraser.h),
// phones above all: the command carries the hub's libphonenumber E.164, the outbox the phone as
// typed at the till, and the agent compares them without libphonenumber.
#include "agent/privacy/device_eraser.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "shared/event/event.h"

namespace cjd::agent {
namespace {

// The canonical body of an identify event with this customer, as the outbox holds it.
std::string Identify(const std::string& customer_json) {
  const nlohmann::json j = nlohmann::json::parse(
      R"({"event_id":"e-1","type":"identify","occurred_at":"2011-03-02T10:00:00Z","customer":)" +
      customer_json + "}");
  Result<Event> e = ValidateEvent(j);
  EXPECT_TRUE(e.ok()) << e.status().ToString() << " " << customer_json;
  return e.ok() ? ToCanonicalJson(*e) : std::string();
}

EraseCommand Command(std::vector<std::pair<std::string, std::string>> identifiers) {
  EraseCommand c;
  c.erasure_id = "er-1";
  c.identifiers = std::move(identifiers);
  c.default_country = "GB";
  return c;
}

TEST(DeviceEraser, PhonesAsTypedMatchTheHubsNormalForm) {
  struct Case {
    const char* typed;
    const char* hub;  // identity::Normalize's E.164 for it
  };
  for (const Case& c : {Case{"020 7946 0958", "+442079460958"},
                        Case{"+44 (0)20 7946 0958", "+442079460958"},
                        Case{"0044 20 7946 0958", "+442079460958"},
                        Case{"011 15 2345-6789", "+5491123456789"},      // Buenos Aires mobile
                        Case{"02966 15 423456", "+5492966423456"},       // 4-digit area code
                        Case{"+52 1 55 1234 5678", "+525512345678"},
                        Case{"044 55 1234 5678", "+525512345678"},
                        Case{"0 21 11 98765-4321", "+5511987654321"},   // Brazil, carrier 21
                        Case{"8 (495) 123-45-67", "+74951234567"}}) {
    EXPECT_TRUE(PhoneMayBe(c.typed, c.hub)) << c.typed;
    EXPECT_TRUE(CarriesPerson(Identify(std::string(R"({"phone":")") + c.typed + "\"}"),
                              Command({{"phone", c.hub}})))
        << c.typed;
  }
  // Other numbers do not match.
  EXPECT_FALSE(PhoneMayBe("020 7946 0959", "+442079460958"));
  EXPECT_FALSE(PhoneMayBe("011 15 2345-6780", "+5491123456789"));
  EXPECT_FALSE(CarriesPerson(Identify(R"({"phone":"020 7946 0959"})"),
                             Command({{"phone", "+442079460958"}})));
  // Short values: all digits must be equal.
  EXPECT_TRUE(PhoneMayBe("12345", "12345"));
  EXPECT_FALSE(PhoneMayBe("12345", "+4412345"));
  EXPECT_FALSE(PhoneMayBe("", "+442079460958"));
}

TEST(DeviceEraser, OtherIdentifiersByTheirNormalForm) {
  EXPECT_TRUE(CarriesPerson(Identify(R"({"email":" Ann.Lee@Mail.CO.UK "})"),
                            Command({{"email", "ann.lee@mail.co.uk"}})));
  EXPECT_TRUE(CarriesPerson(Identify(R"({"loyalty_id":" L  7 "})"),
                            Command({{"loyalty_id", "L 7"}})));
  EXPECT_FALSE(CarriesPerson(Identify(R"({"loyalty_id":"L-8"})"),
                             Command({{"loyalty_id", "L 7"}, {"phone", "+442079460958"}})));
  // A phone never matches another type's value.
  EXPECT_FALSE(CarriesPerson(Identify(R"({"loyalty_id":"442079460958"})"),
                             Command({{"phone", "+442079460958"}})));
}

}  // namespace
}  // namespace cjd::agent
