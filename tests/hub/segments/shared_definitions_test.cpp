// The segments' shared definitions (issue 17: several hub instances on one PostgreSQL) on a real
// PostgreSQL (tests/support/postgres.h; skipped with a reason without one): writes from two
// connections land one after the other, each noticed by the other's next ChangedSince; a
// re-creation after a delete starts a new created_ms; a copy from before never overwrites.
#include "hub/segments/shared_definitions.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <string>

#include "tests/support/postgres.h"

namespace cjd::hub::segments {
namespace {

using cjd::testing::Postgres;

class SharedDefinitionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Postgres::Available()) GTEST_SKIP() << Postgres::UnavailableReason();
    pg_.emplace(Postgres::Start());
    url_ = pg_->CreateDatabase("segments_" + std::to_string(::getpid()));
  }
  std::unique_ptr<SharedSegmentDefinitions> Open() {
    auto d = SharedSegmentDefinitions::Open(url_);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? std::move(*d) : nullptr;
  }
  static SharedDefinition Def(const std::string& id, const std::string& rule) {
    SharedDefinition d;
    d.id = id;
    d.name = "Name " + id;
    d.rule = rule;
    return d;
  }
  // The definitions a connection sees now, taken as applied (empty when nothing changed for it).
  std::vector<SharedDefinition> Seen(SharedSegmentDefinitions& s) {
    auto [it, _] = applied_.try_emplace(&s, -1);
    auto changed = s.ChangedSince(it->second);
    EXPECT_TRUE(changed.ok()) << changed.status().ToString();
    if (!changed.ok() || !*changed) return {};
    it->second = (*changed)->version_sum;
    return (*changed)->definitions;
  }

  std::map<const SharedSegmentDefinitions*, int64_t> applied_;  // each one's applied sum

  std::optional<Postgres> pg_;
  std::string url_;
};

TEST_F(SharedDefinitionsTest, EveryWriteOfOneInstanceIsSeenOnceByTheOther) {
  auto one = Open();
  auto two = Open();
  ASSERT_TRUE(one && two);
  EXPECT_TRUE(Seen(*two).empty()) << "an empty table is no change";
  auto put = one->Put(Def("vip", "orders >= 3"), 1000);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_TRUE(put->created);
  EXPECT_EQ(put->row.version, 1);
  EXPECT_EQ(put->row.created_ms, 1000);
  auto seen = Seen(*two);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].rule, "orders >= 3");
  EXPECT_EQ(seen[0].name, "Name vip");
  EXPECT_FALSE(seen[0].deleted);
  EXPECT_TRUE(Seen(*two).empty()) << "seen once";
  // Not applied (a reconciliation that failed half-way): the same rows again, every time.
  auto unapplied = two->ChangedSince(-1);
  ASSERT_TRUE(unapplied.ok() && *unapplied);
  EXPECT_EQ((*unapplied)->definitions.size(), 1u);
  auto again_unapplied = two->ChangedSince(-1);
  ASSERT_TRUE(again_unapplied.ok() && *again_unapplied);
  EXPECT_EQ((*again_unapplied)->version_sum, (*unapplied)->version_sum);
  // Replaced through the second: the first sees the new rule, created_ms kept.
  auto replaced = two->Put(Def("vip", "orders >= 5"), 2000);
  ASSERT_TRUE(replaced.ok());
  EXPECT_FALSE(replaced->created) << "it existed (through the other instance)";
  EXPECT_EQ(replaced->row.version, 2);
  EXPECT_EQ(replaced->row.created_ms, 1000);
  EXPECT_EQ(replaced->row.updated_ms, 2000);
  seen = Seen(*one);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].rule, "orders >= 5");
  // Deleted through the first; deleting again is "not there".
  auto del = one->Delete("vip", 3000);
  ASSERT_TRUE(del.ok());
  EXPECT_TRUE(*del);
  auto again = two->Delete("vip", 3500);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  seen = Seen(*two);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].deleted);
  // Re-created: live again, a new created_ms, versions counting on.
  auto back = two->Put(Def("vip", "orders >= 1"), 4000);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->created) << "re-created after the delete";
  EXPECT_FALSE(back->row.deleted);
  EXPECT_EQ(back->row.created_ms, 4000);
  EXPECT_EQ(back->row.version, 4);
}

TEST_F(SharedDefinitionsTest, ACopyFromBeforeNeverOverwritesWhatIsThere) {
  auto one = Open();
  ASSERT_TRUE(one);
  SharedDefinition old = Def("lapsed", "days_since_last_order > 90");
  old.created_ms = 50;
  old.updated_ms = 60;
  auto copied = one->PutIfAbsent(old);
  ASSERT_TRUE(copied.ok());
  EXPECT_TRUE(*copied);
  ASSERT_TRUE(one->Delete("lapsed", 100).ok());
  // Another instance's older copy of the same id: the deletion stays.
  auto again = one->PutIfAbsent(Def("lapsed", "orders = 0"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto seen = Seen(*one);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].deleted);
  EXPECT_EQ(seen[0].rule, "days_since_last_order > 90");
  EXPECT_EQ(seen[0].created_ms, 50);
}

}  // namespace
}  // namespace cjd::hub::segments
