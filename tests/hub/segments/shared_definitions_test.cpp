// The segments' shared definitions (issue 17: several hub instances on one PostgreSQL) on a real
// PostgreSQL (tests/support/postgres.h; skipped with a reason without one): writes from two
// connections land one after the other, each noticed by the other's next ChangedSince; a
// re-creation after a delete starts a new created_ms; a copy from before never overwrites.
#include "hub/segments/shared_definitions.h"

#include <gtest/gtest.h>
#include <unistd.h>

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
  // The definitions another connection sees now (empty when nothing changed for it).
  static std::vector<SharedDefinition> Seen(SharedSegmentDefinitions& s) {
    auto changed = s.ChangedSince();
    EXPECT_TRUE(changed.ok()) << changed.status().ToString();
    return changed.ok() && *changed ? **changed : std::vector<SharedDefinition>{};
  }

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
  EXPECT_EQ(put->version, 1);
  EXPECT_EQ(put->created_ms, 1000);
  auto seen = Seen(*two);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].rule, "orders >= 3");
  EXPECT_EQ(seen[0].name, "Name vip");
  EXPECT_FALSE(seen[0].deleted);
  EXPECT_TRUE(Seen(*two).empty()) << "seen once";
  // Replaced through the second: the first sees the new rule, created_ms kept.
  auto replaced = two->Put(Def("vip", "orders >= 5"), 2000);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->version, 2);
  EXPECT_EQ(replaced->created_ms, 1000);
  EXPECT_EQ(replaced->updated_ms, 2000);
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
  EXPECT_FALSE(back->deleted);
  EXPECT_EQ(back->created_ms, 4000);
  EXPECT_EQ(back->version, 4);
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
