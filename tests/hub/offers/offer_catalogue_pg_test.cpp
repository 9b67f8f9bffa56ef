// The shared offer catalogue (issue 17: several hub instances on one PostgreSQL) on a real
// PostgreSQL (tests/support/postgres.h; skipped with a reason without one): what one instance
// writes the other reads at its next Refresh; a change made on a stale copy is made again on top
// of the other's, never over it; an instance's offers.db from before is copied in once.
#include "hub/offers/offer_catalogue.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "shared/storage/sqlite.h"
#include "tests/support/postgres.h"
#include "tests/support/temp_dir.h"

namespace cjd::hub::offers {
namespace {

using cjd::testing::Postgres;

OfferSpec Spec(const std::string& id, int priority, const std::string& title = "") {
  const nlohmann::json body = {{"id", id},
                               {"title", title.empty() ? "Title " + id : title},
                               {"text", "t"},
                               {"segment", "all"},
                               {"valid_from", "2026-12-01T00:00:00Z"},
                               {"valid_until", "2027-01-01T00:00:00Z"},
                               {"priority", priority}};
  auto spec = ParseOfferSpec(body);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  return spec.ok() ? *spec : OfferSpec{};
}

// offers.db's table as the planner's migration makes it (hub/offers/offer_planner.cpp).
std::unique_ptr<sqlite::Database> LocalDb(const std::string& path) {
  auto db = sqlite::Database::Open(path, {});
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_TRUE((*db)->Exec("CREATE TABLE IF NOT EXISTS offers (id TEXT PRIMARY KEY, spec TEXT NOT "
                          "NULL, version INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, "
                          "created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL) WITHOUT ROWID")
                  .ok());
  return std::move(*db);
}

class SharedOfferCatalogueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Postgres::Available()) GTEST_SKIP() << Postgres::UnavailableReason();
    pg_.emplace(Postgres::Start());
    db_ = "offers_" + std::to_string(::getpid());
    url_ = pg_->CreateDatabase(db_);
    local1_ = LocalDb((dir_.path() / "one.db").string());
    local2_ = LocalDb((dir_.path() / "two.db").string());
  }
  std::unique_ptr<OfferCatalogue> OpenShared(sqlite::Database& local) {
    auto c = OfferCatalogue::OpenShared(url_, local);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }
  static bool Refresh(OfferCatalogue& c) {
    auto moved = c.Refresh();
    EXPECT_TRUE(moved.ok()) << moved.status().ToString();
    return moved.ok() && *moved;
  }

  cjd::testing::TempDir dir_;
  std::optional<Postgres> pg_;
  std::string db_, url_;
  std::unique_ptr<sqlite::Database> local1_, local2_;
};

TEST_F(SharedOfferCatalogueTest, WhatOneInstanceWritesTheOtherReadsAtItsNextRefresh) {
  auto one = OpenShared(*local1_);
  auto two = OpenShared(*local2_);
  ASSERT_TRUE(one && two);
  auto put = one->Put(Spec("welcome", 1), 1000);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_TRUE(put->created);
  EXPECT_TRUE(Refresh(*two));
  EXPECT_TRUE(two->TakeMoved());
  EXPECT_FALSE(two->TakeMoved()) << "taken once";
  ASSERT_NE(two->Find("welcome"), nullptr);
  EXPECT_EQ(two->Find("welcome")->spec, Spec("welcome", 1));
  EXPECT_EQ(two->Find("welcome")->version, 1);
  EXPECT_FALSE(Refresh(*two)) << "nothing new";
  // Deleted through the second: the first reads it deleted, versions counting on.
  auto del = two->Delete("welcome", 2000);
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_TRUE(Refresh(*one));
  ASSERT_NE(one->Find("welcome"), nullptr);
  EXPECT_TRUE(one->Find("welcome")->deleted);
  EXPECT_EQ(one->Find("welcome")->version, 2);
  EXPECT_EQ(one->live_count(), 0);
  // Nothing of it in the instances' offers.db: the catalogue lives in the database.
  auto count = local1_->Prepare("SELECT count(*) FROM offers");
  ASSERT_TRUE(count.ok());
  ASSERT_TRUE(*count->Step());
  EXPECT_EQ(count->ColumnInt(0), 0);
}

TEST_F(SharedOfferCatalogueTest, AChangeOnAStaleCopyIsMadeOnTopOfTheOtherNotOverIt) {
  auto one = OpenShared(*local1_);
  auto two = OpenShared(*local2_);
  ASSERT_TRUE(one && two);
  ASSERT_TRUE(one->Put(Spec("coffee", 1), 1000).ok());
  ASSERT_TRUE(Refresh(*two));
  // Both hold version 1. The first changes it (version 2); the second, not refreshed, changes
  // it too: its write finds version 2, rereads, and lands as version 3 on top.
  ASSERT_TRUE(one->Put(Spec("coffee", 2, "From one"), 2000).ok());
  auto put = two->Put(Spec("coffee", 3, "From two"), 3000);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->row.version, 3);
  EXPECT_FALSE(put->created);
  EXPECT_EQ(put->row.created_ms, 1000) << "still the offer created at 1000";
  EXPECT_TRUE(Refresh(*one));
  EXPECT_EQ(one->Find("coffee")->version, 3);
  EXPECT_EQ(one->Find("coffee")->spec, Spec("coffee", 3, "From two"));
  // A delete on a stale copy of an offer the other deleted meanwhile: not found, nothing written.
  ASSERT_TRUE(one->Delete("coffee", 4000).ok());
  auto again = two->Delete("coffee", 5000);
  EXPECT_EQ(again.status().code(), Code::kNotFound) << again.status().ToString();
  EXPECT_EQ(pg_->Psql("SELECT version, deleted FROM offers_catalogue WHERE id = 'coffee'",
                      "offers_" + std::to_string(::getpid())),
            "4|t");
  // The same spec again is no change (nothing written, the version stays).
  ASSERT_TRUE(one->Put(Spec("tea", 1), 6000).ok());
  ASSERT_TRUE(Refresh(*two));
  auto same = two->Put(Spec("tea", 1), 7000);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->changed);
  EXPECT_EQ(same->row.version, 1);
}

TEST_F(SharedOfferCatalogueTest, AnInstancesOffersDbFromBeforeIsCopiedInOnceAndTheDatabaseWins) {
  {
    // Offers the first instance kept in its offers.db before they moved into the database.
    auto local = OfferCatalogue::Open(*local1_);
    ASSERT_TRUE(local.ok());
    ASSERT_TRUE((*local)->Put(Spec("old-one", 1), 100).ok());
    ASSERT_TRUE((*local)->Put(Spec("both", 1, "As the first had it"), 100).ok());
    auto local2 = OfferCatalogue::Open(*local2_);
    ASSERT_TRUE(local2.ok());
    ASSERT_TRUE((*local2)->Put(Spec("both", 1, "As the second had it"), 200).ok());
  }
  auto one = OpenShared(*local1_);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->live_count(), 2);
  auto two = OpenShared(*local2_);
  ASSERT_TRUE(two);
  // The second's "both" differs: the database's (the first's) stays.
  EXPECT_EQ(two->live_count(), 2);
  EXPECT_EQ(two->Find("both")->spec, Spec("both", 1, "As the first had it"));
  // Opened again: nothing copied twice, nothing changed.
  auto again = OpenShared(*local1_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->List(true).size(), 2u);
  EXPECT_EQ(again->Find("old-one")->version, 1);
}

TEST_F(SharedOfferCatalogueTest, AnUnreachableDatabaseIsAnErrorNotAnEmptyCatalogue) {
  auto c = OfferCatalogue::OpenShared("postgresql://cjd@127.0.0.1:1/nowhere", *local1_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kUnavailable) << c.status().ToString();
}

// One offer written by an instance of a newer version (a spec this one cannot parse) does not
// take the catalogue with it: the others are read, that one's earlier copy is kept, or it is left
// out when this instance had none.
TEST_F(SharedOfferCatalogueTest, AnOfferThisVersionCannotReadLeavesTheOthersReadable) {
  auto one = OpenShared(*local1_);
  ASSERT_TRUE(one);
  ASSERT_TRUE(one->Put(Spec("o-a", 1), 1000).ok());
  ASSERT_TRUE(one->Put(Spec("o-b", 2), 1000).ok());
  pg_->Psql("UPDATE offers_catalogue SET spec = '{\"id\":\"o-b\",\"from_the_future\":1}', "
            "version = version + 1 WHERE id = 'o-b'",
            db_);
  pg_->Psql("INSERT INTO offers_catalogue (id, spec, version, deleted, created_ms, updated_ms) "
            "VALUES ('o-new', '{\"id\":\"o-new\",\"from_the_future\":1}', 1, false, 2000, 2000)",
            db_);
  auto moved = one->Refresh();
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_FALSE(*moved) << "nothing this instance can read changed";
  std::vector<std::string> ids;
  for (const OfferRow& r : one->List(/*include_deleted=*/false)) ids.push_back(r.spec.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"o-a", "o-b"}));
  ASSERT_NE(one->Find("o-b"), nullptr);
  EXPECT_EQ(one->Find("o-b")->spec.priority, 2) << "the earlier copy";
  // Then deleted by that newer instance: the earlier copy is deleted here too, not kept live
  // (found in review).
  pg_->Psql("UPDATE offers_catalogue SET deleted = true, version = version + 1, updated_ms = 3000 "
            "WHERE id = 'o-b'",
            db_);
  moved = one->Refresh();
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_TRUE(*moved);
  ids.clear();
  for (const OfferRow& r : one->List(/*include_deleted=*/false)) ids.push_back(r.spec.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"o-a"}));
  ASSERT_NE(one->Find("o-b"), nullptr);
  EXPECT_TRUE(one->Find("o-b")->deleted);
  // A fresh instance (no earlier copy) reads the rest.
  auto two = OpenShared(*local2_);
  ASSERT_TRUE(two);
  EXPECT_NE(two->Find("o-a"), nullptr);
  EXPECT_EQ(two->Find("o-b"), nullptr);
  EXPECT_EQ(two->Find("o-new"), nullptr);
}

}  // namespace
}  // namespace cjd::hub::offers
