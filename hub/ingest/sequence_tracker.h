// SequenceTracker: which sequence numbers of one device's outbox epoch the hub holds. Pure logic.
//
// `acked` is the highest sequence such that every sequence 1..acked is held: this is what the hub
// acknowledges, and the device deletes up to it. Ranges received above a gap are kept until the
// gap fills (batches can arrive out of order after a resend or a broker restart).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace cjd::hub {

class SequenceTracker {
 public:
  SequenceTracker() = default;
  SequenceTracker(uint64_t acked, const std::vector<std::pair<uint64_t, uint64_t>>& ranges);

  // Records [first, last] as held (REQUIRES: first <= last < UINT64_MAX) and advances `acked`
  // over any ranges that became contiguous.
  void Add(uint64_t first, uint64_t last);
  // True if every sequence in [first, last] is already held.
  bool Covers(uint64_t first, uint64_t last) const;

  uint64_t acked() const { return acked_; }
  // The highest sequence held (acked() when no range waits above a gap).
  uint64_t held() const { return ranges_.empty() ? acked_ : ranges_.rbegin()->second; }
  // Ranges held above the first gap, sorted, non-overlapping, non-adjacent.
  std::vector<std::pair<uint64_t, uint64_t>> pending() const;
  size_t pending_count() const { return ranges_.size(); }

 private:
  uint64_t acked_ = 0;
  std::map<uint64_t, uint64_t> ranges_;  // first -> last, all above acked_ + 1
};

}  // namespace cjd::hub
