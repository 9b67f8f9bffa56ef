// Roles (who may call what) and the masking of personal data for analysts: pure functions.
#include "hub/access/roles.h"

#include <gtest/gtest.h>

#include "hub/access/masking.h"

namespace cjd::hub::access {
namespace {

using json = nlohmann::json;

TEST(Roles, AdminMayDoEverything) {
  for (const char* path : {"/v1/metrics", "/v1/segments/vip", "/v1/privacy/erasures",
                           "/v1/audit", "/v1/offers/x"}) {
    for (const char* method : {"GET", "POST", "DELETE", "PUT"}) {
      EXPECT_FALSE(Forbidden(Role::kAdmin, method, path).has_value()) << method << path;
    }
  }
}

TEST(Roles, AnalystReadsFiguresAndProfilesOnly) {
  for (const char* path : {"/v1/metrics", "/v1/profiles", "/v1/profiles/12",
                           "/v1/segments", "/v1/segments/vip/members", "/v1/offers",
                           "/v1/offers/x/stats", "/v1/devices", "/v1/stats"}) {
    EXPECT_FALSE(Forbidden(Role::kAnalyst, "GET", path).has_value()) << path;
    EXPECT_TRUE(Forbidden(Role::kAnalyst, "POST", path).has_value()) << path;
    EXPECT_TRUE(Forbidden(Role::kAnalyst, "DELETE", path).has_value()) << path;
  }
  for (const char* path : {"/v1/audit", "/v1/privacy/erasures", "/v1/privacy/export",
                           "/v1/metricsx", "/v1/profilesabc", "/v1/anything"}) {
    auto why = Forbidden(Role::kAnalyst, "GET", path);
    ASSERT_TRUE(why.has_value()) << path;
    EXPECT_NE(why->find("analyst"), std::string::npos);
  }
  EXPECT_TRUE(Forbidden(Role::kAnalyst, "POST", "/v1/profiles/12/split").has_value());
}

TEST(Roles, PrivacyHandlesRequestsOnly) {
  for (const char* path : {"/v1/privacy/erasures", "/v1/privacy/erasures/abc",
                           "/v1/privacy/export"}) {
    EXPECT_FALSE(Forbidden(Role::kPrivacy, "GET", path).has_value()) << path;
    EXPECT_FALSE(Forbidden(Role::kPrivacy, "POST", path).has_value()) << path;
  }
  for (const char* path : {"/v1/metrics", "/v1/profiles/1", "/v1/audit", "/v1/privacyx"}) {
    EXPECT_TRUE(Forbidden(Role::kPrivacy, "GET", path).has_value()) << path;
  }
}

TEST(Roles, ChangesAndRightsRequestsAreAudited) {
  EXPECT_TRUE(Audited("POST", "/v1/segments"));
  EXPECT_TRUE(Audited("DELETE", "/v1/offers/x"));
  EXPECT_TRUE(Audited("POST", "/v1/profiles/3/split"));
  EXPECT_TRUE(Audited("GET", "/v1/privacy/export"));
  EXPECT_FALSE(Audited("GET", "/v1/metrics"));
  EXPECT_FALSE(Audited("GET", "/v1/profiles/3"));
  EXPECT_FALSE(Audited("POST", "/v1/collect"));
}

TEST(Roles, NamesRoundTrip) {
  for (Role r : {Role::kAdmin, Role::kAnalyst, Role::kPrivacy}) {
    EXPECT_EQ(ParseRole(RoleName(r)), r);
  }
  EXPECT_FALSE(ParseRole("root").has_value());
  EXPECT_FALSE(ParseRole("Admin").has_value());
}

TEST(Masking, IdentifiersCustomersAndAttributesAreMaskedAtAnyDepth) {
  json doc = {
      {"profile_id", 7},
      {"identifiers", {{{"type", "email"}, {"value", "ann@example.com"}, {"attached_at", "t"}},
                       {{"type", "phone"}, {"value", "+441234567890"}}}},
      {"attributes", {{"first_name", "Ann"}, {"date_of_birth", "1980-01-02"}}},
      {"traits", {{"orders", 3}, {"revenue_gross", "30.00"}}},
      {"events",
       {{{"source", "pos-1"},
         {"event",
          {{"type", "identify"},
           {"customer", {{"loyalty_id", "L-1"}, {"email", "ann@example.com"}}},
           {"attributes", {{"last_name", "Lee"}}}}}}}},
      {"top_customers", {{{"profile_id", 7}, {"identifiers", {{{"type", "loyalty_id"},
                                                              {"value", "L-1"}}}}}}}};
  MaskPersonalData(doc);
  const std::string text = doc.dump();
  for (const char* secret : {"ann@example.com", "+441234567890", "Ann", "1980-01-02", "L-1",
                             "Lee"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << text;
  }
  EXPECT_EQ(doc["profile_id"], 7);
  EXPECT_EQ(doc["identifiers"][0]["type"], "email");
  EXPECT_EQ(doc["identifiers"][0]["value"], kMasked);
  EXPECT_EQ(doc["identifiers"][0]["attached_at"], "t");
  EXPECT_EQ(doc["attributes"]["first_name"], kMasked);
  EXPECT_EQ(doc["traits"]["revenue_gross"], "30.00");
  EXPECT_EQ(doc["events"][0]["event"]["type"], "identify");
  EXPECT_EQ(doc["events"][0]["source"], "pos-1");
  EXPECT_EQ(doc["top_customers"][0]["profile_id"], 7);
}

}  // namespace
}  // namespace cjd::hub::access
