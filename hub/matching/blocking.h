// Candidate generation by blocking: records sharing the value of any one of several keys are
// compared. Several keys (OR), so a pair with one corrupted field is still found through
// another key.
//
// Oversized blocks: a key value carried by more than max_block_size records (a placeholder
// date, a very common name code) is skipped for that key only. Its records still meet their
// true partners through the other keys, which is why there are several; BlockingStats counts
// the skipped blocks and records so the loss is visible. Cost is then bounded by
// keys x records x max_block_size comparisons.
//
// Built once (Add per record) and queried per record (Candidates): the hub indexes its records
// and, for a new or changed record, compares it with its blocks only. Not thread-safe for
// writers; concurrent Candidates calls are fine once adding has stopped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hub/matching/fields.h"
#include "hub/matching/record_table.h"

namespace cjd::hub::matching {

// How a field contributes to a key.
enum class KeyPart : uint8_t {
  kValue,     // the normalised value
  kPhonetic,  // the NYSIIS code (name fields)
  kYear,      // the first 4 characters (date_of_birth: the year)
  kHead4,     // the first 4 characters, only for values of 6+ characters (ids)
  kTail4,     // the last 4 characters, only for values of 6+ characters
};

struct BlockingKey {
  std::string name;  // for stats and docs, e.g. "last_name:phonetic+postcode"
  std::vector<std::pair<Field, KeyPart>> parts;  // a record has the key iff every part is present
  // The parts' order does not matter ("kyra wilde" and "wilde kyra" share the key): for first
  // and last names entered the wrong way round.
  bool unordered = false;
};

// The default keys (hub/matching/README.md explains the choice).
std::vector<BlockingKey> DefaultBlockingKeys();

struct BlockingStats {
  size_t blocks = 0;                // distinct key values with 2+ records
  size_t oversized_blocks = 0;      // skipped, > max_block_size records
  size_t records_in_oversized = 0;  // summed over the skipped blocks
};

class BlockingIndex {
 public:
  BlockingIndex(std::vector<BlockingKey> keys, size_t max_block_size);

  // Indexes row `row` of `table` under each key it has.
  // REQUIRES: rows are added in increasing order (AllPairs relies on ascending blocks).
  void Add(const RecordTable& table, uint32_t row);
  // Takes row `row` out of every block it is in (a record replaced or gone, incremental use).
  void Remove(uint32_t row);

  // The indexed rows sharing a key with `record` through a block of <= max_block_size rows,
  // ascending, each once, `exclude` (the record's own row, if indexed) left out. `out` is
  // cleared first; reusing it across calls avoids allocation.
  void Candidates(const RecordTable& table, const PreparedRecord& record, uint32_t exclude,
                  std::vector<uint32_t>* out) const;

  // Every candidate pair among the indexed rows, (a, b) with a < b, each once, sorted.
  std::vector<std::pair<uint32_t, uint32_t>> AllPairs() const;

  BlockingStats Stats() const;
  const std::vector<BlockingKey>& keys() const { return keys_; }

 private:
  // 0 when the record lacks the key.
  uint64_t KeyHash(const RecordTable& table, const PreparedRecord& record, size_t key) const;

  std::vector<BlockingKey> keys_;
  size_t max_block_size_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> blocks_;
  std::vector<uint64_t> row_keys_;  // row * keys_.size() + key -> hash (0 = none)
};

}  // namespace cjd::hub::matching
