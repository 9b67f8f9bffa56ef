// SharedSegmentDefinitions: the segments written through the API, for several hub instances on
// one PostgreSQL (issue 17): table `segments_definitions` there (migrations module `segments`),
// of which this class is the one owner. Each instance's SegmentEngine writes through it and
// brings its own segments.db (definitions, memberships) in line with it (Reconcile in
// segment_engine.h); the built-in segments are not in it (every instance registers the same).
//
// A write is one statement: concurrent writes of one id land one after the other, each raising
// `version`; ChangedSince() notices any committed write by the sum of versions (whatever the
// order in which concurrent writes commit). The caller keeps the sum it last applied in full, so
// that a reconciliation that fails half-way reads everything again next time. Threading: one
// thread at a time, like its connection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shared/core/status.h"

namespace cjd::pg {
class Connection;
}

namespace cjd::hub::segments {

struct SharedDefinition {
  std::string id;
  std::string name;
  std::string description;
  std::string rule;  // normalised (Rule::ToString)
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  int64_t version = 0;  // raised by every write
  bool deleted = false;
};

class SharedSegmentDefinitions {
 public:
  // Connects (its own session) and migrates. kUnavailable when the database cannot be reached.
  static Result<std::unique_ptr<SharedSegmentDefinitions>> Open(const std::string& url);
  ~SharedSegmentDefinitions();
  SharedSegmentDefinitions(const SharedSegmentDefinitions&) = delete;
  SharedSegmentDefinitions& operator=(const SharedSegmentDefinitions&) = delete;

  struct PutResult {
    SharedDefinition row;  // as stored
    bool created = false;  // there was no live definition of that id before
  };
  // Creates, replaces or re-creates (after a delete) `def.id` at `now_ms`; a live one keeps its
  // created_ms.
  Result<PutResult> Put(const SharedDefinition& def, int64_t now_ms);
  // Copies `def` in unless the id is there already (live or deleted): true when copied.
  Result<bool> PutIfAbsent(const SharedDefinition& def);
  // Marks it deleted; false when there is no live definition of that id.
  Result<bool> Delete(const std::string& id, int64_t now_ms);
  struct Changes {
    std::vector<SharedDefinition> definitions;  // every one, deleted ones too, by id
    int64_t version_sum = 0;  // as of before they were read: pass it to the next ChangedSince
                              // once they are applied
  };
  // Every definition when the sum of versions differs from `applied_sum` (the version_sum of
  // the Changes last applied in full; -1: none yet); std::nullopt when nothing was written since.
  Result<std::optional<Changes>> ChangedSince(int64_t applied_sum);

 private:
  explicit SharedSegmentDefinitions(std::unique_ptr<pg::Connection> db);
  std::unique_ptr<pg::Connection> db_;
};

}  // namespace cjd::hub::segments
