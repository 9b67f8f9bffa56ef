#include "hub/journeys/journey_index.h"

#include <algorithm>

namespace cjd::hub::journeys {

uint32_t JourneyIndex::Intern(std::string_view s) {
  if (s.empty()) return 0;
  auto it = string_ids_.find(std::string(s));
  if (it != string_ids_.end()) return it->second;
  const auto id = static_cast<uint32_t>(strings_.size());
  strings_.emplace_back(s);
  string_ids_.emplace(std::string(s), id);
  return id;
}

std::optional<uint32_t> JourneyIndex::Find(std::string_view s) const {
  if (s.empty()) return 0;
  auto it = string_ids_.find(std::string(s));
  if (it == string_ids_.end()) return std::nullopt;
  return it->second;
}

bool JourneyIndex::HasAttr(const Touch& t, uint32_t attr) const {
  for (uint32_t i = 0; i < t.attr_count; ++i) {
    if (attrs_[t.attr_begin + i] == attr) return true;
  }
  return false;
}

void JourneyIndex::Remove(int64_t rowid) {
  auto w = where_.find(rowid);
  if (w == where_.end()) return;
  auto p = persons_.find(w->second);
  if (p != persons_.end()) {
    auto& v = p->second.touches;
    v.erase(std::remove_if(v.begin(), v.end(), [&](const Touch& t) { return t.rowid == rowid; }),
            v.end());
    if (v.empty()) {
      persons_.erase(p);
      dirty_.erase(w->second);
    } else {
      dirty_.insert(w->second);
    }
  }
  where_.erase(w);
}

void JourneyIndex::Move(int64_t rowid, int64_t profile_id) {
  auto w = where_.find(rowid);
  if (profile_id <= 0) return Remove(rowid);
  if (w == where_.end() || w->second == profile_id) return;
  auto p = persons_.find(w->second);
  if (p == persons_.end()) return;
  auto& v = p->second.touches;
  auto it = std::find_if(v.begin(), v.end(), [&](const Touch& t) { return t.rowid == rowid; });
  if (it == v.end()) return;
  const Touch t = *it;
  v.erase(it);
  if (v.empty()) {
    dirty_.erase(w->second);
    persons_.erase(p);
  } else {
    dirty_.insert(w->second);
  }
  Insert(profile_id, t);
}

void JourneyIndex::Insert(int64_t profile_id, const Touch& t) {
  auto& v = persons_[profile_id].touches;
  auto less = [](const Touch& a, const Touch& b) {
    return a.at_ms != b.at_ms ? a.at_ms < b.at_ms : a.rowid < b.rowid;
  };
  if (v.empty() || less(v.back(), t)) {
    v.push_back(t);
  } else {
    v.insert(std::upper_bound(v.begin(), v.end(), t, less), t);  // a late touch
  }
  where_[t.rowid] = profile_id;
  dirty_.insert(profile_id);
}

void JourneyIndex::Put(const TouchRecord& r) {
  auto w = where_.find(r.rowid);
  if (w != where_.end()) {
    if (w->second == r.profile_id) return;  // already there (a touch never changes otherwise)
    Remove(r.rowid);
  }
  if (r.profile_id <= 0) return;
  Touch t{};
  t.at_ms = r.at_ms;
  t.rowid = r.rowid;
  t.revenue_cents = r.revenue_cents;
  t.local_day = r.local_day;
  t.channel = Intern(r.channel);
  t.store = Intern(r.store);
  t.url = Intern(r.url);
  t.currency = Intern(r.currency);
  t.attr_begin = static_cast<uint32_t>(attrs_.size());
  t.attr_count = static_cast<uint16_t>(std::min<size_t>(r.attrs.size(), 0xffff));
  for (size_t i = 0; i < t.attr_count; ++i) attrs_.push_back(Intern(r.attrs[i]));
  t.type = r.type;
  t.order = r.order;
  t.session = 0;
  Insert(r.profile_id, t);
}

void JourneyIndex::Recompute(Person& p) const {
  // Per channel: the current session's number, first and last touch time.
  struct Open {
    uint32_t channel;
    int32_t number;
    int64_t first, last;
  };
  std::vector<Open> open;
  int32_t next = 0;
  for (Touch& t : p.touches) {
    Open* o = nullptr;
    for (Open& x : open) {
      if (x.channel == t.channel) o = &x;
    }
    if (o == nullptr || t.at_ms - o->last > options_.gap_ms || t.at_ms - o->first >= options_.cap_ms) {
      if (o == nullptr) {
        open.push_back({t.channel, next, t.at_ms, t.at_ms});
        o = &open.back();
      } else {
        *o = {t.channel, next, t.at_ms, t.at_ms};
      }
      ++next;
    }
    o->last = t.at_ms;
    t.session = o->number;
  }
  p.sessions = next;
}

void JourneyIndex::Settle() {
  for (int64_t id : dirty_) {
    auto p = persons_.find(id);
    if (p != persons_.end()) Recompute(p->second);
  }
  dirty_.clear();
}

int64_t JourneyIndex::PersonOf(int64_t rowid) const {
  auto w = where_.find(rowid);
  return w == where_.end() ? 0 : w->second;
}

std::vector<int64_t> JourneyIndex::RowidsOf(int64_t profile_id) const {
  std::vector<int64_t> out;
  auto p = persons_.find(profile_id);
  if (p == persons_.end()) return out;
  for (const Touch& t : p->second.touches) out.push_back(t.rowid);
  std::sort(out.begin(), out.end());
  return out;
}

int64_t JourneyIndex::sessions() const {
  int64_t n = 0;
  for (const auto& [id, p] : persons_) n += p.sessions;
  return n;
}

nlohmann::json JourneyIndex::Timeline(int64_t profile_id) const {
  nlohmann::json out = nlohmann::json::array();
  auto p = persons_.find(profile_id);
  if (p == persons_.end()) return out;
  for (const Touch& t : p->second.touches) {
    out.push_back({{"event_rowid", t.rowid},
                   {"at_ms", t.at_ms},
                   {"date", DayText(t.local_day)},
                   {"type", std::string(EventTypeName(t.type))},
                   {"channel", strings_[t.channel]},
                   {"store_id", strings_[t.store]},
                   {"session", t.session}});
  }
  return out;
}

}  // namespace cjd::hub::journeys
