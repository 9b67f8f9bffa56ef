#include "hub/ingest/sequence_tracker.h"

namespace cjd::hub {

SequenceTracker::SequenceTracker(uint64_t acked,
                                 const std::vector<std::pair<uint64_t, uint64_t>>& ranges)
    : acked_(acked) {
  for (const auto& [first, last] : ranges) Add(first, last);
}

void SequenceTracker::Add(uint64_t first, uint64_t last) {
  if (last <= acked_) return;
  if (first <= acked_) first = acked_ + 1;
  // Merge with every range that overlaps or touches [first, last].
  auto it = ranges_.upper_bound(first);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second + 1 >= first) {
      first = prev->first;
      if (prev->second > last) last = prev->second;
      it = ranges_.erase(prev);
    }
  }
  while (it != ranges_.end() && it->first <= last + 1) {
    if (it->second > last) last = it->second;
    it = ranges_.erase(it);
  }
  if (first == acked_ + 1) {
    acked_ = last;
  } else {
    ranges_.emplace(first, last);
  }
}

bool SequenceTracker::Covers(uint64_t first, uint64_t last) const {
  if (last <= acked_) return true;
  if (first <= acked_) return false;  // part of it is above the contiguous prefix and not merged
  auto it = ranges_.upper_bound(first);
  if (it == ranges_.begin()) return false;
  --it;
  return it->first <= first && it->second >= last;
}

std::vector<std::pair<uint64_t, uint64_t>> SequenceTracker::pending() const {
  return {ranges_.begin(), ranges_.end()};
}

}  // namespace cjd::hub
