#include "hub/segments/shared_definitions.h"

#include "shared/storage/postgres.h"

namespace cjd::hub::segments {
namespace {

const std::vector<pg::Migration> kPgMigrations = {
    {1,
     "CREATE TABLE segments_definitions ("
     "  id           text PRIMARY KEY,"
     "  name         text NOT NULL,"
     "  description  text NOT NULL,"
     "  rule         text NOT NULL,"
     "  created_ms   bigint NOT NULL,"
     "  updated_ms   bigint NOT NULL,"
     "  version      bigint NOT NULL,"
     "  deleted      boolean NOT NULL);"},
};

constexpr const char* kColumns =
    "id, name, description, rule, created_ms, updated_ms, version, deleted";

SharedDefinition FromRow(const pg::Row& r) {
  SharedDefinition d;
  d.id = r.Text(0);
  d.name = r.Text(1);
  d.description = r.Text(2);
  d.rule = r.Text(3);
  d.created_ms = r.Int(4);
  d.updated_ms = r.Int(5);
  d.version = r.Int(6);
  d.deleted = r.Text(7) == "t";
  return d;
}

}  // namespace

SharedSegmentDefinitions::SharedSegmentDefinitions(std::unique_ptr<pg::Connection> db)
    : db_(std::move(db)) {}
SharedSegmentDefinitions::~SharedSegmentDefinitions() = default;

Result<std::unique_ptr<SharedSegmentDefinitions>> SharedSegmentDefinitions::Open(
    const std::string& url) {
  auto db = pg::Connection::Open(url);
  if (!db.ok()) return db.status();
  CJD_RETURN_IF_ERROR((*db)->Migrate("segments", kPgMigrations));
  return std::unique_ptr<SharedSegmentDefinitions>(new SharedSegmentDefinitions(std::move(*db)));
}

Result<SharedSegmentDefinitions::PutResult> SharedSegmentDefinitions::Put(
    const SharedDefinition& def, int64_t now_ms) {
  // `created`: no live definition of the id as of the statement's snapshot (two concurrent
  // creations of one id may both say so; one replaces the other).
  auto rows = db_->Query(
      std::string("WITH before AS (SELECT deleted FROM segments_definitions WHERE id = $1) "
                  "INSERT INTO segments_definitions AS d (") +
          kColumns +
          ") VALUES ($1, $2, $3, $4, $5, $5, 1, false) ON CONFLICT (id) DO UPDATE SET "
          "name = EXCLUDED.name, description = EXCLUDED.description, rule = EXCLUDED.rule, "
          "updated_ms = EXCLUDED.updated_ms, "
          "created_ms = CASE WHEN d.deleted THEN EXCLUDED.created_ms ELSE d.created_ms END, "
          "version = d.version + 1, deleted = false RETURNING " +
          kColumns + ", coalesce((SELECT deleted FROM before), true)",
      {pg::Text(def.id), pg::Text(def.name), pg::Text(def.description), pg::Text(def.rule),
       pg::Int(now_ms)});
  if (!rows.ok()) return rows.status();
  if (rows->size() != 1) return Status::Internal("segments_definitions: no row written");
  return PutResult{FromRow(rows->front()), rows->front().Text(8) == "t"};
}

Result<bool> SharedSegmentDefinitions::PutIfAbsent(const SharedDefinition& def) {
  auto n = db_->Run(std::string("INSERT INTO segments_definitions (") + kColumns +
                        ") VALUES ($1, $2, $3, $4, $5, $6, 1, false) ON CONFLICT (id) DO NOTHING",
                    {pg::Text(def.id), pg::Text(def.name), pg::Text(def.description),
                     pg::Text(def.rule), pg::Int(def.created_ms), pg::Int(def.updated_ms)});
  if (!n.ok()) return n.status();
  return *n == 1;
}

Result<bool> SharedSegmentDefinitions::Delete(const std::string& id, int64_t now_ms) {
  auto n = db_->Run(
      "UPDATE segments_definitions SET deleted = true, updated_ms = $2, version = version + 1 "
      "WHERE id = $1 AND NOT deleted",
      {pg::Text(id), pg::Int(now_ms)});
  if (!n.ok()) return n.status();
  return *n == 1;
}

Result<std::optional<SharedSegmentDefinitions::Changes>> SharedSegmentDefinitions::ChangedSince(
    int64_t applied_sum) {
  auto sum = db_->QueryInt("SELECT coalesce(sum(version), 0)::bigint FROM segments_definitions");
  if (!sum.ok()) return sum.status();
  if (*sum == applied_sum) return std::optional<Changes>();
  auto rows = db_->Query(std::string("SELECT ") + kColumns +
                         " FROM segments_definitions ORDER BY id");
  if (!rows.ok()) return rows.status();
  Changes out;
  out.definitions.reserve(rows->size());
  for (const pg::Row& r : *rows) out.definitions.push_back(FromRow(r));
  out.version_sum = *sum;  // read before the rows: a write between the two is read again
  return std::optional<Changes>(std::move(out));
}

}  // namespace cjd::hub::segments
