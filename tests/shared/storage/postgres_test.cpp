// pg::Connection when the server goes away: a terminated backend, a restart, a server that is
// down for a while. The connection is made again before the next statement, never in the middle
// of a transaction (whose remaining statements must not run on their own), and prepared
// statements are prepared again on the new session. On a real PostgreSQL server
// (tests/support/postgres.h); skipped with a reason without one.
#include <gtest/gtest.h>

#include <string>
#include <unistd.h>

#include "shared/storage/postgres.h"
#include "tests/support/postgres.h"

namespace cjd::pg {
namespace {

using cjd::testing::Postgres;

class PostgresConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Postgres::Available()) GTEST_SKIP() << Postgres::UnavailableReason();
    pg_.emplace(Postgres::Start());
    url_ = pg_->CreateDatabase("conn_" + std::to_string(::getpid()));
    auto db = Connection::Open(url_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Exec("CREATE TABLE t (id bigint PRIMARY KEY, v text)").ok());
  }
  // Ends every other session on the test's database, as an operator's pg_terminate_backend or a
  // failover does; returns how many.
  int TerminateOthers() {
    return std::stoi(pg_->Psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE datname = '" + DbName() + "' AND pid <> pg_backend_pid()"));
  }
  std::string DbName() const { return url_.substr(url_.rfind('/') + 1); }
  int64_t Rows() { return std::stoll(pg_->Psql("SELECT count(*) FROM t", DbName())); }
  Status Insert(int64_t id) {
    return db_->Run("INSERT INTO t (id, v) VALUES ($1, $2)", {Int(id), Text("x")}).status();
  }

  std::optional<Postgres> pg_;
  std::string url_;
  std::unique_ptr<Connection> db_;
};

TEST_F(PostgresConnectionTest, ATerminatedSessionIsMadeAgainAndItsPreparedStatementsToo) {
  // Twice: the second run prepares the statement on the session that is about to go.
  ASSERT_TRUE(Insert(1).ok());
  ASSERT_TRUE(Insert(2).ok());
  ASSERT_EQ(TerminateOthers(), 1);

  // The statement that finds the session gone fails, and says so; the next one reconnects.
  Status lost = Insert(3);
  EXPECT_EQ(lost.code(), Code::kUnavailable) << lost.ToString();
  EXPECT_NE(lost.message().find("connection"), std::string::npos) << lost.ToString();
  ASSERT_TRUE(Insert(3).ok());  // prepared again on the new session (the old name is gone)
  ASSERT_TRUE(Insert(4).ok());
  EXPECT_EQ(db_->reconnects(), 1);
  EXPECT_EQ(Rows(), 4);

  // A transaction started after a loss reconnects at BEGIN, and nothing fails.
  ASSERT_EQ(TerminateOthers(), 1);
  {
    Transaction tx(*db_);
    ASSERT_TRUE(tx.status().ok()) << tx.status().ToString();
    ASSERT_TRUE(Insert(5).ok());
    ASSERT_TRUE(tx.Commit().ok());
  }
  EXPECT_EQ(db_->reconnects(), 2);
  EXPECT_EQ(Rows(), 5);

  // A query outside a transaction only reads: it runs once more on a new session.
  ASSERT_EQ(TerminateOthers(), 1);
  auto n = db_->QueryInt("SELECT count(*) FROM t WHERE id > $1", {Int(0)});
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 5);
  EXPECT_EQ(db_->reconnects(), 3);
}

TEST_F(PostgresConnectionTest, ALossInsideATransactionNeverRunsItsRestOnItsOwn) {
  {
    Transaction tx(*db_);
    ASSERT_TRUE(tx.status().ok());
    ASSERT_TRUE(Insert(1).ok());
    ASSERT_EQ(TerminateOthers(), 1);
    // The rest of the transaction fails, each statement, instead of running in autocommit on a
    // new session (which would commit row 2 without row 1).
    EXPECT_EQ(Insert(2).code(), Code::kUnavailable);
    EXPECT_EQ(Insert(3).code(), Code::kUnavailable);
    auto n = db_->QueryInt("SELECT count(*) FROM t");
    EXPECT_EQ(n.status().code(), Code::kUnavailable);
    Status commit = tx.Commit();
    EXPECT_EQ(commit.code(), Code::kUnavailable) << commit.ToString();
  }
  EXPECT_EQ(Rows(), 0);
  EXPECT_EQ(db_->reconnects(), 0);
  // The transaction is over: the next statement reconnects and runs.
  ASSERT_TRUE(Insert(2).ok());
  EXPECT_EQ(db_->reconnects(), 1);
  EXPECT_EQ(Rows(), 1);

  // Rolled back by its destructor after the loss: the same.
  {
    Transaction tx(*db_);
    ASSERT_TRUE(Insert(10).ok());
    ASSERT_EQ(TerminateOthers(), 1);
    EXPECT_FALSE(Insert(11).ok());
  }
  ASSERT_TRUE(Insert(12).ok());
  EXPECT_EQ(Rows(), 2);  // 2 and 12
}

TEST_F(PostgresConnectionTest, AServerThatRestartsOrIsDownForAWhileIsReachedAgain) {
  ASSERT_TRUE(Insert(1).ok());
  pg_->Stop();
  // Down: statements fail naming the server, each trying to reconnect (refused at once here).
  for (int i = 0; i < 3; ++i) {
    Status st = Insert(100 + i);
    EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
  }
  Status down = Insert(200);
  EXPECT_NE(down.message().find("127.0.0.1"), std::string::npos) << down.ToString();
  pg_->Resume();
  ASSERT_TRUE(Insert(2).ok());
  EXPECT_EQ(Rows(), 2);

  // A crash of the server (SIGKILL, recovery at start) inside a transaction.
  {
    Transaction tx(*db_);
    ASSERT_TRUE(Insert(3).ok());
    pg_->Kill();
    EXPECT_FALSE(Insert(4).ok());
    EXPECT_FALSE(tx.Commit().ok());
  }
  pg_->Resume();
  ASSERT_TRUE(Insert(5).ok());
  EXPECT_EQ(Rows(), 3);  // 1, 2, 5
  EXPECT_GE(db_->reconnects(), 2);
}

}  // namespace
}  // namespace cjd::pg
