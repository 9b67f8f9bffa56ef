// pg::Lease on a real PostgreSQL (tests/support/postgres.h; skipped with a reason without one):
// one holder at a time per name, taken over when the holder's session ends (its process gone,
// a terminated backend), never believed held by a session that lost it.
#include "shared/storage/pg_lease.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "tests/support/postgres.h"

namespace cjd::pg {
namespace {

using cjd::testing::Postgres;

class PgLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Postgres::Available()) GTEST_SKIP() << Postgres::UnavailableReason();
    pg_.emplace(Postgres::Start());
    db_ = "lease_" + std::to_string(::getpid());
    url_ = pg_->CreateDatabase(db_);
  }
  std::unique_ptr<Lease> Open(const std::string& name) {
    auto l = Lease::Open(url_, name);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? std::move(*l) : nullptr;
  }
  bool Holds(Lease& l) {
    Result<bool> h = l.Hold();
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() && *h;
  }
  // Advisory locks held in the test's database, by every session.
  int Locks() {
    return std::stoi(pg_->Psql("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON "
                               "a.pid = l.pid WHERE l.locktype = 'advisory' AND a.datname = '" +
                               db_ + "'"));
  }

  std::optional<Postgres> pg_;
  std::string db_, url_;
};

TEST_F(PgLeaseTest, OneHolderPerNameAndAReleaseOrAnEndedHolderLetsTheOtherTakeIt) {
  auto a = Open("webhooks");
  auto b = Open("webhooks");
  auto other = Open("offer-pushes");
  ASSERT_TRUE(a && b && other);
  EXPECT_TRUE(Holds(*a));
  EXPECT_FALSE(Holds(*b));
  EXPECT_TRUE(Holds(*other)) << "another name is another lease";
  // Kept, and not taken twice: holding it again and again leaves one lock.
  EXPECT_EQ(a->takes(), 1u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Holds(*a));
  EXPECT_EQ(Locks(), 2);
  EXPECT_EQ(a->takes(), 1u) << "kept, not taken again";
  EXPECT_EQ(b->takes(), 0u);
  EXPECT_FALSE(Holds(*b));

  // Given up: the other takes it at its next try; the first no longer holds it.
  ASSERT_TRUE(a->Release().ok());
  EXPECT_FALSE(a->held());
  EXPECT_TRUE(Holds(*b));
  EXPECT_FALSE(Holds(*a));

  // The holder goes away (its process ends: the session closes): the other takes it at once.
  b.reset();
  EXPECT_TRUE(Holds(*a));
  EXPECT_EQ(Locks(), 2);
}

TEST_F(PgLeaseTest, AHolderWhoseSessionWasEndedKnowsItAtItsNextHold) {
  auto a = Open("planner");
  auto b = Open("planner");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(Holds(*a));
  // The server ends every session but psql's own (an operator, a pooler, a failover).
  ASSERT_EQ(std::stoi(pg_->Psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE datname = '" + db_ + "' AND pid <> pg_backend_pid()")),
            2);
  // The lock went with a's session. b, reconnecting, takes it; a must not still believe it holds
  // it: its Hold() fails (the statement that finds the session gone) or says false.
  Result<bool> b_first = b->Hold();
  const bool b_holds = (b_first.ok() && *b_first) || Holds(*b);
  ASSERT_TRUE(b_holds);
  Result<bool> a_now = a->Hold();
  EXPECT_FALSE(a_now.ok() && *a_now) << "two holders";
  EXPECT_FALSE(a->held());
  EXPECT_FALSE(Holds(*a)) << "reconnected, but b holds it";
  // b gives it up: a, on its new session, takes it.
  ASSERT_TRUE(b->Release().ok());
  EXPECT_TRUE(Holds(*a));
  EXPECT_EQ(a->takes(), 2u);
}

// The case a holder cannot see from Hold() alone: its session ended and, before its next check,
// nobody else took the lease, so that check (on a new session) takes it again and says true as
// before. Another holder may have done the work in between: takes() moved.
TEST_F(PgLeaseTest, ALeaseLostAndTakenAgainBetweenTwoChecksCountsAsANewTake) {
  auto a = Open("offers.device_sync");
  ASSERT_TRUE(a);
  ASSERT_TRUE(Holds(*a));
  ASSERT_EQ(a->takes(), 1u);
  ASSERT_EQ(std::stoi(pg_->Psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE datname = '" + db_ + "' AND pid <> pg_backend_pid()")),
            1);
  Result<bool> first = a->Hold();  // may fail on the dead session, or reconnect and take it
  const bool holds = (first.ok() && *first) || Holds(*a);
  ASSERT_TRUE(holds);
  EXPECT_EQ(a->takes(), 2u) << "held before and after, but not throughout";
  EXPECT_TRUE(Holds(*a));
  EXPECT_EQ(a->takes(), 2u);
}

// Whatever the name's hash (negative ones included), holding it again keeps one lock, and one
// Release gives it up.
TEST_F(PgLeaseTest, EveryNameIsRecognisedAsHeldAndReleasedByOneRelease) {
  for (int i = 0; i < 24; ++i) {
    const std::string name = "job-" + std::to_string(i);
    auto a = Open(name);
    auto b = Open(name);
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(Holds(*a)) << name;
    ASSERT_TRUE(Holds(*a)) << name;
    ASSERT_TRUE(Holds(*a)) << name;
    ASSERT_TRUE(a->Release().ok());
    EXPECT_TRUE(Holds(*b)) << name << ": still held after one Release";
  }
  const std::string negatives = pg_->Psql(
      "SELECT count(*) FROM generate_series(0, 23) i "
      "WHERE hashtextextended('cjd.lease.job-' || i, 0) < 0");
  EXPECT_GT(std::stoi(negatives), 0) << "no name with a negative hash was tried";
}

TEST_F(PgLeaseTest, ALeaseNeedsANameAndAReachableDatabase) {
  auto unnamed = Lease::Open(url_, "");
  EXPECT_EQ(unnamed.status().code(), Code::kInvalid);
  auto nowhere = Lease::Open("postgresql://cjd@127.0.0.1:1/none?connect_timeout=2", "x");
  EXPECT_FALSE(nowhere.ok());
}

}  // namespace
}  // namespace cjd::pg
