// The offers as marketing wrote them: table `offers` of offers.db, of which this class is the one
// owner (reads and writes; its schema is in offers.db's migrations in offer_planner.cpp); or, for
// several hub instances on one PostgreSQL, table `offers_catalogue` there (migrations module
// `offers`, below), shared by every instance.
// Deleted offers stay (their stats stay readable, and the id keeps counting versions when it is
// created again). Kept in memory as well: the planner ranks from it every round. Not
// thread-safe: the planner calls it under its writer mutex.
//
// Shared: every write is conditional on the version this instance last read (a write another
// instance made meanwhile is read and the change made again on top of it); Refresh() rereads
// the table when its sum of versions moved (every write raises it, whatever the order in which
// concurrent writes commit), at each planning round and before each API read.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/offers/offer_spec.h"
#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

namespace cjd::pg {
class Connection;
}

namespace cjd::hub::offers {

struct OfferRow {
  OfferSpec spec;
  int64_t version = 0;  // increases with every change of the definition
  bool deleted = false;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  // The spec's fields plus version, created_at, updated_at (and deleted when true).
  nlohmann::json ToJson() const;
};

class OfferCatalogue {
 public:
  // Prepares the statements on `db` (migrated; outlives the catalogue) and loads every offer.
  // kInternal when a stored offer no longer parses.
  static Result<std::unique_ptr<OfferCatalogue>> Open(sqlite::Database& db);
  // The shared catalogue in PostgreSQL (`url`). Offers in `local` (offers.db) that the database
  // does not hold yet (a hub instance that kept them there before) are copied in first, once;
  // where both hold an id, the database's stays (logged).
  static Result<std::unique_ptr<OfferCatalogue>> OpenShared(const std::string& url,
                                                            sqlite::Database& local);
  ~OfferCatalogue();
  OfferCatalogue(const OfferCatalogue&) = delete;
  OfferCatalogue& operator=(const OfferCatalogue&) = delete;

  bool shared() const { return pg_ != nullptr; }
  // Shared: rereads what other instances wrote; true when an offer changed. Always false (and
  // nothing read) for offers.db, which only this process writes.
  Result<bool> Refresh();
  // Whether a Refresh (by any caller) found offers changed since the last call; clears it.
  bool TakeMoved() { return std::exchange(moved_, false); }

  struct PutResult {
    OfferRow row;
    bool created = false;  // new, or re-created after a delete
    bool changed = false;  // false: the same spec as stored, nothing written
  };
  // Creates or replaces an offer (one durable autocommit write).
  Result<PutResult> Put(const OfferSpec& spec, int64_t now_ms);
  // kNotFound when there is no such offer or it was deleted.
  Result<OfferRow> Delete(const std::string& id, int64_t now_ms);

  // By id; `include_deleted` adds the deleted ones.
  std::vector<OfferRow> List(bool include_deleted) const;
  // Deleted offers are found too; nullptr when unknown.
  const OfferRow* Find(const std::string& id) const;
  const std::map<std::string, OfferRow>& rows() const { return rows_; }
  int64_t live_count() const;

  // Shared: who last sent the devices their offers, as the numbering their items carry (an
  // instance's offers.db: OfferPlanner), "" when nobody yet; and recording it. Table
  // offers_sender (one row), written only by the holder of the lease offers.device_sync, before
  // it sends anything under that take. Not shared: "" and nothing recorded.
  struct Sender {
    std::string numbering;  // "" when nobody yet
    uint64_t top = 0;       // the highest version it had numbered when it recorded itself
  };
  Result<Sender> LastSender();
  Status RecordSender(const std::string& numbering, uint64_t top, int64_t now_ms);

 private:
  explicit OfferCatalogue(sqlite::Statement put);
  explicit OfferCatalogue(std::unique_ptr<pg::Connection> pg);
  // Writes `row`, which replaces version `previous` (0: a new id). False when the shared table
  // no longer holds `previous` (another instance wrote it meanwhile): nothing written.
  Result<bool> Write(const OfferRow& row, int64_t previous);

  std::optional<sqlite::Statement> put_;    // offers.db
  std::unique_ptr<pg::Connection> pg_;      // shared
  int64_t version_sum_ = -1;                // shared: as of the last Refresh
  bool moved_ = false;                      // a Refresh found changes (TakeMoved)
  std::map<std::string, OfferRow> rows_;  // by id, deleted too
};

}  // namespace cjd::hub::offers
