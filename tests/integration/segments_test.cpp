// Segments end to end: a real hub (real Mosquitto, real processes, real SQLite files) with a
// collect source. A segment created over HTTP fills with the customers its rule matches (through
// the periodic full evaluation: [segments] reevaluate_seconds = 1 here, so nothing depends on the
// projector's change feed), pages by profile id, and `cjdctl segments` lists, creates and exports
// it byte for byte.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <sstream>
#include <string>

#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

using json = nlohmann::json;

class Segments : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub();
    key_ = fleet_.AddSource("webshop");
    SetTomlKey(fleet_.hub_config(), "segments", "reevaluate_seconds", "1");
    fleet_.StartHub();
    hub_ = std::make_unique<HttpClient>(fleet_.hub_port(), 30s);
  }

  HttpResponse Get(const std::string& path) { return hub_->Get(path, fleet_.hub_token()); }
  HttpResponse Post(const std::string& path, const json& body) {
    return hub_->Post(path, body.dump(), fleet_.hub_token());
  }
  HttpResponse Delete(const std::string& path) { return hub_->Delete(path, fleet_.hub_token()); }

  void Order(const std::string& email, const std::string& order_id, const std::string& category,
             const std::string& price) {
    const json body = {{"type", "order_completed"},
                       {"occurred_at", "2026-11-21T18:00:00Z"},
                       {"customer", {{"email", email}}},
                       {"order",
                        {{"order_id", order_id},
                         {"currency", "EUR"},
                         {"items", {{{"sku", "S"}, {"quantity", 1}, {"unit_price", price},
                                     {"category", category}}}}}}};
    HttpResponse r = hub_->Post("/v1/collect", body.dump(), key_);
    ASSERT_EQ(r.status, 202) << r.body;
  }

  int64_t ProfileOf(const std::string& email) {
    HttpResponse r = Get("/v1/profiles?identifier=email:" + email);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json().value("profile_id", int64_t{0});
  }

  // Waits (bounded) until GET /v1/segments/{id} shows `members` members under its current rule.
  bool WaitMembers(const std::string& id, int64_t members) {
    return cjd::testing::WaitUntil(
        [&] {
          json s = Get("/v1/segments/" + id).Json();
          return s.is_object() && s["members"] == members && !s["evaluated_at"].is_null();
        },
        60s);
  }

  // cjdctl with --hub/--token appended; the exit code, output in *out (stdout and stderr).
  int Cjdctl(std::vector<std::string> args, std::string* out) {
    args.insert(args.begin(), cjd::testing::CjdctlBinary());
    args.push_back("--hub");
    args.push_back("http://127.0.0.1:" + std::to_string(fleet_.hub_port()));
    args.push_back("--token");
    args.push_back(fleet_.hub_token());
    return cjd::testing::RunCommand(args, 60s, out);
  }

  static std::string ErrorField(const HttpResponse& r) {
    json j = r.Json();
    return j.is_object() && j["error"].is_object() ? j["error"].value("field", "") : "";
  }
  static std::string ErrorMessage(const HttpResponse& r) {
    json j = r.Json();
    return j.is_object() && j["error"].is_object() ? j["error"].value("message", "") : "";
  }

  Fleet fleet_;
  std::string key_;
  std::unique_ptr<HttpClient> hub_;
};

TEST_F(Segments, ACreatedSegmentFillsWithMatchingCustomersAndExportsExactly) {
  HttpResponse created = Post("/v1/segments", {{"id", "candle_lovers"},
                                               {"rule", "favourite_category = \"candles\"  AND orders>=1"},
                                               {"name", "Candle lovers"}});
  ASSERT_EQ(created.status, 201) << created.body;
  json seg = created.Json();
  EXPECT_EQ(seg["id"], "candle_lovers");
  EXPECT_EQ(seg["name"], "Candle lovers");
  EXPECT_EQ(seg["rule"], "favourite_category = \"candles\" and orders >= 1");
  EXPECT_EQ(seg["builtin"], false);
  EXPECT_EQ(seg["members"], 0);

  Order("ann@shop-mail.co.uk", "W-1", "candles", "10.00");
  Order("bob@shop-mail.co.uk", "W-2", "mugs", "4.00");
  Order("cat@shop-mail.co.uk", "W-3", "candles", "7.50");
  Order("dan@shop-mail.co.uk", "W-4", "candles", "2.00");
  ASSERT_TRUE(WaitMembers("candle_lovers", 3))
      << Get("/v1/segments/candle_lovers").body << "\n"
      << Get("/v1/profiles?identifier=email:ann@shop-mail.co.uk").body << "\n"
      << fleet_.HubStats().dump() << "\n"
      << fleet_.Diagnostics();
  const int64_t ann = ProfileOf("ann@shop-mail.co.uk"), cat = ProfileOf("cat@shop-mail.co.uk"),
                dan = ProfileOf("dan@shop-mail.co.uk");
  ASSERT_TRUE(ann > 0 && cat > 0 && dan > 0);
  std::vector<int64_t> expected = {ann, cat, dan};
  std::sort(expected.begin(), expected.end());

  // Paged by profile id.
  json page1 = Get("/v1/segments/candle_lovers/members?limit=2").Json();
  ASSERT_EQ(page1["members"].size(), 2u) << page1.dump();
  EXPECT_EQ(page1["segment"], "candle_lovers");
  EXPECT_EQ(page1["members"][0]["profile_id"], expected[0]);
  EXPECT_EQ(page1["members"][1]["profile_id"], expected[1]);
  EXPECT_EQ(page1["next_after"], expected[1]);
  json page2 = Get("/v1/segments/candle_lovers/members?limit=2&after=" +
                   std::to_string(expected[1])).Json();
  ASSERT_EQ(page2["members"].size(), 1u) << page2.dump();
  EXPECT_EQ(page2["members"][0]["profile_id"], expected[2]);
  EXPECT_TRUE(page2["next_after"].is_null());
  json all = Get("/v1/segments/candle_lovers/members").Json();
  ASSERT_EQ(all["members"].size(), 3u);
  EXPECT_TRUE(all["next_after"].is_null());

  // Export: csv on stdout, jsonl to a file, paged one member at a time; exactly the members.
  std::string want_csv = "profile_id,segment,since\n";
  std::string want_jsonl;
  for (const json& m : all["members"]) {
    const std::string pid = std::to_string(m["profile_id"].get<int64_t>());
    const std::string since = m["since"];
    ASSERT_EQ(since.size(), 24u) << since;  // 2026-12-02T00:00:00.000Z
    want_csv += pid + ",candle_lovers," + since + "\n";
    want_jsonl += R"({"profile_id":)" + pid + R"(,"segment":"candle_lovers","since":")" + since +
                  "\"}\n";
  }
  std::string out;
  ASSERT_EQ(Cjdctl({"segments", "export", "candle_lovers", "--format", "csv", "--page-size", "1"},
                   &out),
            0)
      << out;
  EXPECT_EQ(out, want_csv);
  const std::string file = fleet_.dir().Join("members.jsonl").string();
  ASSERT_EQ(Cjdctl({"segments", "export", "candle_lovers", "--format", "jsonl", "--out", file},
                   &out),
            0)
      << out;
  EXPECT_EQ(cjd::testing::ReadFile(file), want_jsonl);
  EXPECT_THAT(out, ::testing::HasSubstr("3 members of candle_lovers written to"));

  // The list: built-ins first, then ours, with its count.
  json list = Get("/v1/segments").Json();
  ASSERT_EQ(list["segments"].size(), 7u) << list.dump();
  const std::vector<std::string> builtin_ids = {"champions", "loyal", "new", "at_risk",
                                                "hibernating", "needs_attention"};
  for (size_t i = 0; i < builtin_ids.size(); ++i) {
    EXPECT_EQ(list["segments"][i]["id"], builtin_ids[i]);
    EXPECT_EQ(list["segments"][i]["builtin"], true);
  }
  EXPECT_EQ(list["segments"][6]["id"], "candle_lovers");
  EXPECT_EQ(list["segments"][6]["members"], 3);
  ASSERT_EQ(Cjdctl({"segments", "list"}, &out), 0) << out;
  {
    // The table: a header, then one line per segment: id, members, builtin, evaluated_at, rule.
    std::istringstream lines(out);
    std::string line;
    std::vector<std::string> ids;
    std::vector<std::string> ours;
    while (std::getline(lines, line)) {
      std::istringstream words(line);
      std::vector<std::string> w{std::istream_iterator<std::string>(words), {}};
      if (w.empty()) continue;
      ids.push_back(w[0]);
      if (w[0] == "candle_lovers") ours = w;
    }
    EXPECT_THAT(ids, ::testing::ElementsAre("id", "champions", "loyal", "new", "at_risk",
                                            "hibernating", "needs_attention", "candle_lovers"));
    ASSERT_GE(ours.size(), 5u) << out;
    EXPECT_EQ(ours[1], "3");
    EXPECT_EQ(ours[2], "false");
    // evaluated_at: the hub re-evaluates every second here, so the table's may be newer than
    // the one read above; same format, not earlier.
    ASSERT_EQ(ours[3].size(), 24u) << ours[3];
    EXPECT_GE(ours[3], list["segments"][6]["evaluated_at"].get<std::string>());
    EXPECT_EQ(ours[4], "favourite_category");
  }

  // Replacing the rule recomputes: 200, and only the big spender stays.
  HttpResponse replaced = Post("/v1/segments", {{"id", "candle_lovers"},
                                                {"rule", "favourite_category = \"candles\" and "
                                                         "revenue_gross >= 7.50"}});
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  ASSERT_TRUE(WaitMembers("candle_lovers", 2)) << Get("/v1/segments/candle_lovers").body;
  all = Get("/v1/segments/candle_lovers/members").Json();
  ASSERT_EQ(all["members"].size(), 2u);
  EXPECT_EQ(all["members"][0]["profile_id"], std::min(ann, cat));
  EXPECT_EQ(all["members"][1]["profile_id"], std::max(ann, cat));

  // cjdctl create: a second segment through the CLI.
  ASSERT_EQ(Cjdctl({"segments", "create", "mug_buyers", "favourite_category = \"mugs\""}, &out),
            0)
      << out;
  EXPECT_EQ(out, "created segment mug_buyers: favourite_category = \"mugs\"\n");
  ASSERT_TRUE(WaitMembers("mug_buyers", 1));

  json stats = fleet_.HubStats();
  ASSERT_TRUE(stats["segments"].is_object()) << stats.dump();
  EXPECT_EQ(stats["segments"]["segments"], 8);
  EXPECT_GE(stats["segments"]["evaluations"].get<int64_t>(), 4);
  EXPECT_GE(stats["segments"]["full_evaluations"].get<int64_t>(), 1);
  EXPECT_TRUE(stats["segments"]["last_full_evaluation_ms"].is_number_integer());
}

TEST_F(Segments, BadRequestsAreAnsweredWithTheFieldAndPosition) {
  HttpResponse r = Post("/v1/segments", {{"id", "x"}, {"rule", "orders >= "}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorField(r), "rule");
  EXPECT_EQ(ErrorMessage(r), "at 11: expected a value after \">=\", got end of rule");
  r = Post("/v1/segments", {{"id", "x"}, {"rule", "ordrs = 1"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorMessage(r), "at 1: unknown field \"ordrs\"");
  r = Post("/v1/segments", {{"rule", "orders = 1"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorField(r), "id");
  r = Post("/v1/segments", {{"id", "x"}});
  EXPECT_EQ(ErrorField(r), "rule");
  r = Post("/v1/segments", {{"id", "all"}, {"rule", "orders = 1"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorField(r), "id");
  r = Post("/v1/segments", {{"id", "Has Space"}, {"rule", "orders = 1"}});
  EXPECT_EQ(ErrorField(r), "id");
  r = Post("/v1/segments", {{"id", "x"}, {"rule", "orders = 1"}, {"colour", "red"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorField(r), "colour");
  r = Post("/v1/segments", {{"id", "x"}, {"rule", 5}});
  EXPECT_EQ(ErrorField(r), "rule");
  r = hub_->Post("/v1/segments", "{not json", fleet_.hub_token());
  EXPECT_EQ(r.status, 400);

  r = Post("/v1/segments", {{"id", "champions"}, {"rule", "orders >= 1"}});
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(ErrorField(r), "id");
  EXPECT_EQ(Delete("/v1/segments/champions").status, 409);
  EXPECT_EQ(Delete("/v1/segments/nope").status, 404);
  EXPECT_EQ(Get("/v1/segments/nope").status, 404);
  EXPECT_EQ(Get("/v1/segments/nope/members").status, 404);
  EXPECT_EQ(Get("/v1/segments/champions/other").status, 404);
  r = Get("/v1/segments/champions/members?limit=0");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorField(r), "limit");
  EXPECT_EQ(ErrorField(Get("/v1/segments/champions/members?limit=10001")), "limit");
  EXPECT_EQ(ErrorField(Get("/v1/segments/champions/members?after=x")), "after");
  EXPECT_EQ(ErrorField(Get("/v1/segments/champions/members?page=2")), "page");
  EXPECT_EQ(Get("/v1/segments/champions/members?limit=10000").status, 200);
  EXPECT_EQ(hub_->Get("/v1/segments").status, 401);  // no token

  ASSERT_EQ(Post("/v1/segments", {{"id", "temp"}, {"rule", "orders >= 1"}}).status, 201);
  EXPECT_EQ(Post("/v1/segments", {{"id", "temp"}, {"rule", "orders >= 1"}}).status, 200);
  HttpResponse deleted = Delete("/v1/segments/temp");
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(Get("/v1/segments/temp").status, 404);

  // cjdctl: the hub's error, exit 1; usage errors, exit 2.
  std::string out;
  EXPECT_EQ(Cjdctl({"segments", "create", "x", "orders >="}, &out), 1);
  EXPECT_THAT(out, ::testing::HasSubstr("HTTP 400"));
  EXPECT_THAT(out, ::testing::HasSubstr("at 10: expected a value after \">=\""));
  EXPECT_EQ(Cjdctl({"segments", "export", "nope", "--format", "csv"}, &out), 1);
  EXPECT_THAT(out, ::testing::HasSubstr("HTTP 404"));
  const std::string file = fleet_.dir().Join("nope.csv").string();
  EXPECT_EQ(Cjdctl({"segments", "export", "nope", "--format", "csv", "--out", file}, &out), 1);
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_FALSE(std::filesystem::exists(file + ".part"));
  EXPECT_EQ(Cjdctl({"segments", "export", "champions", "--format", "xml"}, &out), 2);
  EXPECT_THAT(out, ::testing::HasSubstr("--format: 'xml' is not csv or jsonl"));
  EXPECT_EQ(Cjdctl({"segments", "export", "Bad Id", "--format", "csv"}, &out), 2);
}

}  // namespace
}  // namespace cjd::itest
