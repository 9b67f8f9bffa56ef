// The records being matched, normalised and interned once, with everything the comparison loop
// needs precomputed per distinct value (not per record, not per pair): phonetic code, nickname
// group, word set, and how many records carry the value (for term-frequency adjustment).
//
// Records are only ever added (the hub adds a new or changed record, then queries its blocks),
// never removed; a changed record is added as a new row and the old row is left to the caller
// to ignore. Not thread-safe for writers; concurrent readers are fine once writing has stopped.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "hub/matching/fields.h"
#include "hub/matching/record.h"
#include "hub/matching/string_pool.h"

namespace cjd::hub::matching {

// A record as interned value ids per field; 0 = missing.
struct PreparedRecord {
  std::array<uint32_t, kFieldCount> value{};
};

// The distinct values of one field and what is precomputed for each (all indexed by value id).
struct FieldValues {
  StringPool text;                   // normalised value
  std::vector<uint32_t> phonetic;    // id in `phonetics` (name fields; 0 elsewhere)
  StringPool phonetics;              // NYSIIS codes
  std::vector<uint16_t> nickname;    // NicknameGroup (first_name; 0 elsewhere)
  std::vector<uint32_t> word_begin;  // words of value v: word_ids[word_begin[v], word_end[v])
  std::vector<uint32_t> word_end;
  std::vector<uint32_t> word_ids;    // sorted ids in `words`, per value
  StringPool words;
  std::vector<uint8_t> is_date;      // date_of_birth: the value is a valid YYYYMMDD
  std::vector<uint32_t> count;       // records carrying the value
  uint64_t non_missing = 0;          // records with the field present
};

class RecordTable {
 public:
  RecordTable();
  RecordTable(const RecordTable&) = delete;
  RecordTable& operator=(const RecordTable&) = delete;
  RecordTable(RecordTable&&) = default;
  RecordTable& operator=(RecordTable&&) = default;

  // Normalises, interns and counts `record`'s fields (its id is not read); returns its row.
  uint32_t Add(const Record& record);
  // Takes row `row` out of the value counts and empties it (its values stay interned): for a
  // record replaced or gone in incremental use. Remove it from a BlockingIndex first.
  void Forget(uint32_t row);

  size_t size() const { return rows_.size(); }
  // The reference is invalidated by the next Add.
  const PreparedRecord& operator[](uint32_t row) const { return rows_[row]; }
  const FieldValues& values(Field f) const { return fields_[Index(f)]; }
  std::string_view Text(Field f, uint32_t value_id) const {
    return fields_[Index(f)].text.View(value_id);
  }

 private:
  uint32_t InternValue(Field f, std::string_view normalised);

  std::array<FieldValues, kFieldCount> fields_;
  std::vector<PreparedRecord> rows_;
};

}  // namespace cjd::hub::matching
