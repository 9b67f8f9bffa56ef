// Roles, named tokens and the audit log with a real hub, real cjdctl and real SQLite files:
// an analyst token reads figures and profiles with every personal value masked and is refused
// every change, rights request and the audit log; a privacy token reaches rights requests only;
// a revoked token stops at its next request; the privacy role exports what is held about a person; every change is in the audit log with who made
// it; `cjdctl audit verify` passes on the real log and names the entry someone altered.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "shared/storage/sqlite.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/postgres.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

using json = nlohmann::json;
using cjd::testing::CjdctlBinary;
using cjd::testing::RunCommand;

constexpr const char* kEmail = "Grace.Okafor@Example-Mail.com";
constexpr const char* kPhone = "+44 20 7946 0958";
constexpr const char* kLoyalty = "LOY-778812";
constexpr const char* kFirstName = "Gracelyn";

class Access : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub();
    key_ = fleet_.AddSource("webshop");
    fleet_.StartHub();
    hub_ = std::make_unique<HttpClient>(fleet_.hub_port(), 30s);
  }

  std::string HubDir() const { return fleet_.hub_config().parent_path().string(); }

  // cjdctl with `args`; its exit code, output (stdout and stderr) in *out.
  int Cjdctl(std::vector<std::string> args, std::string* out) {
    args.insert(args.begin(), CjdctlBinary());
    return RunCommand(args, 60s, out);
  }

  std::string AddToken(const std::string& role, const std::string& name) {
    return fleet_.AddToken(role, name);
  }

  void WaitProjected(int64_t events) {
    ASSERT_TRUE(fleet_.WaitHubEventsTotal(events)) << fleet_.Diagnostics();
    ASSERT_TRUE(cjd::testing::WaitUntil(
        [&] {
          json s = fleet_.HubStats();
          return s.contains("projection") &&
                 s["projection"]["events_applied"].get<int64_t>() >= events;
        },
        30s))
        << fleet_.HubStats().dump();
  }

  Fleet fleet_;
  std::string key_;
  std::unique_ptr<HttpClient> hub_;
};

TEST_F(Access, RolesMaskRefuseAndEveryChangeIsAudited) {
  const std::string analyst = AddToken("analyst", "marketing");
  const std::string privacy = AddToken("privacy", "dpo");
  ASSERT_FALSE(analyst.empty());
  ASSERT_FALSE(privacy.empty());

  // One customer: identified at the web shop, then an order.
  ASSERT_EQ(hub_->Post("/v1/collect",
                       json({{"type", "identify"},
                             {"occurred_at", "2026-11-20T10:00:00Z"},
                             {"customer",
                              {{"email", kEmail}, {"phone", kPhone}, {"loyalty_id", kLoyalty}}},
                             {"attributes", {{"first_name", kFirstName}}}})
                           .dump(),
                       key_)
                .status,
            202);
  ASSERT_EQ(hub_->Post("/v1/collect",
                       json({{"type", "order_completed"},
                             {"occurred_at", "2026-11-21T10:00:00Z"},
                             {"customer", {{"loyalty_id", kLoyalty}}},
                             {"order",
                              {{"order_id", "W-9"},
                               {"currency", "GBP"},
                               {"items", {{{"sku", "S1"}, {"quantity", 3},
                                           {"unit_price", "4.10"}}}}}}})
                           .dump(),
                       key_)
                .status,
            202);
  WaitProjected(2);

  // The admin sees the person; the analyst the same profile and figures, no personal value.
  const std::string lookup = std::string("/v1/profiles?identifier=loyalty_id:") + kLoyalty;
  HttpResponse admin_view = hub_->Get(lookup, fleet_.hub_token());
  ASSERT_EQ(admin_view.status, 200) << admin_view.body;
  EXPECT_NE(admin_view.body.find(kFirstName), std::string::npos);
  HttpResponse masked = hub_->Get(lookup, analyst);
  ASSERT_EQ(masked.status, 200) << masked.body;
  const json doc = masked.Json();
  EXPECT_EQ(doc["profile_id"], admin_view.Json()["profile_id"]);
  EXPECT_EQ(doc["traits"]["revenue_gross"], "12.30");
  ASSERT_EQ(doc["identifiers"].size(), 3u);
  for (const json& id : doc["identifiers"]) EXPECT_EQ(id["value"], "***") << id.dump();
  EXPECT_EQ(doc["attributes"]["first_name"], "***");
  HttpResponse metrics = hub_->Get("/v1/metrics", analyst);
  ASSERT_EQ(metrics.status, 200) << metrics.body;
  EXPECT_EQ(metrics.Json()["customers"], 1);
  EXPECT_EQ(metrics.Json()["revenue_gross"], hub_->Get("/v1/metrics", fleet_.hub_token()).Json()["revenue_gross"]);
  for (const HttpResponse* r : {&masked, &metrics}) {
    for (const std::string& secret : {std::string(kEmail), std::string("grace.okafor"),
                                     std::string("79460958"), std::string(kLoyalty),
                                     std::string(kFirstName)}) {
      EXPECT_EQ(r->body.find(secret), std::string::npos) << secret << " in " << r->body;
    }
  }

  // The analyst changes nothing and reaches neither rights requests nor the audit log.
  const json segment = {{"id", "big-spenders"}, {"rule", "revenue_gross >= 10"}};
  EXPECT_EQ(hub_->Post("/v1/segments", segment.dump(), analyst).status, 403);
  EXPECT_EQ(hub_->Delete("/v1/offers/anything", analyst).status, 403);
  EXPECT_EQ(hub_->Post("/v1/privacy/erasures", R"({"profile_id":"1"})", analyst).status, 403);
  EXPECT_EQ(hub_->Get(std::string("/v1/privacy/export?identifier=email:") + kEmail, analyst).status,
            403);
  HttpResponse no_audit = hub_->Get("/v1/audit", analyst);
  EXPECT_EQ(no_audit.status, 403);
  EXPECT_EQ(no_audit.Json()["error"]["code"], "forbidden");
  // The privacy role reaches rights requests only.
  EXPECT_EQ(hub_->Get("/v1/metrics", privacy).status, 403);
  EXPECT_EQ(hub_->Get(lookup, privacy).status, 403);
  EXPECT_EQ(hub_->Get("/v1/audit", privacy).status, 403);
  // The privacy role exports the person: everything, in clear, for the subject.
  HttpResponse exported =
      hub_->Get(std::string("/v1/privacy/export?identifier=email:") + kEmail, privacy);
  ASSERT_EQ(exported.status, 200) << exported.body;
  const json person = exported.Json();
  EXPECT_EQ(person["profile"]["profile_id"], doc["profile_id"]);
  EXPECT_EQ(person["profile"]["attributes"]["first_name"], kFirstName);
  EXPECT_EQ(person["profile"]["events"].size(), 2u);
  EXPECT_EQ(person["events_total"], 2);
  EXPECT_EQ(person["profile"]["traits"]["revenue_gross"], "12.30");
  EXPECT_TRUE(person["segments"].is_array());
  EXPECT_EQ(person["offers_shown"], json::array());
  EXPECT_NE(exported.body.find("grace.okafor@example-mail.com"), std::string::npos);
  HttpResponse unknown = hub_->Get("/v1/privacy/export?identifier=email:nobody@example.com",
                                   privacy);
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  HttpResponse malformed = hub_->Get("/v1/privacy/export?identifier=shoe_size:42", privacy);
  EXPECT_EQ(malformed.status, 400) << malformed.body;
  EXPECT_EQ(malformed.Json()["error"]["field"], "identifier");

  // Nobody else gets in.
  EXPECT_EQ(hub_->Get("/v1/metrics", "cjdt_not-a-token").status, 401);
  EXPECT_EQ(hub_->Get("/v1/metrics", key_).status, 401);

  // The admin's change is audited under its name, with the segment's id and the answer.
  ASSERT_EQ(hub_->Post("/v1/segments", segment.dump(), fleet_.hub_token()).status, 201);
  ASSERT_EQ(hub_->Delete("/v1/segments/big-spenders", fleet_.hub_token()).status, 200);

  // Revoked: refused from the next request on.
  std::string out;
  ASSERT_EQ(Cjdctl({"revoke-token", "--hub-dir", HubDir(), "--name", "marketing"}, &out), 0)
      << out;
  EXPECT_EQ(hub_->Get("/v1/metrics", analyst).status, 401);
  ASSERT_EQ(Cjdctl({"list-tokens", "--hub-dir", HubDir()}, &out), 0) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("marketing"));
  EXPECT_THAT(out, ::testing::HasSubstr("dpo"));
  EXPECT_EQ(out.find("cjdt_"), std::string::npos) << out;

  HttpResponse log = hub_->Get("/v1/audit?limit=1000", fleet_.hub_token());
  ASSERT_EQ(log.status, 200) << log.body;
  const json entries = log.Json()["entries"];
  std::vector<std::string> actions;
  for (const json& e : entries) {
    actions.push_back(e["actor"].get<std::string>() + " " + e["action"].get<std::string>() + " " +
                      std::to_string(e["status"].get<int>()));
  }
  ASSERT_EQ(entries.size(), 12u) << log.body;
  EXPECT_THAT(actions[0], ::testing::MatchesRegex("cjdctl:.* add-token 0"));
  EXPECT_EQ(entries[0]["target"], "marketing");
  EXPECT_EQ(entries[0]["detail"]["role"], "analyst");
  EXPECT_EQ(entries[1]["target"], "dpo");
  // What the analyst tried and was refused (its reads are not entries, nor are unknown tokens).
  EXPECT_EQ(actions[2], "marketing POST /v1/segments 403");
  EXPECT_EQ(actions[3], "marketing DELETE /v1/offers/anything 403");
  EXPECT_EQ(actions[4], "marketing POST /v1/privacy/erasures 403");
  EXPECT_EQ(actions[5], "marketing GET /v1/privacy/export 403");
  // Rights requests, reads included, under the privacy token's name; never the identifier.
  EXPECT_EQ(actions[6], "dpo GET /v1/privacy/export 200");
  EXPECT_EQ(actions[7], "dpo GET /v1/privacy/export 404");
  EXPECT_EQ(actions[8], "dpo GET /v1/privacy/export 400");
  EXPECT_EQ(log.body.find("okafor"), std::string::npos) << log.body;
  EXPECT_EQ(actions[9], "admin POST /v1/segments 201");
  EXPECT_EQ(entries[9]["detail"]["id"], "big-spenders");
  EXPECT_EQ(actions[10], "admin DELETE /v1/segments/big-spenders 200");
  EXPECT_THAT(actions[11], ::testing::MatchesRegex("cjdctl:.* revoke-token 0"));
  for (size_t i = 0; i < entries.size(); ++i) EXPECT_EQ(entries[i]["seq"], i + 1);
  // Paged.
  HttpResponse page = hub_->Get("/v1/audit?after=2&limit=2", fleet_.hub_token());
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.Json()["entries"].size(), 2u);
  EXPECT_EQ(page.Json()["next_after"], 4);
  HttpResponse bad = hub_->Get("/v1/audit?limit=0", fleet_.hub_token());
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.Json()["error"]["field"], "limit");

  // The real chain verifies; one altered entry (by someone with the file, triggers dropped) is
  // found and named, while the hub keeps running.
  ASSERT_EQ(Cjdctl({"audit", "verify", "--hub-dir", HubDir()}, &out), 0) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("12 entries"));
  if (cjd::testing::Postgres* pg = fleet_.postgres(); pg != nullptr) {
    // The hub on PostgreSQL (CJD_ITEST_DATABASE=postgres): the log is the database's.
    EXPECT_THROW(pg->Psql("UPDATE access_audit SET actor = 'nobody' WHERE seq = 3", "hub"),
                 std::runtime_error);
    pg->Psql("ALTER TABLE access_audit DISABLE TRIGGER USER", "hub");
    pg->Psql("UPDATE access_audit SET actor = 'nobody' WHERE seq = 3", "hub");
  } else {
    auto db = sqlite::Database::Open((fleet_.hub_config().parent_path() / "access.db").string(),
                                     {});
    ASSERT_TRUE(db.ok());
    EXPECT_FALSE((*db)->Exec("UPDATE audit_log SET actor = 'nobody' WHERE seq = 3").ok());
    ASSERT_TRUE((*db)->Exec("DROP TRIGGER audit_log_no_update").ok());
    ASSERT_TRUE((*db)->Exec("UPDATE audit_log SET actor = 'nobody' WHERE seq = 3").ok());
  }
  EXPECT_EQ(Cjdctl({"audit", "verify", "--hub-dir", HubDir()}, &out), 1) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("entry 3"));
  EXPECT_TRUE(fleet_.HubHealthy());
}

TEST_F(Access, CjdctlRefusesBadRolesNamesAndDuplicatesWithAClearMessage) {
  std::string out;
  EXPECT_EQ(Cjdctl({"add-token", "--hub-dir", HubDir(), "--role", "root", "--name", "x"}, &out),
            1);
  EXPECT_THAT(out, ::testing::HasSubstr("--role"));
  EXPECT_EQ(Cjdctl({"add-token", "--hub-dir", HubDir(), "--role", "analyst", "--name", "a b"},
                   &out),
            1);
  EXPECT_THAT(out, ::testing::HasSubstr("--name"));
  ASSERT_FALSE(AddToken("analyst", "bi").empty());
  EXPECT_EQ(Cjdctl({"add-token", "--hub-dir", HubDir(), "--role", "admin", "--name", "bi"}, &out),
            1);
  EXPECT_THAT(out, ::testing::HasSubstr("revoke it first"));
  EXPECT_EQ(Cjdctl({"revoke-token", "--hub-dir", HubDir(), "--name", "nobody"}, &out), 1);
  EXPECT_THAT(out, ::testing::HasSubstr("no live token named nobody"));
  EXPECT_EQ(Cjdctl({"add-token", "--hub-dir", fleet_.dir().Join("nohub").string(), "--role",
                    "admin", "--name", "x"},
                   &out),
            1);
  EXPECT_THAT(out, ::testing::HasSubstr("init-hub"));
  // A second admin token works like hub.toml's, under its own name in the audit log.
  const std::string ops = AddToken("admin", "ops-lead");
  ASSERT_EQ(hub_->Post("/v1/segments", R"({"id":"ops","rule":"orders >= 1"})", ops).status, 201);
  HttpResponse log = hub_->Get("/v1/audit", ops);
  ASSERT_EQ(log.status, 200);
  EXPECT_EQ(log.Json()["entries"].back()["actor"], "ops-lead");
}

}  // namespace
}  // namespace cjd::itest
