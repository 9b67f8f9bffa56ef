// Interned strings: each distinct string gets a small id once, so the comparison loop compares
// ids for equality and reads the text through a view without copying it.
//
// Not thread-safe for writers; concurrent readers are fine once writing has stopped. Views
// stay valid for the pool's lifetime (the map's nodes never move).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cjd::hub::matching {

class StringPool {
 public:
  // Id 0 is the empty string: "missing" everywhere in the matcher.
  StringPool() { Intern(""); }
  StringPool(const StringPool&) = delete;
  StringPool& operator=(const StringPool&) = delete;
  StringPool(StringPool&&) = default;
  StringPool& operator=(StringPool&&) = default;

  uint32_t Intern(std::string_view s) {
    auto [it, inserted] = index_.try_emplace(std::string(s), static_cast<uint32_t>(views_.size()));
    if (inserted) views_.push_back(it->first);
    return it->second;
  }
  // The id of `s`, or -1 if it was never interned.
  int64_t Find(std::string_view s) const {
    const auto it = index_.find(std::string(s));
    return it == index_.end() ? -1 : it->second;
  }
  std::string_view View(uint32_t id) const { return views_[id]; }
  size_t size() const { return views_.size(); }

 private:
  std::unordered_map<std::string, uint32_t> index_;
  std::vector<std::string_view> views_;  // by id, into index_'s keys
};

}  // namespace cjd::hub::matching
