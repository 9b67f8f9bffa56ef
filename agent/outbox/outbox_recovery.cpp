#include "agent/outbox/outbox_recovery.h"

#include <sqlite3.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <filesystem>
#include <system_error>

namespace cjd::agent {
namespace {

namespace fs = std::filesystem;

bool IsDamage(int rc) {
  const int primary = rc & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

std::string UtcStamp(int64_t now_ms) {
  const std::time_t t = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// Renames PATH, PATH-wal and PATH-shm to the same new suffix. Returns the new main file name.
Result<std::string> MoveAside(const std::string& path, int64_t now_ms) {
  std::string target = path + ".corrupt-" + UtcStamp(now_ms);
  std::error_code ec;
  for (int n = 2; fs::exists(target, ec) && n < 100; ++n) {
    target = path + ".corrupt-" + UtcStamp(now_ms) + "-" + std::to_string(n);
  }
  // The -wal and -shm first: a main file without its WAL is never left under the live name.
  for (const char* suffix : {"-wal", "-shm", ""}) {
    const std::string from = path + suffix;
    if (!fs::exists(from, ec)) continue;
    fs::rename(from, target + suffix, ec);
    if (ec) {
      return Status(Code::kIo, "cannot move the damaged outbox " + from + " aside: " + ec.message());
    }
  }
  return target;
}

}  // namespace

Result<std::string> CheckOutboxIntegrity(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::string();
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  auto finish = [&](Result<std::string> r) {
    sqlite3_close(db);
    return r;
  };
  if (rc != SQLITE_OK) {
    const std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    if (IsDamage(rc)) return finish("does not open: " + msg);
    return finish(Status(Code::kIo, "cannot open the outbox " + path + ": " + msg));
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(5)", -1, &stmt, nullptr);
  std::string problems;
  if (rc == SQLITE_OK) {
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const char* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      const std::string line = text != nullptr ? text : "";
      if (line == "ok") continue;
      if (!problems.empty()) problems += "; ";
      problems += line;
    }
  }
  const std::string msg = sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_OK) {
    if (IsDamage(rc)) return finish("quick_check failed: " + msg);
    return finish(Status(Code::kIo, "cannot check the outbox " + path + ": " + msg));
  }
  if (!problems.empty()) return finish("quick_check: " + problems.substr(0, 500));
  return finish(std::string());
}

Result<std::unique_ptr<OutboxStore>> OpenOutboxRecovering(const std::string& path,
                                                          int64_t now_ms) {
  auto damage = CheckOutboxIntegrity(path);
  if (!damage.ok()) return damage.status();
  if (damage->empty()) {
    auto store = OutboxStore::Open(path, now_ms);
    if (store.ok()) return store;
    // Damage the quick check did not see (in a table it reads only now): same treatment.
    const std::string m = store.status().message();
    if (m.find("malformed") == std::string::npos && m.find("not a database") == std::string::npos) {
      return store.status();
    }
    *damage = "open failed: " + m;
  }
  auto moved = MoveAside(path, now_ms);
  if (!moved.ok()) return moved.status();
  spdlog::error("outbox {} is damaged ({}); moved aside to {}, starting a fresh outbox", path,
                *damage, *moved);
  auto store = OutboxStore::Open(path, now_ms);
  if (!store.ok()) return store.status();
  OutboxStore& s = **store;
  CJD_RETURN_IF_ERROR(s.Begin());
  // Where the file went first: the detail is cut to fit the heartbeat (kMaxResetDetail), and the
  // check's own report can be long.
  Status st = s.StartNewEpoch(now_ms, "corrupt", "moved to " + *moved + "; " + *damage);
  if (st.ok()) st = s.Commit();
  if (!st.ok()) {
    s.Rollback();
    return st;
  }
  return store;
}

}  // namespace cjd::agent
