// JourneyIndex::Paths: POST /v1/paths/query. Per person (or session), the first touch that
// matches `start` in the period and the touches after it (or the first touch that matches `end`
// and the touches before it), as labels; the most common paths, counted once per person
// (session). Labels: the event type, and for page and product views with a URL the type and the
// cleaned path ("page_view /shoes/:id"); a label repeated in a row counts once (a page reloaded).
#include <algorithm>
#include <map>

#include "hub/journeys/journey_index.h"

namespace cjd::hub::journeys {

std::string PathLabelUrl(std::string_view path) {
  // Path segments that are ids (all digits, or 16+ characters with a digit) become ":id", so
  // /product/123 and /product/456 are one page.
  std::string out;
  size_t at = 0;
  while (at < path.size()) {
    size_t next = path.find('/', at + 1);
    if (next == std::string_view::npos) next = path.size();
    std::string_view seg = path.substr(at, next - at);  // with its leading '/'
    std::string_view body = seg.empty() ? seg : seg.substr(1);
    const bool digits = !body.empty() && std::all_of(body.begin(), body.end(), [](char c) {
      return c >= '0' && c <= '9';
    });
    const bool long_id = body.size() >= 16 && std::any_of(body.begin(), body.end(), [](char c) {
      return c >= '0' && c <= '9';
    });
    out += (digits || long_id) ? std::string("/:id") : std::string(seg);
    at = next;
  }
  return out.empty() ? std::string("/") : out;
}

nlohmann::json JourneyIndex::Paths(const PathQuery& q, PersonFilter filter) const {
  const bool forward = q.start.has_value();
  const CompiledStep anchor = Compile(forward ? *q.start : *q.end);
  auto label = [&](const Touch& t) {
    std::string l(EventTypeName(t.type));
    if ((t.type == EventType::kPageView || t.type == EventType::kProductView) && t.url != 0) {
      l += " " + PathLabelUrl(Text(t.url));
    }
    return l;
  };
  std::map<std::vector<std::string>, int64_t> counts;
  int64_t units = 0;
  std::vector<const Touch*> seq;
  auto one = [&](const std::vector<const Touch*>& s) {
    // The anchor: the first match in the period.
    size_t at = s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      if (q.period.Contains(s[i]->local_day) && Matches(anchor, *s[i])) {
        at = i;
        break;
      }
    }
    if (at == s.size()) return;
    std::vector<std::string> path;
    auto add = [&](const Touch& t) {
      std::string l = label(t);
      if (!path.empty() && path.back() == l) return;
      path.push_back(std::move(l));
    };
    if (forward) {
      for (size_t i = at; i < s.size() && static_cast<int>(path.size()) < q.length; ++i) add(*s[i]);
    } else {
      for (size_t i = at + 1; i-- > 0 && static_cast<int>(path.size()) < q.length;) add(*s[i]);
      std::reverse(path.begin(), path.end());
    }
    ++units;
    ++counts[path];
  };
  std::vector<std::vector<const Touch*>> by_session;
  for (const auto& [id, person] : persons_) {
    if (filter != nullptr && filter->count(id) == 0) continue;
    if (q.count_by == CountBy::kPerson) {
      seq.clear();
      for (const Touch& t : person.touches) seq.push_back(&t);
      one(seq);
    } else {
      by_session.assign(static_cast<size_t>(person.sessions), {});
      for (const Touch& t : person.touches) by_session[static_cast<size_t>(t.session)].push_back(&t);
      for (const auto& s : by_session) one(s);
    }
  }
  std::vector<std::pair<int64_t, const std::vector<std::string>*>> ranked;
  for (const auto& [path, n] : counts) ranked.emplace_back(n, &path);
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  nlohmann::json paths = nlohmann::json::array();
  for (size_t i = 0; i < ranked.size() && static_cast<int>(i) < q.top; ++i) {
    paths.push_back({{"path", *ranked[i].second},
                     {"count", ranked[i].first},
                     {"share", static_cast<double>(ranked[i].first) / static_cast<double>(units)}});
  }
  return {{"from_or_to", forward ? "from" : "to"},
          {"total", units},
          {"distinct_paths", static_cast<int64_t>(counts.size())},
          {"paths", std::move(paths)}};
}

}  // namespace cjd::hub::journeys
