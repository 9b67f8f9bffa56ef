// The offers as marketing wrote them: table `offers` of offers.db, of which this class is the one
// owner (reads and writes; its schema is in offers.db's migrations in offer_planner.cpp).
// Deleted offers stay (their stats stay readable, and the id keeps counting versions when it is
// created again). Kept in memory as well: the planner ranks from it every round. Not
// thread-safe: the planner calls it under its writer mutex.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/offers/offer_spec.h"
#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

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

 private:
  explicit OfferCatalogue(sqlite::Statement put) : put_(std::move(put)) {}
  Status Write(const OfferRow& row);

  sqlite::Statement put_;
  std::map<std::string, OfferRow> rows_;  // by id, deleted too
};

}  // namespace cjd::hub::offers
