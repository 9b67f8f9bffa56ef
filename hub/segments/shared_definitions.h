// SharedSegmentDefinitions: the segments written through the API, for several hub instances on
// one PostgreSQL (issue 17): table `segments_definitions` there (migrations module `segments`),
// of which this class is the one owner. Each instance's SegmentEngine writes through it and
// brings its own segments.db (definitions, memberships) in line with it (Reconcile in
// segment_engine.h); the built-in segments are not in it (every instance registers the same).
//
// A write is one statement: concurrent writes of one id land one after the other, each raising
// `version`; ChangedSince() notices any committed write by the sum of versions (whatever the
// order in which concurrent writes commit). Threading: one thread at a time, like its connection.
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

  // Creates, replaces or re-creates (after a delete) `def.id` at `now_ms`; a live one keeps its
  // created_ms. Returns the row as stored.
  Result<SharedDefinition> Put(const SharedDefinition& def, int64_t now_ms);
  // Copies `def` in unless the id is there already (live or deleted): true when copied.
  Result<bool> PutIfAbsent(const SharedDefinition& def);
  // Marks it deleted; false when there is no live definition of that id.
  Result<bool> Delete(const std::string& id, int64_t now_ms);
  // Every definition (deleted ones too) when any was written since the last call that returned
  // them; std::nullopt when none was.
  Result<std::optional<std::vector<SharedDefinition>>> ChangedSince();

 private:
  explicit SharedSegmentDefinitions(std::unique_ptr<pg::Connection> db);
  std::unique_ptr<pg::Connection> db_;
  int64_t version_sum_ = -1;  // as of the last ChangedSince that returned rows
};

}  // namespace cjd::hub::segments
