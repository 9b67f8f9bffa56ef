// SegmentStore: segments.db, the segment definitions and their memberships (schema in
// hub/segments/README.md). One instance per connection, not thread-safe. The hub has one writer
// (the SegmentEngine's thread, hub/segments/segment_engine.h) and any number of readers (the
// HTTP API, the offer planner), each with its own connection. Other modules read segments.db
// only through the reads below.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub::segments {

struct SegmentRow {
  std::string id;
  std::string name;
  std::string description;
  std::string rule;  // normalised (Rule::ToString)
  bool builtin = false;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;                 // the definition's last change
  std::optional<int64_t> evaluated_ms;    // end of the last full evaluation under this rule
  int64_t members = 0;
};

// One join or leave (membership_changes), in commit order.
struct MembershipChange {
  int64_t seq = 0;
  std::string segment_id;
  int64_t profile_id = 0;
  bool entered = false;  // false: left
  int64_t at_ms = 0;
};

struct MemberRow {
  int64_t profile_id = 0;
  int64_t since_ms = 0;  // when the profile joined (and has been a member since)
};

class SegmentStore {
 public:
  // Opens (creating and migrating unless `read_only`) the segments database at `path`.
  static Result<std::unique_ptr<SegmentStore>> Open(const std::string& path,
                                                    bool read_only = false);

  // --- reads ---
  // Built-ins first (in registration order), then the others by id.
  Result<std::vector<SegmentRow>> List();
  Result<std::optional<SegmentRow>> Get(std::string_view id);
  // Members of `id` with profile_id > `after`, ascending, at most `limit`.
  Result<std::vector<MemberRow>> Members(std::string_view id, int64_t after, int64_t limit);
  // The segments `profile_id` is a member of.
  Result<std::vector<std::string>> SegmentsOf(int64_t profile_id);
  // Distinct member profile ids in (lo, hi], ascending.
  Result<std::vector<int64_t>> MemberIdsBetween(int64_t lo, int64_t hi);
  // Whether a segment `id` is defined.
  Result<bool> Exists(std::string_view id);
  // Whether `profile_id` is a member of `id`.
  Result<bool> IsMember(std::string_view id, int64_t profile_id);
  // Joins and leaves with seq > `seq`, in order, at most `limit` (hub/activation's feed).
  Result<std::vector<MembershipChange>> ChangesAfter(int64_t seq, int64_t limit);
  // Whether `profile_id` joined or left `id` in a change after `seq`.
  Result<bool> ChangedAfter(std::string_view id, int64_t profile_id, int64_t seq);
  // The newest change's seq (0: none).
  Result<int64_t> LastChangeSeq();
  // Every member of `id` (one read for a whole pass, e.g. the offer planner's full round).
  Result<std::unordered_set<int64_t>> AllMemberIds(std::string_view id);

  // --- writes (the one writer; the caller opens the transaction where several go together) ---
  // Inserts or replaces a definition; `row.members` and `row.evaluated_ms` are kept from the
  // stored row on replace. `position` orders built-ins.
  Status PutDefinition(const SegmentRow& row, int64_t position);
  // Removes a definition and its members (each logged as a leave at `at_ms`).
  Status DeleteSegment(std::string_view id, int64_t at_ms);
  // Membership of one profile in one segment; true when a row was added/removed (and then
  // logged in membership_changes).
  Result<bool> Join(std::string_view id, int64_t profile_id, int64_t since_ms);
  Result<bool> Leave(std::string_view id, int64_t profile_id, int64_t at_ms);
  // Drops logged changes older than `before_ms`.
  Status PruneChanges(int64_t before_ms);
  Status AddMembers(std::string_view id, int64_t delta);
  Status SetEvaluated(std::string_view id, int64_t ms);
  // Recounts segments.members from segment_members (at start, in case).
  Status RecountMembers();

  sqlite::Database& db() { return *db_; }

 private:
  explicit SegmentStore(std::unique_ptr<sqlite::Database> db)
      : db_(std::move(db)), statements_(*db_) {}

  Status LogChange(std::string_view id, int64_t profile_id, bool entered, int64_t at_ms);

  std::unique_ptr<sqlite::Database> db_;
  sqlite::StatementCache statements_;  // after db_: built from it
};

}  // namespace cjd::hub::segments
