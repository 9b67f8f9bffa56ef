// The hub with its event store on PostgreSQL (issue 17), end to end: a real PostgreSQL (Debian's,
// initdb in a temporary folder, tests/support/postgres.h), `cjdctl init-hub --database`, a real
// broker, agent and hub. Events from a till and from a collect source land in PostgreSQL exactly
// once, also across a kill -9 of the hub; the projection builds profiles from the log there;
// cjdctl refuses a bad or unreachable --database with a message naming it.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <mutex>
#include <thread>

#include "shared/core/clock.h"
#include "shared/event/event.h"
#include "shared/storage/sqlite.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/ports.h"
#include "tests/support/postgres.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

using cjd::testing::Postgres;

std::set<std::string> Lines(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.insert(line);
  }
  return out;
}

class PostgresHub : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    if (!Postgres::Available()) GTEST_SKIP() << Postgres::UnavailableReason();
    pg_.emplace(Postgres::Start());
    url_ = pg_->CreateDatabase("hub");
  }
  std::string Sql(const std::string& sql) { return pg_->Psql(sql, "hub"); }

  // A hub instance beside fleet_'s: its folder, HTTP port and process.
  struct Instance {
    std::filesystem::path dir;
    uint16_t port = 0;
    Process hub;
  };

  // fleet_'s hub, then a second instance beside it, both healthy. The second has the same keys
  // and database, its own folder, port and client id: every instance needs the same identity,
  // vault master and audit keys (the database holds the data keys they wrap and the audit
  // chain they key, and refuses others).
  void StartTwoInstances(Instance* second) {
    fleet_.StartHub();
    second->dir = fleet_.dir().Join("hub2");
    std::filesystem::create_directories(second->dir);
    for (const char* f : {"hub.toml", "hub.key", "hub.pub", "identity.key", "master.key",
                          "audit.key"}) {
      std::filesystem::copy_file(fleet_.hub_dir() / f, second->dir / f,
                                 std::filesystem::copy_options::skip_existing);
    }
    second->port = cjd::testing::FreeLoopbackPort();
    SetTomlKey(second->dir / "hub.toml", "http", "listen",
               TomlQuote("127.0.0.1:" + std::to_string(second->port)));
    second->hub = Process::Start(
        {cjd::testing::HubBinary(), "--config", (second->dir / "hub.toml").string()},
        second->dir / "hub.log");
    ASSERT_TRUE(WaitHealthy(second->hub, second->port, kStartTimeout)) << second->hub.LogTail();
  }

  std::optional<Postgres> pg_;
  std::string url_;
  Fleet fleet_;
};

TEST_F(PostgresHub, EventsLandInPostgresExactlyOnceAndAreProjected) {
  fleet_.StartBroker();
  fleet_.InitHub(10, {"--database", url_});
  EXPECT_FALSE(std::filesystem::exists(fleet_.hub_db())) << "no SQLite log beside PostgreSQL";
  EXPECT_NE(cjd::testing::ReadFile(fleet_.hub_config()).find("url = \"" + url_ + "\""), std::string::npos);
  const std::string key = fleet_.AddSource("webshop");
  FleetAgent& till = fleet_.AddDevice("pos-pg-1", "store-1");
  // The registrations went to PostgreSQL.
  EXPECT_EQ(Sql("SELECT device_id || '/' || store_id FROM devices"), "pos-pg-1/store-1");
  EXPECT_EQ(Sql("SELECT name FROM sources"), "webshop");
  fleet_.StartHub();
  ASSERT_TRUE(fleet_.StartAgent(till));

  // A till's sales and loyalty scans (some sent twice), and a web shop's events.
  std::set<std::string> accepted;
  HttpClient agent(till.port, 10s);
  for (int batch = 0; batch < 10; ++batch) {
    nlohmann::json body = nlohmann::json::array();
    for (int i = 0; i < 10; ++i) {
      const std::string id = "pg-" + std::to_string(batch) + "-" + std::to_string(i);
      body.push_back(i % 2 == 0 ? MakeLoyaltyScan(till.store, id) : MakeTransaction(till.store, id));
    }
    PostResult r = PostEvents(agent, till.token, body);
    ASSERT_EQ(r.status, 202) << r.body;
    accepted.insert(r.event_ids.begin(), r.event_ids.end());
    if (batch % 3 == 0) {
      ASSERT_EQ(PostEvents(agent, till.token, body).status, 202);  // again
    }
  }
  HttpClient hub(fleet_.hub_port(), 10s);
  nlohmann::json web = nlohmann::json::array();
  for (const char* id : {"web-1", "web-2"}) {
    web.push_back({{"type", "page_view"},
                   {"event_id", id},
                   {"occurred_at", "2026-11-23T10:15:00+01:00"},
                   {"customer", {{"anonymous_id", "anon-pg-1"}}},
                   {"properties", {{"url", std::string("https://shop.test/") + id}}}});
  }
  const std::string collect_body = web.dump();
  HttpResponse c = hub.Post("/v1/collect", collect_body, key);
  ASSERT_EQ(c.status, 202) << c.body;
  c = hub.Post("/v1/collect", collect_body, key);  // a retry: duplicates
  ASSERT_EQ(c.status, 202) << c.body;

  ASSERT_TRUE(fleet_.WaitHubEventsTotal(102)) << fleet_.Diagnostics();
  ASSERT_TRUE(fleet_.WaitBacklogDrained(till)) << fleet_.Diagnostics();
  // Exactly once, in PostgreSQL.
  EXPECT_EQ(Sql("SELECT count(*) FROM events"), "102");
  EXPECT_EQ(Sql("SELECT count(*) FROM (SELECT DISTINCT source, event_id FROM events) d"), "102");
  std::set<std::string> stored = Lines(Sql("SELECT event_id FROM events WHERE source = 'pos-pg-1'"));
  EXPECT_EQ(stored, accepted);
  EXPECT_EQ(Lines(Sql("SELECT event_id FROM events WHERE source = 'webshop'")),
            (std::set<std::string>{"web-1", "web-2"}));
  // Partitioned by month of arrival; the person sealed (the loyalty id is not in the body).
  EXPECT_NE(Sql("SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent "
                "WHERE p.relname = 'events'"),
            "0");
  EXPECT_EQ(Sql("SELECT count(*) FROM events WHERE body LIKE '%\"L1\"%'"), "0");
  EXPECT_EQ(Sql("SELECT count(*) FROM events WHERE type = 'loyalty_scan' AND pii IS NULL"), "0");

  // The projection reads the log from PostgreSQL: the loyalty customer's profile is there.
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        const nlohmann::json s = fleet_.HubStats();
        return !s.is_null() && s["projection"]["cursor"].get<int64_t>() >= 102;
      },
      30s))
      << fleet_.Diagnostics();
  HttpResponse p = hub.Get("/v1/profiles?identifier=loyalty_id:L1", fleet_.hub_token());
  ASSERT_EQ(p.status, 200) << p.body;
  const nlohmann::json stats = fleet_.HubStats();
  EXPECT_EQ(stats["events_total"], 102) << stats.dump();

  // kill -9 while a till keeps selling; after the restart every accepted event is there once.
  fleet_.KillHub();
  for (int batch = 10; batch < 15; ++batch) {
    nlohmann::json body = nlohmann::json::array();
    for (int i = 0; i < 10; ++i) {
      body.push_back(MakeTransaction(till.store, "pg-" + std::to_string(batch) + "-" +
                                                     std::to_string(i)));
    }
    PostResult r = PostEvents(agent, till.token, body);
    ASSERT_EQ(r.status, 202) << r.body;
    accepted.insert(r.event_ids.begin(), r.event_ids.end());
  }
  fleet_.StartHub();
  ASSERT_TRUE(fleet_.WaitBacklogDrained(till)) << fleet_.Diagnostics();
  ASSERT_TRUE(fleet_.WaitDeviceCaughtUp(till)) << fleet_.Diagnostics();
  stored = Lines(Sql("SELECT event_id FROM events WHERE source = 'pos-pg-1'"));
  EXPECT_EQ(stored, accepted);
  EXPECT_EQ(Sql("SELECT count(*) FROM events WHERE source = 'pos-pg-1'"),
            std::to_string(accepted.size()));
  EXPECT_EQ(fleet_.HubEventsTotal(), static_cast<int64_t>(accepted.size()) + 2);
}

// Issue 17's kill test for ingest: two hub instances on one PostgreSQL share the devices' frames
// through the broker's shared subscription; 3,000 events are posted to two agents at once while
// one instance is killed with SIGKILL. Every 202-acknowledged event is in PostgreSQL exactly
// once, the agents' backlogs drain (the survivor acknowledges frames the other committed), and
// both instances report the same store counters.
TEST_F(PostgresHub, TwoInstancesShareTheFramesAndOneIsKilledWithoutLossOrDuplicates) {
  fleet_.StartBroker();
  fleet_.InitHub(10, {"--database", url_});
  EXPECT_EQ(GetTomlString(fleet_.hub_config(), "mqtt", "shared_group"), "cjd-hubs");
  FleetAgent& a1 = fleet_.AddDevice("pos-pg-a", "store-a");
  FleetAgent& a2 = fleet_.AddDevice("pos-pg-b", "store-b");
  // The second instance: the same keys and database, its own folder, port and client id.
  Instance second;
  ASSERT_NO_FATAL_FAILURE(StartTwoInstances(&second));
  ASSERT_TRUE(fleet_.StartAgent(a1));
  ASSERT_TRUE(fleet_.StartAgent(a2));

  // 3,000 events from four clients (two per agent), batches of 10; the first instance is
  // killed once a third of them are in.
  std::mutex mu;
  std::set<std::string> accepted;
  std::atomic<int> failures{0};
  std::atomic<int64_t> posted{0};
  std::array<std::atomic<int>, 40> member_orders{};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      const FleetAgent& agent = c % 2 == 0 ? a1 : a2;
      HttpClient http(agent.port, 10s);
      for (int batch = 0; batch < 75; ++batch) {
        nlohmann::json body = nlohmann::json::array();
        for (int i = 0; i < 10; ++i) {
          nlohmann::json t = MakeTransaction(agent.store, "two-" + std::to_string(c) + "-" +
                                                              std::to_string(batch) + "-" +
                                                              std::to_string(i));
          // Some sales name a loyalty member (40 members, each buying on both instances'
          // frames): their profiles are built from events either instance sealed.
          if (i < 2) {
            const int member = (batch + i) % 40;
            t["customer"] = {{"loyalty_id", "LPG-" + std::to_string(member)}};
            ++member_orders[member];
          }
          body.push_back(std::move(t));
        }
        const PostResult r = PostEvents(http, agent.token, body);
        if (r.status != 202) {
          ++failures;
          return;
        }
        std::lock_guard lock(mu);
        accepted.insert(r.event_ids.begin(), r.event_ids.end());
        posted += 10;
      }
    });
  }
  // Killed once a third is posted and it has itself committed some (the broker shares the
  // frames out; on a fast machine the agents may take 1,000 before either instance commits).
  HttpClient first(fleet_.hub_port(), 10s);
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        if (posted.load() < 1000) return false;
        const nlohmann::json s = first.Get("/v1/stats", fleet_.hub_token()).Json();
        return s.is_object() && s["ingest"]["events_inserted"].get<int64_t>() >= 50;
      },
      60s))
      << "the first instance committed nothing: were the frames shared?\n" << fleet_.Diagnostics();
  fleet_.KillHub();
  for (auto& t : clients) t.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_EQ(accepted.size(), 3000u);

  // The survivor takes every frame now; the agents resend what the killed one had not acked.
  ASSERT_TRUE(fleet_.WaitBacklogDrained(a1)) << fleet_.Diagnostics() << second.hub.LogTail();
  ASSERT_TRUE(fleet_.WaitBacklogDrained(a2)) << fleet_.Diagnostics() << second.hub.LogTail();
  EXPECT_EQ(Lines(Sql("SELECT event_id FROM events")), accepted);
  EXPECT_EQ(Sql("SELECT count(*) FROM events"), "3000") << "each once";
  EXPECT_EQ(Sql("SELECT count(*) FROM (SELECT DISTINCT source, seq, epoch FROM events) s"), "3000")
      << "no device sequence twice";
  // Both instances had frames (the broker shares them out), and report the same counters once
  // the first is back.
  fleet_.StartHub();
  HttpClient h1(fleet_.hub_port(), 10s), h2(second.port, 10s);
  const nlohmann::json s1 = h1.Get("/v1/stats", fleet_.hub_token()).Json();
  const nlohmann::json s2 = h2.Get("/v1/stats", fleet_.hub_token()).Json();
  EXPECT_EQ(s1["events_total"], 3000) << s1.dump();
  EXPECT_EQ(s2["events_total"], 3000) << s2.dump();
  EXPECT_EQ(s1["events_by_type"], s2["events_by_type"]);
  // Every instance answers alike: the projection on each reads the whole log and opens every
  // event's personal part with the data keys the database holds, whichever instance sealed it.
  const int64_t last_id = std::stoll(Sql("SELECT max(id) FROM events"));
  auto projected = [&](HttpClient& h) {
    const nlohmann::json st = h.Get("/v1/stats", fleet_.hub_token()).Json();
    return st.is_object() && st["projection"]["cursor"] == last_id;
  };
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return projected(h1) && projected(h2); }, 60s))
      << h1.Get("/v1/stats", fleet_.hub_token()).body << "\n" << second.hub.LogTail();
  auto metrics = [&](HttpClient& h) {
    nlohmann::json m = h.Get("/v1/metrics", fleet_.hub_token()).Json();
    m.erase("computed_at");
    m.erase("generated_at");
    return m;
  };
  const nlohmann::json m1 = metrics(h1);
  EXPECT_EQ(m1, metrics(h2));
  EXPECT_EQ(m1["orders"], 3000) << m1.dump();
  for (int member = 0; member < 40; member += 13) {
    const std::string q = "/v1/profiles?identifier=loyalty_id:LPG-" + std::to_string(member);
    const nlohmann::json p1 = h1.Get(q, fleet_.hub_token()).Json();
    const nlohmann::json p2 = h2.Get(q, fleet_.hub_token()).Json();
    ASSERT_TRUE(p1.is_object() && p1.contains("traits")) << p1.dump();
    EXPECT_EQ(p1["identifiers"], p2["identifiers"]);
    EXPECT_EQ(p1["traits"]["orders"], p2["traits"]["orders"]);
    EXPECT_EQ(p1["traits"]["revenue_gross"], p2["traits"]["revenue_gross"]);
    EXPECT_EQ(p1["traits"]["orders"], member_orders[member].load())
        << "every sale of the member, whichever instance stored it";
  }
  // The data keys are the database's (members and cards), no instance has a keys.db.
  EXPECT_GE(std::stoll(Sql("SELECT count(*) FROM vault_keys")), 40);
  EXPECT_FALSE(std::filesystem::exists(fleet_.hub_dir() / "keys.db"));
  EXPECT_FALSE(std::filesystem::exists(second.dir / "keys.db"));
  // The survivor stored only part of them: the killed instance committed the rest.
  const int64_t by_survivor = s2["ingest"]["events_inserted"].get<int64_t>();
  EXPECT_GT(by_survivor, 0);
  EXPECT_LT(by_survivor, 3000) << "the broker gave every frame to one instance";

  // Tokens and the audit log are the database's: a token cjdctl adds through the first
  // instance's folder works on both, a revocation through the second's stops it on both, and
  // both instances read one audit chain that verifies.
  const std::string ana = fleet_.AddToken("analyst", "ana-shared");
  EXPECT_EQ(h1.Get("/v1/metrics", ana).status, 200);
  EXPECT_EQ(h2.Get("/v1/metrics", ana).status, 200);
  std::string out;
  ASSERT_EQ(Fleet::Cjdctl(
                {"revoke-token", "--hub-dir", second.dir.string(), "--name", "ana-shared"}, &out),
            0)
      << out;
  EXPECT_EQ(h1.Get("/v1/metrics", ana).status, 401);
  EXPECT_EQ(h2.Get("/v1/metrics", ana).status, 401);
  const nlohmann::json audit1 = h1.Get("/v1/audit", fleet_.hub_token()).Json();
  EXPECT_EQ(audit1, h2.Get("/v1/audit", fleet_.hub_token()).Json());
  std::set<std::string> actions;
  for (const nlohmann::json& e : audit1["entries"]) actions.insert(e["action"].get<std::string>());
  EXPECT_TRUE(actions.count("add-token") == 1 && actions.count("revoke-token") == 1) << audit1.dump();
  EXPECT_EQ(Fleet::Cjdctl({"audit", "verify", "--hub-dir", second.dir.string()}, &out), 0) << out;
  EXPECT_FALSE(std::filesystem::exists(fleet_.hub_dir() / "access.db"));
  EXPECT_FALSE(std::filesystem::exists(second.dir / "access.db"));
  second.hub.Terminate(10s);
}

// An erasure reaches every instance (issue 17 with issue 11): each instance keeps its own
// projection, so a request made through one and carried out by whichever instance takes its hub
// part is applied to the other's profiles too, by the keyed hashes of the person's identifiers
// that the request keeps in PostgreSQL; so is the final sweep after the till's receipt, which
// either instance may take. Both instances show the same request; with "suppress", a later
// event of the person makes no profile on either.
TEST_F(PostgresHub, AnErasureThroughOneInstanceErasesThePersonOnEvery) {
  fleet_.StartBroker();
  fleet_.InitHub(10, {"--database", url_});
  const std::string key = fleet_.AddSource("webshop");
  FleetAgent& till = fleet_.AddDevice("pos-pg-e", "store-e");
  Instance second;
  ASSERT_NO_FATAL_FAILURE(StartTwoInstances(&second));
  ASSERT_TRUE(fleet_.StartAgent(till));
  HttpClient h1(fleet_.hub_port(), 10s), h2(second.port, 10s);
  const std::string token = fleet_.hub_token();
  int64_t posted = 0;
  auto collect = [&](HttpClient& h, const nlohmann::json& event) {
    HttpResponse r = h.Post("/v1/collect", nlohmann::json::array({event}).dump(), key);
    ASSERT_EQ(r.status, 202) << r.body;
    ++posted;
  };
  auto identify = [](const std::string& email, const std::string& loyalty) {
    return nlohmann::json{{"type", "identify"},
                          {"occurred_at", "2026-11-20T10:00:00Z"},
                          {"customer", {{"email", email}, {"loyalty_id", loyalty}}},
                          {"attributes", {{"first_name", "Ines"}}}};
  };
  // Both instances projected all `posted` events.
  auto settled = [&] {
    if (std::stoll(Sql("SELECT count(*) FROM events")) < posted) return false;
    const int64_t head = std::stoll(Sql("SELECT max(id) FROM events"));
    for (HttpClient* h : {&h1, &h2}) {
      const nlohmann::json st = h->Get("/v1/stats", token).Json();
      if (!st.is_object() || st["projection"]["cursor"].get<int64_t>() < head) return false;
    }
    return true;
  };
  const std::string gone = "ines.gone@inbox-mail.net", kept = "kai.kept@inbox-mail.net";
  collect(h1, identify(gone, "LG-1"));
  collect(h2, identify(kept, "LK-1"));
  {
    // She was seen in the till's store: the till must confirm the erasure.
    nlohmann::json scan = MakeLoyaltyScan(till.store, "scan-g-1");
    scan["customer"] = {{"loyalty_id", "LG-1"}};
    HttpClient agent(till.port, 10s);
    ASSERT_EQ(PostEvents(agent, till.token, nlohmann::json::array({scan})).status, 202);
    ++posted;
    ASSERT_TRUE(fleet_.WaitBacklogDrained(till)) << fleet_.Diagnostics();
  }
  ASSERT_TRUE(cjd::testing::WaitUntil(settled, 30s))
      << fleet_.Diagnostics() << second.hub.LogTail();
  auto status = [&](HttpClient& h, const std::string& identifier) {
    return h.Get("/v1/profiles?identifier=" + identifier, token).status;
  };
  for (HttpClient* h : {&h1, &h2}) {
    ASSERT_EQ(status(*h, "email:" + gone), 200)
        << h->Get("/v1/profiles?identifier=email:" + gone, token).body;
    ASSERT_EQ(status(*h, "loyalty_id:LK-1"), 200);
  }

  HttpResponse e = h1.Post("/v1/privacy/erasures",
                           nlohmann::json{{"identifier", "email:" + gone}, {"suppress", true}}.dump(),
                           token);
  ASSERT_EQ(e.status, 202) << e.body;
  const std::string id = e.Json()["id"];
  nlohmann::json doc1;
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        doc1 = h1.Get("/v1/privacy/erasures/" + id, token).Json();
        return doc1.is_object() && doc1["state"] == "done";
      },
      60s))
      << doc1.dump() << fleet_.Diagnostics() << second.hub.LogTail();
  ASSERT_EQ(doc1["devices"].size(), 1u) << doc1.dump();
  // The same request on both (one table in PostgreSQL), the list too.
  EXPECT_EQ(h2.Get("/v1/privacy/erasures/" + id, token).Json(), doc1);
  EXPECT_EQ(h2.Get("/v1/privacy/erasures", token).Json(), h1.Get("/v1/privacy/erasures", token).Json());
  EXPECT_EQ(std::stoll(Sql("SELECT count(*) FROM privacy_erasure_keys WHERE erasure_id = '" + id +
                           "'")),
            2)
      << "the email's and the loyalty id's keyed hashes";
  // Gone from both projections (the second instance applies it within seconds), by every
  // identifier the person held; the other customer stays.
  for (HttpClient* h : {&h1, &h2}) {
    EXPECT_TRUE(cjd::testing::WaitUntil(
        [&] {
          return status(*h, "email:" + gone) == 404 && status(*h, "loyalty_id:LG-1") == 404;
        },
        20s))
        << "still found on the instance at " << (h == &h1 ? "h1" : "h2") << "\n"
        << second.hub.LogTail();
    EXPECT_EQ(status(*h, "loyalty_id:LK-1"), 200);
  }
  // In the shared log, the person's events lost their sealed personal part; the other's kept it.
  EXPECT_EQ(Sql("SELECT count(*) FROM events WHERE pii IS NOT NULL"), "1");
  // Each instance recorded the request, and the final sweep after the till's receipt, as
  // applied to its own projection (whichever instance ran them).
  auto swept_in = [&](const std::filesystem::path& dir) {
    sqlite::OpenOptions o;
    o.read_only = true;
    auto db = sqlite::Database::Open((dir / "profiles.db").string(), o);
    if (!db.ok()) return false;
    auto q = (*db)->Prepare("SELECT swept_ms FROM erasures_applied WHERE erasure_id = ?1");
    if (!q.ok()) return false;
    q->Bind(1, id);
    auto row = q->Step();
    return row.ok() && *row && q->ColumnInt(0) > 0;
  };
  EXPECT_TRUE(cjd::testing::WaitUntil(
                  [&] { return swept_in(fleet_.hub_dir()) && swept_in(second.dir); }, 20s))
      << second.hub.LogTail();

  // Suppressed on both: the person's next events, through either instance, make no profile.
  collect(h2, {{"type", "order_completed"},
               {"occurred_at", "2026-11-22T10:00:00Z"},
               {"customer", {{"email", gone}}},
               {"order", {{"order_id", "W-G1"}, {"currency", "EUR"},
                          {"items", {{{"sku", "S1"}, {"quantity", 1}, {"unit_price", "9.99"}}}}}}});
  collect(h1, identify(gone, "LG-2"));
  ASSERT_TRUE(cjd::testing::WaitUntil(settled, 30s))
      << fleet_.Diagnostics() << second.hub.LogTail();
  for (HttpClient* h : {&h1, &h2}) {
    EXPECT_EQ(status(*h, "email:" + gone), 404);
    EXPECT_EQ(status(*h, "loyalty_id:LG-2"), 404);
  }
  // ... and those events are redacted in the log as well.
  EXPECT_TRUE(cjd::testing::WaitUntil(
      [&] { return Sql("SELECT count(*) FROM events WHERE pii IS NOT NULL") == "1"; }, 30s))
      << Sql("SELECT id, type, pii IS NOT NULL FROM events");
  auto metrics = [&](HttpClient& h) {
    nlohmann::json m = h.Get("/v1/metrics", token).Json();
    m.erase("computed_at");
    m.erase("generated_at");
    return m;
  };
  const nlohmann::json m1 = metrics(h1);
  EXPECT_EQ(m1, metrics(h2));
  EXPECT_EQ(m1["customers"], 0) << m1.dump();  // the one left has no order
  EXPECT_EQ(m1["store_totals"]["anonymous_orders"], 1) << "the erased person's order stays, anonymous";
  second.hub.Terminate(10s);
}

// Offers are one catalogue in PostgreSQL, whichever instance they are posted to, and go to the
// kiosks from one instance at a time (the lease `offers.device_sync`): both instances plan, one
// sends. Two senders would each see the kiosk's watermark in the other's numbering and renumber
// and resend everything, back and forth. The sender killed with SIGKILL, the other takes the
// sending over within 10 s, sends the kiosk its whole state once, and an offer posted to it
// reaches the kiosk.
TEST_F(PostgresHub, OneInstanceSendsTheKiosksTheirOffersAndAnotherTakesOverWhenItDies) {
  fleet_.StartBroker();
  fleet_.InitHub(10, {"--database", url_});
  FleetAgent& kiosk = fleet_.AddDevice("kiosk-pg", "store-k", "kiosk");
  Instance second;
  ASSERT_NO_FATAL_FAILURE(StartTwoInstances(&second));
  ASSERT_TRUE(fleet_.StartAgent(kiosk));
  ASSERT_TRUE(fleet_.WaitAgentConnected(kiosk, true));
  HttpClient h1(fleet_.hub_port(), 10s), h2(second.port, 10s);
  const std::string token = fleet_.hub_token();
  const int64_t now = Clock::Real()->NowMillis();
  auto offer = [&](const std::string& id, int priority, const std::string& title = "") {
    return nlohmann::json{{"id", id},
                          {"title", title.empty() ? "Title of " + id : title},
                          {"text", "Show this at the till"},
                          {"segment", "all"},
                          {"stores", nlohmann::json::array()},
                          {"valid_from", FormatRfc3339(now - 86'400'000)},
                          {"valid_until", FormatRfc3339(now + 30 * 86'400'000LL)},
                          {"priority", priority},
                          {"max_per_customer", 0},
                          {"requires_consent", false}}
        .dump();
  };
  auto served = [&] {
    HttpClient c(kiosk.port, 10s);
    const HttpResponse r = c.Get("/v1/offers", kiosk.token);
    std::vector<std::string> ids;
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (r.status != 200 || !j.is_object()) return ids;
    for (const auto& o : j["offers"]) ids.push_back(o.value("id", ""));
    return ids;
  };
  auto offers_stats = [&](HttpClient& h) {
    const nlohmann::json st = h.Get("/v1/stats", token).Json();
    return st.is_object() && st["offers"].is_object() ? st["offers"] : nlohmann::json();
  };
  // An offer through the first instance (a draft, then the final text): the offers are one
  // catalogue in the database, so the second lists the same at once.
  ASSERT_EQ(h1.Post("/v1/offers", offer("welcome", 0, "Draft"), token).status, 201);
  ASSERT_EQ(h1.Post("/v1/offers", offer("welcome", 0), token).status, 200);
  const nlohmann::json listed = h1.Get("/v1/offers", token).Json();
  EXPECT_EQ(listed["count"], 1) << listed.dump();
  EXPECT_EQ(h2.Get("/v1/offers", token).Json(), listed);
  EXPECT_EQ(h2.Get("/v1/offers/welcome", token).Json()["version"], 2);
  const std::vector<std::string> welcome{"welcome"};
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return served() == welcome; }, 30s))
      << fleet_.Diagnostics() << second.hub.LogTail();

  // Exactly one sends; the other has sent nothing.
  nlohmann::json o1, o2;
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        o1 = offers_stats(h1);
        o2 = offers_stats(h2);
        return o1.is_object() && o2.is_object() &&
               std::set<std::string>{o1.value("sync_lease", ""), o2.value("sync_lease", "")} ==
                   std::set<std::string>{"held", "standby"};
      },
      10s))
      << o1.dump() << "\n" << o2.dump();
  const bool first_sends = o1["sync_lease"] == "held";
  HttpClient& sender = first_sends ? h1 : h2;
  HttpClient& standby = first_sends ? h2 : h1;
  EXPECT_EQ(offers_stats(standby)["updates_sent"], 0) << offers_stats(standby).dump();
  // An offer posted through the instance that does not send reaches the kiosk (the sender plans
  // from the same catalogue); deleted through the other, it leaves it.
  ASSERT_EQ(standby.Post("/v1/offers", offer("spring", 3), token).status, 201);
  const std::vector<std::string> spring{"spring", "welcome"};
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return served() == spring; }, 30s))
      << ::testing::PrintToString(served()) << fleet_.Diagnostics() << second.hub.LogTail();
  ASSERT_EQ(sender.Delete("/v1/offers/spring", token).status, 200);
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return served() == welcome; }, 30s))
      << ::testing::PrintToString(served()) << fleet_.Diagnostics() << second.hub.LogTail();
  EXPECT_EQ(offers_stats(standby)["updates_sent"], 0) << offers_stats(standby).dump();
  // Settled: once the kiosk reported holding it all, its heartbeats (one a second, through
  // either instance) make the sender send nothing more, and nobody renumbers. (The kiosk
  // connected after the sender's first send, which it never got: that is resent at its first
  // heartbeat from its new connection, and what came between it held beyond a gap until then,
  // as for any lost update. And the counters are copied after
  // a round's sending: read once the kiosk reported, in a later round.)
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] { return offers_stats(sender)["devices_current"] == 1; }, 30s))
      << offers_stats(sender).dump() << fleet_.Diagnostics() << second.hub.LogTail();
  const nlohmann::json before = offers_stats(sender);
  std::this_thread::sleep_for(5s);
  const nlohmann::json after = offers_stats(sender);
  EXPECT_EQ(after["updates_sent"], before["updates_sent"]) << before.dump() << "\n" << after.dump();
  EXPECT_EQ(after["resends"], before["resends"]) << after.dump();
  EXPECT_LE(after["resends"], 1) << "at most the first send, lost before the kiosk connected";
  EXPECT_EQ(offers_stats(standby)["updates_sent"], 0) << offers_stats(standby).dump();

  // The sender dies. The other takes the sending over (within 10 s), and the kiosk gets an offer
  // posted to it.
  const auto killed_at = std::chrono::steady_clock::now();
  if (first_sends) {
    fleet_.KillHub();
  } else {
    second.hub.Kill9();
  }
  HttpClient& survivor = standby;
  nlohmann::json os;
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        os = offers_stats(survivor);
        return os.is_object() && os["sync_lease"] == "held";
      },
      30s))
      << os.dump() << fleet_.Diagnostics() << second.hub.LogTail();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - killed_at);
  std::cout << "[ takeover ] the survivor sends the offers " << took.count()
            << " ms after the sender's SIGKILL\n";
  EXPECT_LT(took.count(), 10'000) << "the survivor took the sending over " << took.count()
                                  << " ms after the kill";
  EXPECT_EQ(os["lease_takeovers"], 1) << os.dump();
  ASSERT_EQ(survivor.Post("/v1/offers", offer("autumn", 5), token).status, 201);
  const std::vector<std::string> both{"autumn", "welcome"};
  EXPECT_TRUE(cjd::testing::WaitUntil([&] { return served() == both; }, 30s))
      << ::testing::PrintToString(served()) << fleet_.Diagnostics() << second.hub.LogTail();
  // Sent whole once, then quiet again. /v1/stats copies the counters after a round's sending,
  // so a kiosk may show what a send brought before the counters count it: read them once the
  // kiosk reported holding it all (devices_current, counted in a later round).
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] { return offers_stats(survivor)["devices_current"] == 1; }, 30s))
      << offers_stats(survivor).dump() << fleet_.Diagnostics() << second.hub.LogTail();
  const nlohmann::json s1 = offers_stats(survivor);
  std::this_thread::sleep_for(4s);
  const nlohmann::json s2 = offers_stats(survivor);
  EXPECT_EQ(s2["updates_sent"], s1["updates_sent"]) << s1.dump() << "\n" << s2.dump();
  second.hub.Terminate(10s);
}

// Segments written through the API are shared too: a segment defined through one instance is
// evaluated by every instance (the same members), an offer for it may be posted through the
// other, and a deletion through either removes it from both.
TEST_F(PostgresHub, ASegmentDefinedThroughOneInstanceIsEvaluatedByEvery) {
  fleet_.StartBroker();
  fleet_.InitHub(10, {"--database", url_});
  const std::string key = fleet_.AddSource("webshop");
  Instance second;
  ASSERT_NO_FATAL_FAILURE(StartTwoInstances(&second));
  HttpClient h1(fleet_.hub_port(), 10s), h2(second.port, 10s);
  const std::string token = fleet_.hub_token();
  // Two customers, one with an order.
  for (const auto& [email, order] : {std::pair{"ada.seg@inbox-mail.net", true},
                                     std::pair{"bo.seg@inbox-mail.net", false}}) {
    nlohmann::json ev = {{"type", "identify"},
                         {"occurred_at", "2026-11-20T10:00:00Z"},
                         {"customer", {{"email", email}}}};
    ASSERT_EQ(h1.Post("/v1/collect", nlohmann::json::array({ev}).dump(), key).status, 202);
    if (order) {
      ev = {{"type", "order_completed"},
            {"occurred_at", "2026-11-20T10:05:00Z"},
            {"customer", {{"email", email}}},
            {"order", {{"order_id", "W-S1"}, {"currency", "EUR"},
                       {"items", {{{"sku", "S1"}, {"quantity", 1}, {"unit_price", "9.99"}}}}}}};
      ASSERT_EQ(h2.Post("/v1/collect", nlohmann::json::array({ev}).dump(), key).status, 202);
    }
  }
  auto segment = [&](HttpClient& h) {
    const HttpResponse r = h.Get("/v1/segments/buyers", token);
    return r.status == 200 ? r.Json() : nlohmann::json();
  };
  auto members = [&](HttpClient& h) {
    const HttpResponse r = h.Get("/v1/segments/buyers/members", token);
    std::vector<int64_t> ids;
    if (r.status != 200) return ids;
    const nlohmann::json page = r.Json();  // not a temporary under the loop (C++20)
    for (const auto& m : page["members"]) ids.push_back(m["profile_id"].get<int64_t>());
    return ids;
  };
  HttpResponse put = h1.Post(
      "/v1/segments",
      nlohmann::json{{"id", "buyers"}, {"rule", "orders >= 1"}, {"name", "Buyers"}}.dump(), token);
  ASSERT_EQ(put.status, 201) << put.body;
  // Both evaluate it: one member each, the same profile (both project the same log).
  std::vector<int64_t> m1, m2;
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        m1 = members(h1);
        m2 = members(h2);
        return m1.size() == 1 && m2 == m1;
      },
      30s))
      << ::testing::PrintToString(m1) << " / " << ::testing::PrintToString(m2) << "\n"
      << segment(h1).dump() << "\n"
      << h1.Get("/v1/profiles?identifier=email:ada.seg@inbox-mail.net", token).body << "\n"
      << second.hub.LogTail();
  nlohmann::json s1 = segment(h1), s2 = segment(h2);
  for (const char* f : {"rule", "name", "created_at", "members"}) {
    EXPECT_EQ(s2[f], s1[f]) << f << ": " << s1.dump() << "\n" << s2.dump();
  }
  // An offer for it through the other instance (which knows the segment).
  const int64_t now = Clock::Real()->NowMillis();
  const nlohmann::json offer = {{"id", "thanks"},
                                {"title", "Thank you"},
                                {"text", "10 % off"},
                                {"segment", "buyers"},
                                {"valid_from", FormatRfc3339(now - 86'400'000)},
                                {"valid_until", FormatRfc3339(now + 86'400'000)}};
  EXPECT_EQ(h2.Post("/v1/offers", offer.dump(), token).status, 201);
  // Replaced through the second: the first follows (no members: nobody has 5 orders).
  ASSERT_EQ(h2.Post("/v1/segments",
                    nlohmann::json{{"id", "buyers"}, {"rule", "orders >= 5"}, {"name", "Buyers"}}
                        .dump(),
                    token)
                .status,
            200);
  EXPECT_TRUE(cjd::testing::WaitUntil(
      [&] { return segment(h1)["rule"] == "orders >= 5" && members(h1).empty(); }, 30s))
      << segment(h1).dump() << second.hub.LogTail();
  // Deleted through the first: gone from both.
  ASSERT_EQ(h1.Delete("/v1/offers/thanks", token).status, 200);
  HttpResponse del = h1.Delete("/v1/segments/buyers", token);
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_TRUE(cjd::testing::WaitUntil([&] { return h2.Get("/v1/segments/buyers", token).status == 404; },
                                      30s))
      << second.hub.LogTail();
  EXPECT_EQ(Sql("SELECT deleted FROM segments_definitions WHERE id = 'buyers'"), "t");
  second.hub.Terminate(10s);
}

// The database goes away under a running hub: every session of the hub's is terminated (as an
// operator's pg_terminate_backend or a pooler's restart does), then the server is stopped for a
// few seconds and started again (a restart, a failover). The hub keeps running: frames that could
// not be committed are not acknowledged and come again, a web shop's events posted while the
// database is down are refused (503, nothing half-stored), and afterwards every accepted event is
// in PostgreSQL exactly once, counted and projected.
TEST_F(PostgresHub, TheHubRidesOutLostSessionsAndADatabaseRestart) {
  fleet_.StartBroker();
  fleet_.InitHub(10, {"--database", url_});
  const std::string key = fleet_.AddSource("webshop");
  FleetAgent& till = fleet_.AddDevice("pos-pg-r", "store-1");
  fleet_.StartHub();
  ASSERT_TRUE(fleet_.StartAgent(till));
  HttpClient agent(till.port, 10s);
  HttpClient hub(fleet_.hub_port(), 10s);
  std::set<std::string> accepted;
  auto sell = [&](int batch) {
    nlohmann::json body = nlohmann::json::array();
    for (int i = 0; i < 10; ++i) {
      const std::string id = "r-" + std::to_string(batch) + "-" + std::to_string(i);
      body.push_back(i % 2 == 0 ? MakeLoyaltyScan(till.store, id) : MakeTransaction(till.store, id));
    }
    PostResult r = PostEvents(agent, till.token, body);
    ASSERT_EQ(r.status, 202) << r.body;
    accepted.insert(r.event_ids.begin(), r.event_ids.end());
  };
  auto web = [&](const std::string& id) {
    nlohmann::json body = nlohmann::json::array();
    body.push_back({{"type", "page_view"},
                    {"event_id", id},
                    {"occurred_at", "2026-11-23T10:15:00+01:00"},
                    {"customer", {{"anonymous_id", "anon-r-1"}}},
                    {"properties", {{"url", "https://shop.test/" + id}}}});
    return hub.Post("/v1/collect", body.dump(), key);
  };
  auto hub_sessions = [&] {
    return std::stoi(Sql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'hub' AND "
                         "pid <> pg_backend_pid()"));
  };
  for (int b = 0; b < 5; ++b) sell(b);
  ASSERT_TRUE(fleet_.WaitBacklogDrained(till)) << fleet_.Diagnostics();
  ASSERT_EQ(web("w-1").status, 202);

  // 1. Every session of the hub's is ended, twice, while the till keeps selling.
  for (int round = 0; round < 2; ++round) {
    // The hub opens sessions again when it next needs one (a frame, a projection pass), which
    // after the first round may be a moment after the till's sales were taken.
    ASSERT_TRUE(cjd::testing::WaitUntil([&] { return hub_sessions() > 0; }, 20s))
        << "round " << round << ": the hub has no session open" << fleet_.Diagnostics();
    Sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'hub' AND "
        "pid <> pg_backend_pid()");
    for (int b = 0; b < 5; ++b) sell(10 * (round + 1) + b);
  }
  ASSERT_TRUE(fleet_.WaitBacklogDrained(till)) << fleet_.Diagnostics();
  HttpResponse w = web("w-2");
  if (w.status != 202) w = web("w-2");  // the request that found its session gone: once more
  ASSERT_EQ(w.status, 202) << w.body;

  // 2. The server stops; the till sells on (its agent keeps the events); the web shop is told
  // to come back later.
  pg_->Stop();
  for (int b = 0; b < 5; ++b) sell(40 + b);
  HttpResponse down = web("w-3");
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_TRUE(nlohmann::json::parse(down.body, nullptr, false).is_object()) << down.body;
  EXPECT_TRUE(fleet_.hub_process().Running()) << fleet_.Diagnostics();
  // Prometheus still gets an answer, saying the store is down (not a failed scrape).
  HttpResponse scrape = hub.Get("/metrics");
  EXPECT_EQ(scrape.status, 200) << scrape.body;
  EXPECT_NE(scrape.body.find("\ncjd_hub_store_up 0\n"), std::string::npos) << scrape.body;
  EXPECT_NE(scrape.body.find("\ncjd_hub_mqtt_connected 1\n"), std::string::npos);
  std::this_thread::sleep_for(3s);
  EXPECT_GT(fleet_.AgentStatus(till).value("backlog", int64_t{0}), 0)
      << "frames acknowledged while the database was down: " << fleet_.AgentStatus(till).dump();
  pg_->Resume();
  for (int b = 0; b < 5; ++b) sell(50 + b);
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return web("w-3").status == 202; }, 30s))
      << fleet_.Diagnostics();

  // Every accepted event exactly once, counted, and projected.
  ASSERT_TRUE(fleet_.WaitBacklogDrained(till, 60s)) << fleet_.Diagnostics();
  EXPECT_TRUE(fleet_.hub_process().Running()) << fleet_.Diagnostics();
  EXPECT_EQ(Lines(Sql("SELECT event_id FROM events WHERE source = 'pos-pg-r'")), accepted);
  EXPECT_EQ(Sql("SELECT count(*) FROM events WHERE source = 'pos-pg-r'"),
            std::to_string(accepted.size()));
  EXPECT_EQ(Lines(Sql("SELECT event_id FROM events WHERE source = 'webshop'")),
            (std::set<std::string>{"w-1", "w-2", "w-3"}));
  const int64_t total = static_cast<int64_t>(accepted.size()) + 3;
  ASSERT_TRUE(fleet_.WaitHubEventsTotal(total)) << fleet_.Diagnostics();
  const int64_t head = std::stoll(Sql("SELECT max(id) FROM event_keys"));
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        const nlohmann::json s = fleet_.HubStats();
        return !s.is_null() && s["projection"]["cursor"].get<int64_t>() >= head;
      },
      30s))
      << fleet_.HubStats().dump() << fleet_.Diagnostics();
  HttpResponse p = hub.Get("/v1/profiles?identifier=loyalty_id:L1", fleet_.hub_token());
  EXPECT_EQ(p.status, 200) << p.body;
  scrape = hub.Get("/metrics");
  EXPECT_NE(scrape.body.find("\ncjd_hub_store_up 1\n"), std::string::npos) << scrape.body;
  const size_t at = scrape.body.find("\ncjd_hub_postgres_reconnects_total ");
  ASSERT_NE(at, std::string::npos) << scrape.body;
  EXPECT_GE(std::stod(scrape.body.substr(at + 35)), 3) << "two rounds of terminations, a restart";
}

TEST_F(PostgresHub, ABadOrUnreachableDatabaseIsRefusedNamingIt) {
  std::string out;
  const std::string dir = (fleet_.dir().path() / "hub").string();
  EXPECT_NE(Fleet::Cjdctl({"init-hub", "--dir", dir, "--database", "mysql://x@127.0.0.1/db"}, &out),
            0);
  EXPECT_NE(out.find("--database"), std::string::npos) << out;
  EXPECT_NE(out.find("postgresql://"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir + "/hub.toml"));

  EXPECT_NE(Fleet::Cjdctl({"init-hub", "--dir", dir, "--database",
                           "postgresql://cjd:hunter2@127.0.0.1:1/none?connect_timeout=3"},
                          &out),
            0);
  EXPECT_NE(out.find("--database"), std::string::npos) << out;
  EXPECT_NE(out.find("cannot connect"), std::string::npos) << out;
  EXPECT_EQ(out.find("hunter2"), std::string::npos) << "no password in messages: " << out;
  EXPECT_FALSE(std::filesystem::exists(dir + "/hub.toml"));

  // A database that exists: init-hub makes the store's tables there.
  EXPECT_EQ(Fleet::Cjdctl({"init-hub", "--dir", dir, "--database", url_}, &out), 0) << out;
  EXPECT_EQ(Sql("SELECT version FROM schema_versions WHERE module = 'hub_store'"), "1");
}

}  // namespace
}  // namespace cjd::itest
