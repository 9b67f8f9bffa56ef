#include "shared/storage/memory_report.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <thread>

#include "shared/storage/sqlite.h"

namespace cjd {
namespace {

// Writes ~24 MiB into a fresh database with a 64 MiB page cache (the projection's setting) and
// returns what SQLite holds at the end, with the cache still open.
int64_t SqliteBytesAfterFilling(const std::filesystem::path& dir, const std::string& name) {
  auto db = sqlite::Database::Open((dir / name).string());
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return -1;
  EXPECT_TRUE((*db)->Exec("PRAGMA cache_size = -65536").ok());
  EXPECT_TRUE((*db)->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)").ok());
  EXPECT_TRUE((*db)->Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE "
                          "i < 6000) INSERT INTO t (v) SELECT randomblob(4000) FROM n")
                  .ok());
  EXPECT_TRUE((*db)->Exec("SELECT count(*), sum(length(v)) FROM t").ok());
  return ReadMemoryReport().sqlite_bytes;
}

TEST(MemoryReport, ReportsResidentHeapAndSqlite) {
  const MemoryReport r = ReadMemoryReport();
  EXPECT_GT(r.rss_bytes, 0);
  EXPECT_GE(r.sqlite_bytes, 0);
  EXPECT_GE(r.sqlite_peak_bytes, r.sqlite_bytes);
}

TEST(MemoryReport, TheSqliteLimitBoundsThePageCaches) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "cjd-memory-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::filesystem::path dir = tmpl;

  const int64_t unbounded = SqliteBytesAfterFilling(dir, "a.db");
  SetSqliteMemoryLimit(8 << 20);
  const int64_t bounded = SqliteBytesAfterFilling(dir, "b.db");
  SetSqliteMemoryLimit(0);
  std::filesystem::remove_all(dir);

  // Without a bound the 64 MiB cache holds the ~24 MiB written; with 8 MiB it recycles pages.
  EXPECT_GT(unbounded, 20 << 20);
  EXPECT_LT(bounded, 12 << 20) << "unbounded: " << unbounded;
}

// Per-thread counting needs a process where SQLite was not initialised yet: the death-test
// machinery runs the body in a fresh run of this binary ("threadsafe" style re-executes it).
TEST(MemoryReportDeathTest, PerThreadCountsFollowWhatSqliteHolds) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        if (!CountSqliteMemoryPerThread()) std::_Exit(3);
        std::string tmpl = (std::filesystem::temp_directory_path() / "cjd-memory-XXXXXX").string();
        if (mkdtemp(tmpl.data()) == nullptr) std::_Exit(4);
        const std::filesystem::path dir = tmpl;
        const int64_t empty = ReadMemoryReport().sqlite_bytes;
        int64_t filled = 0;
        std::thread other([&] { filled = SqliteBytesAfterFilling(dir, "a.db"); });
        other.join();  // the database was opened, filled and closed on another thread
        const MemoryReport after = ReadMemoryReport();
        std::filesystem::remove_all(dir);
        // ~24 MiB in a 64 MiB cache while open; given back when closed; the peak kept.
        if (filled < (20 << 20)) std::_Exit(5);
        if (after.sqlite_bytes > empty + (1 << 20)) std::_Exit(6);
        if (after.sqlite_peak_bytes < filled) std::_Exit(7);
        if (CountSqliteMemoryPerThread()) std::_Exit(8);  // too late: SQLite is initialised
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace cjd
