// What each store's devices should hold, versioned: tables store_items, store_versions and the
// version counter in meta of offers.db, of which this class is the one owner (their schema is in
// offers.db's migrations in offer_planner.cpp).
//
// Each derived item (an offer, an assignment, the general list) is a row with a version from one
// increasing counter; a change writes a new version, a removal a tombstone (content kRemoved). A
// device's state is therefore "every item of its store up to version W", and an update to it is
// every item with a version in (W, V] (ForEachInRange). Not thread-safe: the planner calls it
// under its writer mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub::offers {

// Item kinds (stored: never renumber).
enum ItemKind : int { kOfferItem = 0, kAssignmentItem = 1, kGeneralItem = 2 };
// The content of a removed item (a deleted offer; a customer who has no list of their own any
// more): never a list of offer ids ([A-Za-z0-9._:-]) nor a version number. An assignment with
// content "" is a list with nothing in it.
inline constexpr std::string_view kRemoved = "!";

struct StoredItem {
  std::string content;
  std::optional<int64_t> owner;  // assignments: the profile
};

// One item as an update carries it.
struct RangeItem {
  int kind = 0;
  std::string_view key;
  std::string_view content;
  uint64_t version = 0;
  std::string_view sealed;  // assignments: the sealed loyalty id
};

class StoreItems {
 public:
  // Prepares the statements on `db` (migrated; outlives this) and loads the counters.
  static Result<std::unique_ptr<StoreItems>> Open(sqlite::Database& db);
  ~StoreItems();

  // The store's current version (0: nothing written for it yet).
  uint64_t version(const std::string& store) const;
  bool knows(const std::string& store) const { return versions_.contains(store); }

  // The writes of one round, in one transaction. Commit() saves the counter and commits;
  // destroyed uncommitted, it rolls back and puts the counter and the stores' versions back:
  // nothing a failed round numbered may ever be sent.
  class Change {
   public:
    explicit Change(StoreItems& items);
    ~Change();
    Change(const Change&) = delete;
    Change& operator=(const Change&) = delete;
    const Status& status() const { return tx_.status(); }
    Status Commit();

   private:
    StoreItems& items_;
    sqlite::Transaction tx_;
    const uint64_t seq0_;
    const std::map<std::string, uint64_t> versions0_;
    bool committed_ = false;
  };

  // Within a Change: the item gets the next version, and so does its store.
  Status Write(const std::string& store, int kind, std::string_view key, std::string_view content,
               std::optional<int64_t> owner, std::string_view sealed);
  // Within a Change: the same content under another owner (a merge): no new version, the
  // devices hold it already.
  Status SetOwner(const std::string& store, int kind, std::string_view key, int64_t owner);
  // Within a Change: tombstones every device of the store holds (version <= held_by_all) are no
  // longer needed by anyone.
  Status DropTombstones(const std::string& store, uint64_t held_by_all);

  Result<std::optional<StoredItem>> Get(const std::string& store, int kind, std::string_view key);
  // Every item of a store, tombstones included, by (kind, key).
  Result<std::map<std::pair<int, std::string>, StoredItem>> OfStore(const std::string& store);
  // A profile's assignments, by (store, key) -> content.
  Result<std::map<std::pair<std::string, std::string>, std::string>> AssignmentsOf(
      int64_t profile_id);

  // Gives every item of `store` a new version above `above` (its own transaction): a device
  // holds versions this file never wrote for the store (offers.db replaced or restored).
  Status Renumber(const std::string& store, uint64_t above);

  // The items of `store` with a version in (base, target], in version order. A non-ok status
  // from `f` ends the walk and is returned.
  Status ForEachInRange(const std::string& store, uint64_t base, uint64_t target,
                        const std::function<Status(const RangeItem&)>& f);

 private:
  struct Statements;
  StoreItems(sqlite::Database& db, std::unique_ptr<Statements> st);
  Status SaveCounter();

  sqlite::Database& db_;
  std::unique_ptr<Statements> st_;
  uint64_t seq_ = 0;
  std::map<std::string, uint64_t> versions_;  // store -> its current version
};

}  // namespace cjd::hub::offers
