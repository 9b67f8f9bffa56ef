#include "hub/matching/blocking.h"

#include <algorithm>
#include <string_view>

namespace cjd::hub::matching {
namespace {

uint64_t Mix(uint64_t h, uint64_t v) {
  // splitmix64 finaliser over the running hash: cheap and well spread.
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

uint64_t HashText(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return h;
}

}  // namespace

std::vector<BlockingKey> DefaultBlockingKeys() {
  using F = Field;
  using P = KeyPart;
  return {
      {"national_id", {{F::kNationalId, P::kValue}}},
      {"national_id:head4", {{F::kNationalId, P::kHead4}}},
      {"national_id:tail4", {{F::kNationalId, P::kTail4}}},
      {"date_of_birth", {{F::kDateOfBirth, P::kValue}}},
      {"{first_name,last_name}:phonetic",
       {{F::kFirstName, P::kPhonetic}, {F::kLastName, P::kPhonetic}},
       true},
      {"last_name:phonetic+postcode", {{F::kLastName, P::kPhonetic}, {F::kPostcode, P::kValue}}},
      {"first_name:phonetic+date_of_birth:year",
       {{F::kFirstName, P::kPhonetic}, {F::kDateOfBirth, P::kYear}}},
      {"first_name:phonetic+postcode", {{F::kFirstName, P::kPhonetic}, {F::kPostcode, P::kValue}}},
      {"last_name:phonetic+city", {{F::kLastName, P::kPhonetic}, {F::kCity, P::kValue}}},
      {"postcode+street_number", {{F::kPostcode, P::kValue}, {F::kStreetNumber, P::kValue}}},
      {"street_number+city", {{F::kStreetNumber, P::kValue}, {F::kCity, P::kValue}}},
      {"last_name:phonetic+street_number",
       {{F::kLastName, P::kPhonetic}, {F::kStreetNumber, P::kValue}}},
      {"street_number+address_line1",
       {{F::kStreetNumber, P::kValue}, {F::kAddressLine1, P::kValue}}},
      {"email", {{F::kEmail, P::kValue}}},
      {"phone", {{F::kPhone, P::kValue}}},
  };
}

BlockingIndex::BlockingIndex(std::vector<BlockingKey> keys, size_t max_block_size)
    : keys_(std::move(keys)), max_block_size_(max_block_size) {}

uint64_t BlockingIndex::KeyHash(const RecordTable& table, const PreparedRecord& record,
                                size_t key) const {
  const BlockingKey& spec = keys_[key];
  uint64_t h = Mix(0x5bd1e995ULL, key + 1);
  uint64_t unordered = 0;  // a commutative combination of the parts' hashes
  for (const auto& [field, part] : spec.parts) {
    const uint32_t id = record.value[Index(field)];
    if (id == 0) return 0;
    const FieldValues& v = table.values(field);
    const std::string_view text = v.text.View(id);
    uint64_t part_hash = 0;
    switch (part) {
      case KeyPart::kValue:
        part_hash = HashText(text);
        break;
      case KeyPart::kPhonetic:
        if (v.phonetic[id] == 0) return 0;
        part_hash = HashText(v.phonetics.View(v.phonetic[id]));
        break;
      case KeyPart::kYear:
        if (text.size() < 4) return 0;
        part_hash = HashText(text.substr(0, 4));
        break;
      case KeyPart::kHead4:
        if (text.size() < 6) return 0;
        part_hash = HashText(text.substr(0, 4));
        break;
      case KeyPart::kTail4:
        if (text.size() < 6) return 0;
        part_hash = HashText(text.substr(text.size() - 4));
        break;
    }
    if (spec.unordered) {
      unordered += Mix(0, part_hash);
    } else {
      h = Mix(h, part_hash);
    }
  }
  if (spec.unordered) h = Mix(h, unordered);
  return h == 0 ? 1 : h;
}

void BlockingIndex::Add(const RecordTable& table, uint32_t row) {
  const PreparedRecord& record = table[row];
  if (row_keys_.size() < (static_cast<size_t>(row) + 1) * keys_.size()) {
    row_keys_.resize((static_cast<size_t>(row) + 1) * keys_.size(), 0);
  }
  for (size_t k = 0; k < keys_.size(); ++k) {
    const uint64_t h = KeyHash(table, record, k);
    row_keys_[static_cast<size_t>(row) * keys_.size() + k] = h;
    if (h != 0) blocks_[h].push_back(row);
  }
}

void BlockingIndex::Remove(uint32_t row) {
  const size_t base = static_cast<size_t>(row) * keys_.size();
  if (base + keys_.size() > row_keys_.size()) return;
  for (size_t k = 0; k < keys_.size(); ++k) {
    const uint64_t h = row_keys_[base + k];
    if (h == 0) continue;
    row_keys_[base + k] = 0;
    auto it = blocks_.find(h);
    if (it == blocks_.end()) continue;
    std::vector<uint32_t>& rows = it->second;
    auto at = std::lower_bound(rows.begin(), rows.end(), row);  // ascending (rows added in order)
    if (at != rows.end() && *at == row) rows.erase(at);
    if (rows.empty()) blocks_.erase(it);
  }
}

void BlockingIndex::Candidates(const RecordTable& table, const PreparedRecord& record,
                               uint32_t exclude, std::vector<uint32_t>* out) const {
  out->clear();
  for (size_t k = 0; k < keys_.size(); ++k) {
    const uint64_t h = KeyHash(table, record, k);
    if (h == 0) continue;
    const auto it = blocks_.find(h);
    if (it == blocks_.end() || it->second.size() > max_block_size_) continue;
    for (uint32_t r : it->second) {
      if (r != exclude) out->push_back(r);
    }
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
}

std::vector<std::pair<uint32_t, uint32_t>> BlockingIndex::AllPairs() const {
  const size_t n = keys_.empty() ? 0 : row_keys_.size() / keys_.size();
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  // seen[j] == i + 1 once (i, j) is emitted: dedupes across keys without sorting all pairs.
  std::vector<uint32_t> seen(n, 0);
  std::vector<uint32_t> mine;
  for (uint32_t i = 0; i < n; ++i) {
    mine.clear();
    for (size_t k = 0; k < keys_.size(); ++k) {
      const uint64_t h = row_keys_[static_cast<size_t>(i) * keys_.size() + k];
      if (h == 0) continue;
      const std::vector<uint32_t>& block = blocks_.find(h)->second;
      if (block.size() > max_block_size_) continue;
      // Rows are added in order, so a block is ascending: start past i.
      for (auto it = std::upper_bound(block.begin(), block.end(), i); it != block.end(); ++it) {
        if (seen[*it] == i + 1) continue;
        seen[*it] = i + 1;
        mine.push_back(*it);
      }
    }
    std::sort(mine.begin(), mine.end());
    for (uint32_t j : mine) pairs.emplace_back(i, j);
  }
  return pairs;
}

BlockingStats BlockingIndex::Stats() const {
  BlockingStats s;
  for (const auto& [h, rows] : blocks_) {
    if (rows.size() < 2) continue;
    ++s.blocks;
    if (rows.size() > max_block_size_) {
      ++s.oversized_blocks;
      s.records_in_oversized += rows.size();
    }
  }
  return s;
}

}  // namespace cjd::hub::matching
