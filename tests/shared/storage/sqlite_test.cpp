#include "shared/storage/sqlite.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace cjd::sqlite {
namespace {

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cjd-sqlite-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string DbPath() const { return (dir_ / "test.db").string(); }

  std::unique_ptr<Database> OpenOrDie(const OpenOptions& options = {}) {
    auto db = Database::Open(DbPath(), options);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(*db) : nullptr;
  }

  std::filesystem::path dir_;
};

std::string QueryText(Database& db, std::string_view sql) {
  auto stmt = db.Prepare(sql);
  EXPECT_TRUE(stmt.ok()) << stmt.status().ToString();
  if (!stmt.ok()) return {};
  auto row = stmt->Step();
  EXPECT_TRUE(row.ok() && *row);
  return stmt->ColumnText(0);
}

const std::vector<Migration> kMigrations = {
    {1, "CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"},
    {2, "INSERT INTO item(name) VALUES ('seed');"},
};

TEST_F(SqliteTest, OpenSetsWalSynchronousAndForeignKeys) {
  auto db = OpenOrDie();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(QueryText(*db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(*db->QueryInt("PRAGMA synchronous"), 2);  // FULL
  EXPECT_EQ(*db->QueryInt("PRAGMA foreign_keys"), 1);
  EXPECT_EQ(*db->QueryInt("PRAGMA busy_timeout"), 5000);
}

TEST_F(SqliteTest, OpenHonoursNormalSyncAndRollbackJournal) {
  OpenOptions options;
  options.wal = false;
  options.synchronous_full = false;
  options.busy_timeout_ms = 1234;
  auto db = OpenOrDie(options);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(QueryText(*db, "PRAGMA journal_mode"), "delete");
  EXPECT_EQ(*db->QueryInt("PRAGMA synchronous"), 1);  // NORMAL
  EXPECT_EQ(*db->QueryInt("PRAGMA busy_timeout"), 1234);
}

// Deleted personal data leaves no bytes in the file once the WAL is checkpointed (secure_delete,
// on by default); the same steps without it leave them, which is what the default is for.
TEST_F(SqliteTest, DeletedRowsLeaveNoBytesBehindBySecureDelete) {
  auto bytes_after_delete = [this](bool secure, const std::string& marker) {
    std::filesystem::remove(DbPath());
    OpenOptions o;
    o.secure_delete = secure;
    auto db = OpenOrDie(o);
    EXPECT_TRUE(db->Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)").ok());
    // Enough rows for whole pages to be freed, and one cell deleted from a page that stays.
    EXPECT_TRUE(db->Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                         "WHERE i < 2000) INSERT INTO t SELECT i, '" + marker +
                         "-' || i || printf('%.200c', 'x') FROM n")
                    .ok());
    EXPECT_TRUE(db->Exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
    EXPECT_TRUE(db->Exec("DELETE FROM t WHERE k <= 1999").ok());
    EXPECT_TRUE(db->Exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
    db.reset();
    std::ifstream in(DbPath(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string kept = bytes_after_delete(true, "person-secure");
  EXPECT_EQ(kept.find("person-secure-1x"), std::string::npos);
  EXPECT_EQ(kept.find("person-secure-1000x"), std::string::npos);
  EXPECT_NE(kept.find("person-secure-2000x"), std::string::npos);  // the row not deleted
  const std::string plain = bytes_after_delete(false, "person-plain");
  EXPECT_NE(plain.find("person-plain-1"), std::string::npos)
      << "without secure_delete SQLite left no deleted bytes: the test above proves nothing";
}

// TruncateWal empties the WAL, and says so; a reader holding a snapshot keeps it from doing so
// (false after its tries, not an error), and once the reader is gone it succeeds.
TEST_F(SqliteTest, TruncateWalEmptiesTheWalAndSaysWhenReadersKeepItBusy) {
  OpenOptions quick;
  quick.busy_timeout_ms = 100;  // each try waits this long for the reader
  auto db = OpenOrDie(quick);
  ASSERT_TRUE(db->Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)").ok());
  ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (1, 'a'), (2, 'b')").ok());
  const std::filesystem::path wal = DbPath() + "-wal";
  ASSERT_GT(std::filesystem::file_size(wal), 0u);
  auto emptied = db->TruncateWal();
  ASSERT_TRUE(emptied.ok()) << emptied.status().ToString();
  EXPECT_TRUE(*emptied);
  EXPECT_EQ(std::filesystem::file_size(wal), 0u);

  auto reader = OpenOrDie();
  ASSERT_TRUE(reader->Exec("BEGIN").ok());
  EXPECT_EQ(QueryText(*reader, "SELECT v FROM t WHERE k = 1"), "a");  // a snapshot is held
  ASSERT_TRUE(db->Exec("UPDATE t SET v = 'secret' WHERE k = 1").ok());
  emptied = db->TruncateWal(/*attempts=*/3, /*pause_ms=*/5);
  ASSERT_TRUE(emptied.ok()) << emptied.status().ToString();
  EXPECT_FALSE(*emptied);
  ASSERT_TRUE(reader->Exec("COMMIT").ok());
  emptied = db->TruncateWal(3, 5);
  ASSERT_TRUE(emptied.ok()) << emptied.status().ToString();
  EXPECT_TRUE(*emptied);
  EXPECT_EQ(std::filesystem::file_size(wal), 0u);
}

TEST_F(SqliteTest, OpenFailureIsIoAndNamesThePath) {
  const std::string path = (dir_ / "no-such-dir" / "x.db").string();
  auto db = Database::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Code::kIo);
  EXPECT_NE(db.status().message().find(path), std::string::npos) << db.status().message();
}

TEST_F(SqliteTest, OpenOfANonDatabaseFileFails) {
  {
    std::FILE* f = std::fopen(DbPath().c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("this is definitely not an sqlite database, just some text padding it out.....",
               f);
    std::fclose(f);
  }
  auto db = Database::Open(DbPath());
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Code::kIo);
  EXPECT_NE(db.status().message().find(DbPath()), std::string::npos);
}

TEST_F(SqliteTest, ReadOnlyDoesNotCreateAndRefusesWrites) {
  OpenOptions ro;
  ro.read_only = true;
  EXPECT_FALSE(Database::Open(DbPath(), ro).ok());  // no file yet: not created
  {
    auto db = OpenOrDie();
    ASSERT_TRUE(db->Migrate(kMigrations).ok());
  }
  auto db = Database::Open(DbPath(), ro);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(*(*db)->QueryInt("SELECT count(*) FROM item"), 1);
  Status st = (*db)->Exec("INSERT INTO item(name) VALUES ('x')");
  EXPECT_EQ(st.code(), Code::kIo) << st.ToString();
}

TEST_F(SqliteTest, MigrationsAreAppliedOnceAndAreIdempotent) {
  auto db = OpenOrDie();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), 0);
  ASSERT_TRUE(db->Migrate(kMigrations).ok());
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), 2);
  ASSERT_TRUE(db->Migrate(kMigrations).ok());
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM item"), 1);  // the seed row, once

  // Reopening and adding a migration applies only the new one.
  db.reset();
  db = OpenOrDie();
  std::vector<Migration> more = kMigrations;
  more.push_back({3, "INSERT INTO item(name) VALUES ('third');"});
  ASSERT_TRUE(db->Migrate(more).ok());
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), 3);
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM item"), 2);
}

TEST_F(SqliteTest, FailedMigrationLeavesNoTraceAndKeepsEarlierOnes) {
  auto db = OpenOrDie();
  ASSERT_NE(db, nullptr);
  std::vector<Migration> migrations = kMigrations;
  migrations.push_back({3, "CREATE TABLE half(a); SELECT no_such_column FROM item;"});
  Status st = db->Migrate(migrations);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("migration 3"), std::string::npos) << st.message();
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), 2);
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM sqlite_master WHERE name = 'half'"), 0);
}

TEST_F(SqliteTest, MigrateRejectsUnorderedVersions) {
  auto db = OpenOrDie();
  Status st = db->Migrate({{2, "SELECT 1;"}, {1, "SELECT 1;"}});
  EXPECT_EQ(st.code(), Code::kInvalid);
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), 0);
}

TEST_F(SqliteTest, MigrateRefusesADatabaseNewerThanTheProgram) {
  auto db = OpenOrDie();
  ASSERT_TRUE(db->Exec("PRAGMA user_version = 7").ok());
  Status st = db->Migrate(kMigrations);
  EXPECT_EQ(st.code(), Code::kConflict) << st.ToString();
}

TEST_F(SqliteTest, TransactionRollsBackWhenDestroyedWithoutCommit) {
  auto db = OpenOrDie();
  ASSERT_TRUE(db->Migrate(kMigrations).ok());
  {
    Transaction tx(*db);
    ASSERT_TRUE(tx.status().ok());
    ASSERT_TRUE(db->Exec("INSERT INTO item(name) VALUES ('lost')").ok());
    EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM item"), 2);
  }
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM item"), 1);
  {
    Transaction tx(*db);
    ASSERT_TRUE(db->Exec("INSERT INTO item(name) VALUES ('kept')").ok());
    ASSERT_TRUE(tx.Commit().ok());
    EXPECT_FALSE(tx.Commit().ok());  // only once
  }
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM item"), 2);
}

TEST_F(SqliteTest, SecondWriterTransactionIsBusyNotBlockedForever) {
  auto a = OpenOrDie();
  OpenOptions quick;
  quick.busy_timeout_ms = 10;
  auto b = OpenOrDie(quick);
  ASSERT_TRUE(a->Migrate(kMigrations).ok());
  Transaction held(*a);
  ASSERT_TRUE(held.status().ok());
  Transaction blocked(*b);
  EXPECT_EQ(blocked.status().code(), Code::kIo);
  EXPECT_FALSE(blocked.Commit().ok());
}

TEST_F(SqliteTest, ConstraintViolationIsConflict) {
  auto db = OpenOrDie();
  ASSERT_TRUE(db->Migrate(kMigrations).ok());
  auto insert = db->Prepare("INSERT INTO item(name) VALUES (?)");
  ASSERT_TRUE(insert.ok());
  Status st = insert->Bind(1, std::string_view("seed")).Run();
  EXPECT_EQ(st.code(), Code::kConflict) << st.ToString();
  EXPECT_NE(st.message().find("UNIQUE"), std::string::npos) << st.message();
  // The statement stays usable after the error.
  EXPECT_TRUE(insert->Bind(1, std::string_view("fresh")).Run().ok());
  EXPECT_EQ(db->Exec("INSERT INTO item(id, name) VALUES (1, 'dup-id')").code(), Code::kConflict);
}

TEST_F(SqliteTest, ForeignKeysAreEnforced) {
  auto db = OpenOrDie();
  ASSERT_TRUE(db->Exec("CREATE TABLE parent(id INTEGER PRIMARY KEY);"
                       "CREATE TABLE child(pid INTEGER REFERENCES parent(id));")
                  .ok());
  EXPECT_EQ(db->Exec("INSERT INTO child VALUES (42)").code(), Code::kConflict);
}

TEST_F(SqliteTest, DatabaseFullIsFull) {
  auto db = OpenOrDie();
  ASSERT_TRUE(db->Exec("CREATE TABLE blob(b BLOB)").ok());
  ASSERT_TRUE(db->Exec("PRAGMA max_page_count = 8").ok());
  auto insert = db->Prepare("INSERT INTO blob VALUES (?)");
  ASSERT_TRUE(insert.ok());
  const std::string big(64 * 1024, 'x');
  Status st = insert->BindBlob(1, big).Run();
  EXPECT_EQ(st.code(), Code::kFull) << st.ToString();
}

TEST_F(SqliteTest, BindAndColumnRoundTrip) {
  auto db = OpenOrDie();
  ASSERT_TRUE(db->Exec("CREATE TABLE t(i INTEGER, s TEXT, b BLOB, n TEXT)").ok());
  const std::string blob("a\0b\xff", 4);
  auto insert = db->Prepare("INSERT INTO t VALUES (?, ?, ?, ?)");
  ASSERT_TRUE(insert.ok());
  ASSERT_TRUE(insert->Bind(1, INT64_MIN)
                  .Bind(2, std::string_view("h\xc3\xa9llo"))
                  .BindBlob(3, blob)
                  .BindNull(4)
                  .Run()
                  .ok());
  EXPECT_EQ(db->Changes(), 1);
  EXPECT_EQ(db->LastInsertRowid(), 1);
  ASSERT_TRUE(insert->Bind(1, int64_t{7}).BindBlob(3, "").Run().ok());  // 2 and 4 reset to NULL

  auto select = db->Prepare("SELECT i, s, b, n FROM t ORDER BY rowid");
  ASSERT_TRUE(select.ok());
  auto row = select->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(select->ColumnInt(0), INT64_MIN);
  EXPECT_EQ(select->ColumnText(1), "h\xc3\xa9llo");
  EXPECT_EQ(select->ColumnView(2), blob);
  EXPECT_TRUE(select->ColumnIsNull(3));
  EXPECT_EQ(select->ColumnText(3), "");
  row = select->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(select->ColumnInt(0), 7);
  EXPECT_TRUE(select->ColumnIsNull(1));
  EXPECT_FALSE(select->ColumnIsNull(2));
  EXPECT_EQ(select->ColumnView(2), "");
  row = select->Step();
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(*row);
  select->Reset();
  row = select->Step();  // reusable after Reset
  ASSERT_TRUE(row.ok() && *row);
}

TEST_F(SqliteTest, StatementCanBeMovedAndOutliveNothing) {
  auto db = OpenOrDie();
  auto a = db->Prepare("SELECT 41 + 1");
  ASSERT_TRUE(a.ok());
  Statement moved = std::move(*a);
  Statement target;
  target = std::move(moved);
  auto row = target.Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(target.ColumnInt(0), 42);
}

TEST_F(SqliteTest, PrepareErrors) {
  auto db = OpenOrDie();
  auto bad = db->Prepare("SELEC 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kIo);
  EXPECT_NE(bad.status().message().find("SELEC 1"), std::string::npos);
  EXPECT_EQ(db->Prepare("").status().code(), Code::kInvalid);
  EXPECT_EQ(db->Prepare("SELECT 1; SELECT 2").status().code(), Code::kInvalid);
  EXPECT_TRUE(db->Prepare("SELECT 1;  ").ok());
}

TEST_F(SqliteTest, QueryIntWithoutRowIsNotFound) {
  auto db = OpenOrDie();
  ASSERT_TRUE(db->Exec("CREATE TABLE t(i INTEGER)").ok());
  EXPECT_EQ(db->QueryInt("SELECT i FROM t").status().code(), Code::kNotFound);
}

TEST_F(SqliteTest, StatementCachePreparesOnceAndHandsBackResetStatements) {
  auto db = OpenOrDie();
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Exec("CREATE TABLE t (i INTEGER)").ok());
  ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (1), (2), (3)").ok());
  StatementCache cache(*db);
  static const char* const kSql = "SELECT i FROM t WHERE i >= ?1 ORDER BY i";
  auto first = cache.Get(kSql);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  (*first)->Bind(1, int64_t{2});
  auto row = (*first)->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ((*first)->ColumnInt(0), 2);
  // Half-read: the same literal again is the same statement, reset and with no binding left
  // (NULL: "i >= NULL" matches nothing).
  auto again = cache.Get(kSql);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
  row = (*again)->Step();
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(*row);
  // A statement left mid-read (it holds a read snapshot) starts over after ResetAll.
  again = cache.Get(kSql);
  ASSERT_TRUE(again.ok());
  (*again)->Bind(1, int64_t{1});
  ASSERT_TRUE((*again)->Step().ok());
  EXPECT_EQ((*again)->ColumnInt(0), 1);
  cache.ResetAll();
  (*again)->Bind(1, int64_t{1});
  row = (*again)->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ((*again)->ColumnInt(0), 1);
  // SQL that does not prepare is an error naming it, and nothing is cached for it.
  EXPECT_FALSE(cache.Get("SELECT nope FROM t").ok());
}

}  // namespace
}  // namespace cjd::sqlite
