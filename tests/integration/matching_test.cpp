// Probabilistic matching in the hub (issue 15): a real hub (real Mosquitto, processes, SQLite
// files) is sent FEBRL dataset1 (../shared/datasets/febrl; 500 people, each with one corrupted
// duplicate) as identify events through /v1/collect, each record under its own random
// customer_id with its fields as attributes. The rec_id ground truth is only used to score what
// the hub did: every person ends as one profile (or the pair is on the review list), no two
// people share one, a split of a probabilistic merge holds, and an operator's review decisions
// (merge, keep apart) apply; bad requests name their field.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/hub/matching/febrl_rows.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/datasets.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

using json = nlohmann::json;

struct Person {
  std::string entity;       // from rec_id: scoring only
  std::string customer_id;  // random, never derived from rec_id
  json attributes;
};

// FEBRL rows (tests/hub/matching/febrl_rows.h) as identify events' people.
std::vector<Person> ReadDataset(const std::string& path, std::mt19937_64& rng) {
  static const char* kFields[] = {"first_name", "last_name", "street_number", "address_line1",
                                  "address_line2", "city", "postcode", "region",
                                  "date_of_birth", "national_id"};
  std::vector<Person> out;
  std::set<std::string> used;
  for (const std::vector<std::string>& cells : cjd::testing::ReadFebrlRows(path)) {
    Person p;
    p.entity = cjd::testing::FebrlEntity(cells[0]);
    do {
      char buf[24];
      std::snprintf(buf, sizeof buf, "c%016llx", static_cast<unsigned long long>(rng()));
      p.customer_id = buf;
    } while (!used.insert(p.customer_id).second);
    p.attributes = json::object();
    for (size_t c = 0; c < 10; ++c) {
      if (!cells[c + 1].empty()) p.attributes[kFields[c]] = cells[c + 1];
    }
    out.push_back(std::move(p));
  }
  return out;
}

class Matching : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = cjd::testing::DatasetDir("febrl");
    if (dir.empty()) {
      CJD_SKIP_WITHOUT_DATA("the FEBRL data sets are not there (expected ../shared/datasets/febrl "
                            "beside the repository); skipping");
    }
    std::mt19937_64 rng(20261206);
    people_ = ReadDataset(dir + "/dataset1.csv", rng);
    ASSERT_EQ(people_.size(), 1000u);
    std::shuffle(people_.begin(), people_.end(), rng);
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub();
    key_ = fleet_.AddSource("crm");
  }

  void StartHub(const std::string& merge_threshold, int min_profiles) {
    SetTomlKey(fleet_.hub_config(), "identity", "match_merge_threshold", merge_threshold);
    SetTomlKey(fleet_.hub_config(), "identity", "match_min_profiles", std::to_string(min_profiles));
    // No growth refit during the test: the records after the first fit take the incremental path.
    SetTomlKey(fleet_.hub_config(), "identity", "match_refit_growth_percent", "100000");
    fleet_.StartHub();
    hub_ = std::make_unique<HttpClient>(fleet_.hub_port(), 120s);
  }

  HttpResponse Get(const std::string& path) { return hub_->Get(path, fleet_.hub_token()); }
  HttpResponse Post(const std::string& path, const std::string& body) {
    return hub_->Post(path, body, fleet_.hub_token());
  }

  // Posts people_[from, to) as identify events, then waits until the projection and the
  // matcher are done with them.
  void Send(size_t from, size_t to) {
    json batch = json::array();
    for (size_t i = from; i < to; ++i) {
      batch.push_back({{"type", "identify"},
                       {"occurred_at", "2026-11-20T10:00:00Z"},
                       {"customer", {{"customer_id", people_[i].customer_id}}},
                       {"attributes", people_[i].attributes}});
    }
    HttpResponse r = hub_->Post("/v1/collect", batch.dump(), key_);
    ASSERT_EQ(r.status, 202) << r.body;
    sent_ += static_cast<int64_t>(to - from);
    ASSERT_TRUE(fleet_.WaitHubEventsTotal(sent_)) << fleet_.Diagnostics();
    Settle();
  }

  // Waits until the projection has applied everything and the matcher's figures stop moving.
  void Settle() {
    json last;
    int stable = 0;
    const bool settled = cjd::testing::WaitUntil(
        [&] {
          json s = fleet_.HubStats();
          if (!s.contains("matching") || !s.contains("projection")) return false;
          if (s["projection"]["events_applied"].get<int64_t>() < sent_) return false;
          const json& m = s["matching"];
          if (m["fit_waiting"] == true || m["fitting"] == true || m["queued"] != 0 ||
              m["matching_now"] != 0) {
            return false;
          }
          json now = {s["matching"]["records"], s["matching"]["merges"],
                      s["matching"]["reviews_added"], s["matching"]["fits"],
                      s["matching"]["compared_pairs"], s["projection"]["cursor"]};
          stable = now == last ? stable + 1 : 0;
          last = now;
          return stable >= 6;  // ~1.5 s unchanged
        },
        120s, 250ms);
    ASSERT_TRUE(settled) << fleet_.HubStats().dump();
  }

  int64_t ProfileOf(const Person& p) {
    HttpResponse r = Get("/v1/profiles?identifier=customer_id:" + p.customer_id);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json().value("profile_id", int64_t{0});
  }

  // entity -> the profiles its records are on now.
  std::map<std::string, std::set<int64_t>> ProfilesByEntity() {
    std::map<std::string, std::set<int64_t>> out;
    for (const Person& p : people_) out[p.entity].insert(ProfileOf(p));
    return out;
  }

  std::vector<json> Reviews(const std::string& status) {
    std::vector<json> out;
    std::string after;
    while (true) {
      HttpResponse r = Get("/v1/identity/review?status=" + status + "&limit=50" + after);
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      const json page = r.Json();
      for (const json& item : page["reviews"]) out.push_back(item);
      if (page["next_after"].is_null()) break;
      after = "&after=" + std::to_string(page["next_after"].get<int64_t>());
    }
    return out;
  }

  std::vector<Person> people_;
  Fleet fleet_;
  std::string key_;
  std::unique_ptr<HttpClient> hub_;
  int64_t sent_ = 0;
};

TEST_F(Matching, Dataset1EndsAsOnePersonPerProfileAndASplitHolds) {
  StartHub("0.99", 800);
  Send(0, 800);  // the first fit: 800 profiles, every candidate pair scored
  json s = fleet_.HubStats()["matching"];
  EXPECT_EQ(s["fits"], 1) << s.dump();
  const int64_t merges_after_fit = s["merges"].get<int64_t>();
  Send(800, 1000);  // incremental: each new profile compared with its blocks only
  s = fleet_.HubStats()["matching"];
  std::printf("  matching: %s\n", s.dump().c_str());
  EXPECT_EQ(s["fits"], 1);
  EXPECT_GT(s["merges"].get<int64_t>(), merges_after_fit) << "the incremental path merged nothing";

  const auto by_entity = ProfilesByEntity();
  ASSERT_EQ(by_entity.size(), 500u);
  std::map<int64_t, std::set<std::string>> by_profile;
  for (const auto& [entity, profiles] : by_entity) {
    for (int64_t p : profiles) by_profile[p].insert(entity);
  }
  int64_t wrong = 0;  // profiles holding two people
  for (const auto& [p, entities] : by_profile) wrong += entities.size() > 1 ? 1 : 0;
  EXPECT_EQ(wrong, 0);
  // A person still on two profiles must have that pair on the review list.
  std::set<std::pair<int64_t, int64_t>> pending;
  for (const json& item : Reviews("pending")) {
    const int64_t a = item["profiles"][0]["profile_id"].get<int64_t>();
    const int64_t b = item["profiles"][1]["profile_id"].get<int64_t>();
    pending.insert({std::min(a, b), std::max(a, b)});
    EXPECT_GE(item["probability"].get<double>(), 0.5);
    EXPECT_LT(item["probability"].get<double>(), 0.99);
    EXPECT_FALSE(item["profiles"][0]["fields"].empty());
  }
  int64_t one_profile = 0, in_review = 0, unresolved = 0;
  for (const auto& [entity, profiles] : by_entity) {
    if (profiles.size() == 1) {
      ++one_profile;
    } else if (profiles.size() == 2 && pending.count({*profiles.begin(), *profiles.rbegin()})) {
      ++in_review;
    } else {
      ++unresolved;
    }
  }
  std::printf("  FEBRL dataset1 through the hub: %lld of 500 people on one profile, %lld pairs "
              "in review, %lld neither, %lld profiles with two people; live profiles %lld\n",
              static_cast<long long>(one_profile), static_cast<long long>(in_review),
              static_cast<long long>(unresolved), static_cast<long long>(wrong),
              static_cast<long long>(by_profile.size()));
  EXPECT_EQ(unresolved, 0);
  EXPECT_GE(one_profile, 495);

  // The merge log names the reason and the probability; a split undoes it and holds.
  const Person* first = nullptr;
  const Person* second = nullptr;
  for (const Person& p : people_) {
    for (const Person& q : people_) {
      if (&p != &q && p.entity == q.entity && by_entity.at(p.entity).size() == 1) {
        first = &p;
        second = &q;
        break;
      }
    }
    if (first != nullptr) break;
  }
  ASSERT_NE(first, nullptr);
  const int64_t merged = ProfileOf(*first);
  HttpResponse doc = Get("/v1/profiles/" + std::to_string(merged));
  ASSERT_EQ(doc.status, 200) << doc.body;
  ASSERT_EQ(doc.Json()["merges"].size(), 1u) << doc.body;
  EXPECT_EQ(doc.Json()["merges"][0]["reason"], "probabilistic");
  EXPECT_GE(doc.Json()["merges"][0]["probability"].get<double>(), 0.99);
  HttpResponse split = Post("/v1/profiles/" + std::to_string(merged) + "/split", "");
  ASSERT_EQ(split.status, 200) << split.body;
  Settle();
  EXPECT_NE(ProfileOf(*first), ProfileOf(*second));
  // The same records again (their profiles change, the matcher compares them anew): still apart.
  // The split named both profiles: the matcher compared them again and the merge was refused
  // (kept apart); a refused pair is not asked for again until the next fit.
  EXPECT_GE(fleet_.HubStats()["matching"]["refused"].get<int64_t>(), 1);
  json again = json::array();
  for (const Person* p : {first, second}) {
    json attributes = p->attributes;
    attributes["email"] = "again-" + p->customer_id + "@shop-mail.co.uk";
    again.push_back({{"type", "identify"},
                     {"occurred_at", "2026-11-21T10:00:00Z"},
                     {"customer", {{"customer_id", p->customer_id}}},
                     {"attributes", attributes}});
  }
  ASSERT_EQ(hub_->Post("/v1/collect", again.dump(), key_).status, 202);
  sent_ += 2;
  ASSERT_TRUE(fleet_.WaitHubEventsTotal(sent_));
  Settle();
  EXPECT_NE(ProfileOf(*first), ProfileOf(*second));
}

TEST_F(Matching, ReviewDecisionsMergeOrKeepApart) {
  StartHub("1", 1000);  // 1: merge nothing by itself, every likely pair goes to review
  Send(0, 1000);
  EXPECT_EQ(fleet_.HubStats()["matching"]["merges"], 0);
  std::printf("  matching: %s\n", fleet_.HubStats()["matching"].dump().c_str());
  std::vector<json> pending = Reviews("pending");
  std::printf("  review list: %zu pairs\n", pending.size());
  ASSERT_GE(pending.size(), 495u);
  std::map<int64_t, std::string> entity_by_profile;
  for (const Person& p : people_) entity_by_profile[ProfileOf(p)] = p.entity;
  int64_t true_pairs = 0;
  for (const json& item : pending) {
    true_pairs += entity_by_profile[item["profiles"][0]["profile_id"].get<int64_t>()] ==
                  entity_by_profile[item["profiles"][1]["profile_id"].get<int64_t>()];
  }
  EXPECT_EQ(true_pairs, static_cast<int64_t>(pending.size())) << "a false pair is up for review";

  const json& to_merge = pending[0];
  const json& to_keep = pending[1];
  const std::string merge_path = "/v1/identity/review/" + std::to_string(to_merge["id"].get<int64_t>());
  const std::string keep_path = "/v1/identity/review/" + std::to_string(to_keep["id"].get<int64_t>());
  // Bad requests name their field; the analyst role may not see the list.
  HttpResponse bad = Post(merge_path, R"({"decision": "maybe"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.Json()["error"]["field"], "decision") << bad.body;
  bad = Post(merge_path, R"({"decision": "merge", "note": 1})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.Json()["error"]["field"], "note") << bad.body;
  EXPECT_EQ(Get("/v1/identity/review?status=done").Json()["error"]["field"], "status");
  EXPECT_EQ(Get("/v1/identity/review?limit=0").Json()["error"]["field"], "limit");
  EXPECT_EQ(Post("/v1/identity/review/999999", R"({"decision": "merge"})").status, 404);
  const std::string analyst = fleet_.AddToken("analyst", "insight");
  EXPECT_EQ(hub_->Get("/v1/identity/review", analyst).status, 403);

  HttpResponse m = Post(merge_path, R"({"decision": "merge"})");
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(m.Json()["status"], "merged");
  EXPECT_TRUE(m.Json()["merge_id"].is_number_integer());
  EXPECT_EQ(m.Json()["profiles"][0]["profile_id"], m.Json()["profiles"][1]["profile_id"]);
  EXPECT_EQ(Post(merge_path, R"({"decision": "merge"})").status, 409);
  HttpResponse k = Post(keep_path, R"({"decision": "keep_apart"})");
  ASSERT_EQ(k.status, 200) << k.body;
  EXPECT_EQ(k.Json()["status"], "kept_apart");
  Settle();
  const int64_t merged = m.Json()["profiles"][0]["profile_id"].get<int64_t>();
  HttpResponse doc = Get("/v1/profiles/" + std::to_string(merged));
  ASSERT_EQ(doc.status, 200);
  ASSERT_EQ(doc.Json()["merges"].size(), 1u) << doc.body;
  EXPECT_EQ(doc.Json()["merges"][0]["reason"], "review");
  const int64_t ka = k.Json()["profiles"][0]["profile_id"].get<int64_t>();
  const int64_t kb = k.Json()["profiles"][1]["profile_id"].get<int64_t>();
  EXPECT_NE(ka, kb);
  EXPECT_EQ(Reviews("merged").size(), 1u);
  EXPECT_EQ(Reviews("kept_apart").size(), 1u);
  EXPECT_EQ(Reviews("pending").size(), pending.size() - 2);
  EXPECT_EQ(Reviews("all").size(), pending.size());

  // An erased person leaves the review list (and the matcher's memory).
  const json& erased_pair = pending[2];
  const int64_t erased = erased_pair["profiles"][0]["profile_id"].get<int64_t>();
  std::string customer_id;
  for (const Person& p : people_) {
    if (ProfileOf(p) == erased) customer_id = p.customer_id;
  }
  ASSERT_FALSE(customer_id.empty());
  HttpResponse e = Post("/v1/privacy/erasures",
                        json{{"identifier", "customer_id:" + customer_id}}.dump());
  ASSERT_EQ(e.status, 202) << e.body;
  const std::string erasure = e.Json()["id"];
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        return Get("/v1/privacy/erasures/" + erasure).Json()["hub"]["state"] == "done";
      },
      30s));
  Settle();
  EXPECT_EQ(Get("/v1/identity/review/" + std::to_string(erased_pair["id"].get<int64_t>())).status,
            404);
  EXPECT_EQ(Reviews("pending").size(), pending.size() - 3);
  EXPECT_EQ(fleet_.HubStats()["matching"]["records"], 998);  // 1,000 less a merge and the erased
}

}  // namespace
}  // namespace cjd::itest
