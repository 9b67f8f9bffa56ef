// JourneyIndex::Funnel: POST /v1/funnels/query over the in-memory timelines. For each person (or
// session) every touch that can start the funnel in the period starts an attempt; the attempt
// that gets furthest counts (the earliest of equals). README.md has the order modes and figures.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "hub/journeys/journey_index.h"

namespace cjd::hub::journeys {
namespace {

struct Attempt {
  size_t depth = 0;
  std::vector<int64_t> at;  // per step reached: the time it was reached
  const JourneyIndex::Touch* start = nullptr;
};

struct Tally {
  std::vector<int64_t> count;
  std::vector<std::vector<int64_t>> seconds_ms;  // per step: time from the previous step
  explicit Tally(size_t n) : count(n, 0), seconds_ms(n) {}
  void Add(const Attempt& a) {
    for (size_t k = 0; k < a.depth; ++k) {
      ++count[k];
      if (k > 0) seconds_ms[k].push_back(a.at[k] - a.at[k - 1]);
    }
  }
  nlohmann::json Json() {
    nlohmann::json steps = nlohmann::json::array();
    for (size_t k = 0; k < count.size(); ++k) {
      auto ratio = [](int64_t a, int64_t b) -> nlohmann::json {
        if (b == 0) return nullptr;
        return static_cast<double>(a) / static_cast<double>(b);
      };
      auto rank = [&](double p) -> nlohmann::json {
        auto& v = seconds_ms[k];
        if (v.empty()) return nullptr;
        std::sort(v.begin(), v.end());
        // Nearest rank: the value at rank ceil(p * n).
        size_t r = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
        r = std::clamp<size_t>(r, 1, v.size());
        return static_cast<double>(v[r - 1]) / 1000.0;
      };
      steps.push_back(
          {{"step", k + 1},
           {"count", count[k]},
           {"conversion_from_previous", k == 0 ? ratio(count[0], count[0]) : ratio(count[k], count[k - 1])},
           {"conversion_from_first", ratio(count[k], count[0])},
           {"drop_off", k == 0 ? 0 : count[k - 1] - count[k]},
           {"drop_off_rate", k == 0 ? nlohmann::json(nullptr) : ratio(count[k - 1] - count[k], count[k - 1])},
           {"median_seconds_to_convert", k == 0 ? nlohmann::json(nullptr) : rank(0.5)},
           {"p90_seconds_to_convert", k == 0 ? nlohmann::json(nullptr) : rank(0.9)}});
    }
    return steps;
  }
};

}  // namespace

JourneyIndex::CompiledStep JourneyIndex::Compile(const StepSpec& s) const {
  CompiledStep c;
  c.type = s.type;
  for (const Condition& w : s.where) {
    if (w.key == "url") {
      c.url_prefix = UrlPath(w.value);
      continue;
    }
    std::optional<uint32_t> id;
    if (w.key == "channel" || w.key == "store_id") {
      id = Find(w.value);
      if (!id) {
        c.impossible = true;
      } else if (w.key == "channel") {
        c.channel = *id;
      } else {
        c.store = *id;
      }
      continue;
    }
    id = Find(w.key + kAttrSep + w.value);
    if (!id) {
      c.impossible = true;
    } else {
      c.attrs.push_back(*id);
    }
  }
  return c;
}

bool JourneyIndex::Matches(const CompiledStep& c, const Touch& t) const {
  if (c.impossible || t.type != c.type) return false;
  if (c.channel && t.channel != *c.channel) return false;
  if (c.store && t.store != *c.store) return false;
  for (uint32_t a : c.attrs) {
    if (!HasAttr(t, a)) return false;
  }
  if (c.url_prefix) {
    if (t.url == 0) return false;
    const std::string& u = Text(t.url);
    const std::string& p = *c.url_prefix;
    if (u.compare(0, p.size(), p) != 0) return false;
    // A prefix ends at a path boundary: "/p" matches "/p" and "/p/1", not "/pq".
    if (u.size() > p.size() && p != "/" && u[p.size()] != '/') return false;
  }
  return true;
}

nlohmann::json JourneyIndex::Funnel(const FunnelQuery& q, PersonFilter filter,
                                    const SegmentMembers* segments,
                                    const PersonFeatures* person_features) const {
  std::vector<CompiledStep> steps, exclude;
  for (const StepSpec& s : q.steps) steps.push_back(Compile(s));
  for (const StepSpec& s : q.exclude) exclude.push_back(Compile(s));
  auto match = [&](const CompiledStep& c, const Touch& t) { return Matches(c, t); };
  auto excluded = [&](const Touch& t) {
    for (const CompiledStep& c : exclude) {
      if (match(c, t)) return true;
    }
    return false;
  };
  const size_t n = steps.size();

  // The best attempt in one sequence of touches (a person's, or one session's).
  auto best_in = [&](const std::vector<const Touch*>& seq) {
    Attempt best;
    for (size_t i = 0; i < seq.size() && best.depth < n; ++i) {
      const Touch& s = *seq[i];
      if (!q.period.Contains(s.local_day)) continue;
      Attempt a;
      a.start = &s;
      a.at.assign(n, 0);
      if (q.order == FunnelOrder::kAny) {
        std::vector<bool> got(n, false);
        bool any = false;
        for (size_t j = i; j < seq.size(); ++j) {
          const Touch& t = *seq[j];
          if (t.at_ms - s.at_ms > q.window_ms) break;
          bool used = false;
          for (size_t k = 0; k < n && !used; ++k) {
            if (!got[k] && match(steps[k], t)) {
              got[k] = used = true;
              a.at[k] = t.at_ms;
            }
          }
          if (j == i && !used) break;  // an attempt starts on a step's touch
          any = true;
          if (!used && excluded(t)) break;
        }
        if (!any) continue;
        // Steps count in the order given: step k is reached when steps 1..k all were; it is
        // reached at the latest of their times.
        int64_t reached = 0;
        while (a.depth < n && got[a.depth]) {
          reached = std::max(reached, a.at[a.depth]);
          a.at[a.depth] = reached;
          ++a.depth;
        }
      } else {
        if (!match(steps[0], s)) continue;
        a.at[0] = s.at_ms;
        a.depth = 1;
        for (size_t j = i + 1; j < seq.size() && a.depth < n; ++j) {
          const Touch& t = *seq[j];
          if (t.at_ms - s.at_ms > q.window_ms) break;
          if (match(steps[a.depth], t)) {
            a.at[a.depth++] = t.at_ms;
          } else if (q.order == FunnelOrder::kStrict || excluded(t)) {
            break;
          }
        }
      }
      if (a.depth > best.depth) best = std::move(a);
    }
    return best;
  };

  // Every unit's best attempt, with its person.
  std::vector<std::pair<int64_t, Attempt>> units;
  std::vector<const Touch*> seq;
  std::vector<std::vector<const Touch*>> by_session;
  for (const auto& [id, person] : persons_) {
    if (filter != nullptr && filter->count(id) == 0) continue;
    if (q.count_by == CountBy::kPerson) {
      seq.clear();
      for (const Touch& t : person.touches) seq.push_back(&t);
      Attempt a = best_in(seq);
      if (a.depth > 0) units.emplace_back(id, std::move(a));
    } else {
      by_session.assign(static_cast<size_t>(person.sessions), {});
      for (const Touch& t : person.touches) by_session[static_cast<size_t>(t.session)].push_back(&t);
      for (const auto& s : by_session) {
        Attempt a = best_in(s);
        if (a.depth > 0) units.emplace_back(id, std::move(a));
      }
    }
  }

  Tally total(n);
  for (const auto& [id, a] : units) total.Add(a);
  nlohmann::json out;
  out["steps"] = total.Json();
  if (q.pain_points && n >= 2) {
    // The transitions by drop-off, then for the worst one what the persons (sessions) who
    // dropped there met, after reaching its first step and before the next step or the window's
    // end, against those who went on: event types, item and property values, channel, store,
    // page. Odds ratio of dropping off with the feature against without (0.5 added to each
    // cell, Haldane), features met by at least 2 who dropped, best first.
    std::vector<size_t> order_by_drop(n - 1);
    for (size_t k = 0; k + 1 < n; ++k) order_by_drop[k] = k;
    std::stable_sort(order_by_drop.begin(), order_by_drop.end(), [&](size_t a, size_t b) {
      return total.count[a] - total.count[a + 1] > total.count[b] - total.count[b + 1];
    });
    nlohmann::json transitions = nlohmann::json::array();
    for (size_t k : order_by_drop) {
      const int64_t lost = total.count[k] - total.count[k + 1];
      transitions.push_back(
          {{"from_step", k + 1},
           {"to_step", k + 2},
           {"drop_off", lost},
           {"drop_off_rate", total.count[k] == 0 ? nlohmann::json(nullptr)
                                                 : nlohmann::json(static_cast<double>(lost) /
                                                                  static_cast<double>(total.count[k]))}});
    }
    const size_t worst = order_by_drop.front();
    // Per unit at the worst transition: dropped or not, and the features it met.
    struct Unit {
      int64_t person;
      bool lost;
      std::set<std::string> features;
    };
    std::vector<Unit> met;
    int64_t dropped = 0, went_on = 0;
    for (const auto& [id, a] : units) {
      if (a.depth <= worst) continue;  // never reached the transition's first step
      const bool lost = a.depth == worst + 1;
      (lost ? dropped : went_on) += 1;
      const int64_t from = a.at[worst];
      const int64_t until = lost ? a.start->at_ms + q.window_ms : a.at[worst + 1];
      Unit u{id, lost, {}};
      for (const Touch& t : persons_.at(id).touches) {
        if (t.at_ms <= from || t.at_ms > until || (!lost && t.at_ms == until)) continue;
        if (q.count_by == CountBy::kSession && t.session != a.start->session) continue;
        u.features.insert("type=" + std::string(EventTypeName(t.type)));
        if (t.channel != 0) u.features.insert("channel=" + Text(t.channel));
        if (t.store != 0) u.features.insert("store_id=" + Text(t.store));
        if (t.url != 0) u.features.insert("url=" + PathLabelUrl(Text(t.url)));
        for (uint32_t i = 0; i < t.attr_count; ++i) {
          std::string f = Text(attrs_[t.attr_begin + i]);
          std::replace(f.begin(), f.end(), kAttrSep, '=');
          u.features.insert(std::move(f));
        }
      }
      met.push_back(std::move(u));
    }
    // What is known of the persons beyond their timelines (segments, profile attributes): the
    // same for each of a person's sessions.
    if (person_features != nullptr && *person_features && !met.empty()) {
      std::vector<int64_t> ids;
      ids.reserve(met.size());
      for (const Unit& u : met) ids.push_back(u.person);
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      const auto known = (*person_features)(ids);
      for (Unit& u : met) {
        if (auto it = known.find(u.person); it != known.end()) {
          u.features.insert(it->second.begin(), it->second.end());
        }
      }
    }
    std::map<std::string, std::pair<int64_t, int64_t>> seen;  // feature -> (dropped, went on)
    for (const Unit& u : met) {
      for (const std::string& f : u.features) {
        auto& c = seen[f];
        (u.lost ? c.first : c.second) += 1;
      }
    }
    struct Factor {
      std::string feature;
      int64_t a, b, c, d;
      double odds;
    };
    std::vector<Factor> factors;
    for (const auto& [f, c] : seen) {
      if (c.first < 2) continue;
      const int64_t a = c.first, b = dropped - c.first, cc = c.second, d = went_on - c.second;
      const double odds = ((a + 0.5) / (cc + 0.5)) / ((b + 0.5) / (d + 0.5));
      if (odds > 1.0) factors.push_back({f, a, b, cc, d, odds});
    }
    std::stable_sort(factors.begin(), factors.end(),
                     [](const Factor& x, const Factor& y) { return x.odds > y.odds; });
    nlohmann::json list = nlohmann::json::array();
    for (size_t i = 0; i < factors.size() && i < 20; ++i) {
      const Factor& f = factors[i];
      list.push_back({{"feature", f.feature},
                      {"dropped_with", f.a},
                      {"dropped_without", f.b},
                      {"continued_with", f.c},
                      {"continued_without", f.d},
                      {"odds_ratio", f.odds}});
    }
    out["pain_points"] = {{"transitions", std::move(transitions)},
                          {"worst", {{"from_step", worst + 1}, {"to_step", worst + 2},
                                     {"dropped", dropped}, {"continued", went_on}}},
                          {"factors", std::move(list)}};
  }
  if (q.breakdown != Breakdown::kNone) {
    std::map<std::string, Tally> groups;
    if (q.breakdown == Breakdown::kSegment) {
      for (const auto& [segment, members] : segments ? *segments : SegmentMembers{}) {
        Tally t(n);
        for (const auto& [id, a] : units) {
          if (members.count(id) > 0) t.Add(a);
        }
        groups.emplace(segment, std::move(t));
      }
    } else {
      for (const auto& [id, a] : units) {
        const std::string& key =
            Text(q.breakdown == Breakdown::kChannel ? a.start->channel : a.start->store);
        groups.try_emplace(key, n).first->second.Add(a);
      }
    }
    nlohmann::json b = nlohmann::json::array();
    for (auto& [value, tally] : groups) b.push_back({{"value", value}, {"steps", tally.Json()}});
    out["breakdown"] = std::move(b);
  }
  return out;
}

}  // namespace cjd::hub::journeys
