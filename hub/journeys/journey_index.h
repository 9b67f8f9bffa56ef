// JourneyIndex: every person's timeline in memory -- touches sorted by event time, cut into
// sessions -- and the questions asked of it (web metrics, funnels, retention). Built from
// journeys.db at start and kept current by the Journeys thread (journeys.h); the queries scan
// compact arrays, so a funnel over millions of events needs no SQL.
//
// A person is a live profile. Sessions are per person and channel: a touch more than
// `gap_ms` after the previous touch of the same channel (or `cap_ms` or more after the
// session's first) starts a new one; a gap of exactly `gap_ms` continues it. A touch that
// arrives late is placed by its event time and the person's sessions are recomputed, so a late
// store visit joins, splits or re-opens the sessions around it.
//
// Not thread-safe: Journeys guards it with a reader/writer lock.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/journeys/touch.h"
#include "shared/core/status.h"

namespace cjd::hub::journeys {

struct SessionOptions {
  int64_t gap_ms = 30 * 60'000;
  int64_t cap_ms = 24 * 3'600'000;
};

// One condition of a funnel step's or exclusion's `where`.
struct Condition {
  std::string key;    // "sku", "category", "url", "store_id", "channel", "name" (a track event's),
                      // "properties.K"
  std::string value;  // exact, or for "url" a path prefix (cleaned like UrlPath)
};
struct StepSpec {
  EventType type = EventType::kPageView;
  std::vector<Condition> where;
};
enum class FunnelOrder { kSequential, kStrict, kAny };
enum class CountBy { kPerson, kSession };
enum class Breakdown { kNone, kChannel, kStore, kSegment };

struct Period {
  std::optional<int32_t> from_day;  // inclusive, local date
  std::optional<int32_t> to_day;    // exclusive
  bool Contains(int32_t day) const {
    return (!from_day || day >= *from_day) && (!to_day || day < *to_day);
  }
};

struct FunnelQuery {
  std::vector<StepSpec> steps;       // 1..20
  std::vector<StepSpec> exclude;     // an exclusion touch between two steps ends the attempt
  FunnelOrder order = FunnelOrder::kSequential;
  int64_t window_ms = 14LL * 86'400'000;
  CountBy count_by = CountBy::kPerson;
  Period period;                     // the first step's local date
  Breakdown breakdown = Breakdown::kNone;
  bool pain_points = false;          // add "pain_points" (README)
};

struct WebQuery {
  Period period;
  std::string channel;  // empty: all
  std::string store;    // empty: all
};

struct AttributionQuery {
  std::vector<std::string> models;   // ModelName()s, validated by the caller
  Period period;                     // the orders' local dates
  int64_t lookback_ms = 30LL * 86'400'000;
  std::string currency;              // empty: the currency with the most orders
  double half_life_days = 7, first_share = 0.4, last_share = 0.4;
};

struct PathQuery {
  std::optional<StepSpec> start;     // paths from the first touch matching it...
  std::optional<StepSpec> end;       // ... or to the first touch matching it (one of the two)
  int length = 4;                    // touches per path, 2..10 (a path may end sooner)
  int top = 10;                      // 1..100
  CountBy count_by = CountBy::kPerson;
  Period period;                     // the start (end) touch's local date
};

// Journey stages, in order (README: the rules). kStageNone: no touch at all.
inline constexpr int kStageNone = -1;
inline constexpr const char* kStageNames[] = {"awareness", "consideration", "purchase",
                                              "retention", "advocacy"};
struct StageRules {
  int64_t retention_orders = 2;  // orders that make a customer "retention"
  int64_t advocacy_orders = 5;   // ... and "advocacy"
  int64_t window_ms = 90LL * 86'400'000;  // the current stage: activity within this
};

enum class RetentionCohort { kFirstOrderMonth, kFirstSeenMonth };
enum class RetentionPeriod { kMonth, kWeek };

// Who may be counted: nullptr for everyone, else the set (a segment's members).
using PersonFilter = const std::unordered_set<int64_t>*;
// breakdown=segment: segment id -> its members.
using SegmentMembers = std::vector<std::pair<std::string, std::unordered_set<int64_t>>>;
// Pain points: what is known of persons outside their timelines (segment memberships, profile
// attributes), as features ("segment=vip", "attributes.tier=gold"); called once with every
// person counted at the worst transition, it returns the features of each (none: absent).
using PersonFeatures = std::function<std::unordered_map<int64_t, std::vector<std::string>>(
    const std::vector<int64_t>& persons)>;

class JourneyIndex {
 public:
  explicit JourneyIndex(SessionOptions options) : options_(options) {}

  // Adds a touch (its profile_id > 0) or moves it to another person (same rowid); touch 0
  // profile removes it. Sessions of the persons changed are recomputed by Settle().
  void Put(const TouchRecord& t);
  void Remove(int64_t rowid);
  // Moves a held touch to `profile_id`, its fields unchanged (0: nobody, the touch is removed);
  // nothing when not held.
  void Move(int64_t rowid, int64_t profile_id);
  // The persons whose touches changed since the last Settle get their sessions recomputed.
  void Settle();
  // The profile a touch belongs to now (0: none).
  int64_t PersonOf(int64_t rowid) const;
  // Every rowid held for `profile_id`.
  std::vector<int64_t> RowidsOf(int64_t profile_id) const;

  size_t touches() const { return where_.size(); }
  size_t persons() const { return persons_.size(); }
  int64_t sessions() const;

  // The web and commerce metrics (README: definitions).
  nlohmann::json WebMetrics(const WebQuery& q, PersonFilter persons) const;
  // A funnel; `segments` only for Breakdown::kSegment; `features` (may be null) only for
  // pain points.
  nlohmann::json Funnel(const FunnelQuery& q, PersonFilter persons,
                        const SegmentMembers* segments,
                        const PersonFeatures* features = nullptr) const;
  nlohmann::json Retention(RetentionCohort cohort, RetentionPeriod period,
                           PersonFilter persons) const;
  // A person's (current, furthest) stage at `now_ms` (kStageNone when none).
  std::pair<int, int> StageOf(int64_t profile_id, int64_t now_ms) const;
  std::vector<std::string> TrackedEventsOf(int64_t profile_id) const;
  // GET /v1/journeys/stages: the distribution now, and per period the persons who had reached
  // each stage by its end, with stage-to-stage conversion.
  nlohmann::json Stages(RetentionPeriod period, int64_t now_ms, PersonFilter persons) const;
  void set_stage_rules(StageRules rules) { stage_rules_ = rules; }
  // The lifecycle of each period: new, returning, resurrecting, dormant persons (README).
  nlohmann::json Lifecycle(RetentionPeriod period, bool orders_only, PersonFilter persons) const;
  // The most common paths from or to an event.
  nlohmann::json Paths(const PathQuery& q, PersonFilter persons) const;
  // Order revenue attributed to touchpoints (attribution.h); kInvalid naming an option.
  Result<nlohmann::json> Attribution(const AttributionQuery& q, PersonFilter persons) const;

  // One person's touches as JSON (tests, cjdctl): time, type, channel, session.
  nlohmann::json Timeline(int64_t profile_id) const;

  // Interned string ids; 0 is "none". Lookup answers nullopt for a string never seen (nothing
  // can match it).
  std::optional<uint32_t> Find(std::string_view s) const;
  const std::string& Text(uint32_t id) const { return strings_[id]; }

  struct Touch {
    int64_t at_ms;
    int64_t rowid;
    int64_t revenue_cents;
    int32_t local_day;
    uint32_t channel, store, url, currency;
    uint32_t attr_begin;   // into attrs_
    uint16_t attr_count;
    EventType type;
    bool order;
    int32_t session;       // per person, numbered in time order from 0
  };
  struct Person {
    std::vector<Touch> touches;  // by (at_ms, rowid)
    int32_t sessions = 0;
  };
  // For the queries' files.
  const std::unordered_map<int64_t, Person>& persons_map() const { return persons_; }
  bool HasAttr(const Touch& t, uint32_t attr) const;
  // A step resolved against the interned strings, for matching in a scan.
  struct CompiledStep {
    EventType type;
    bool impossible = false;  // names a value never seen: matches nothing
    std::optional<uint32_t> channel, store;
    std::vector<uint32_t> attrs;
    std::optional<std::string> url_prefix;
  };
  CompiledStep Compile(const StepSpec& s) const;
  bool Matches(const CompiledStep& c, const Touch& t) const;

 private:
  uint32_t Intern(std::string_view s);
  void Recompute(Person& p) const;
  void Insert(int64_t profile_id, const Touch& t);

  // The stage `touches` reach (only those at or after `since_ms` count).
  int StageFrom(const std::vector<Touch>& touches, int64_t since_ms) const;

  SessionOptions options_;
  StageRules stage_rules_;
  std::vector<std::string> strings_{std::string()};
  std::unordered_map<std::string, uint32_t> string_ids_;
  std::vector<uint32_t> attrs_;                       // interned "key\x1fvalue" lists
  std::unordered_map<int64_t, Person> persons_;
  std::unordered_map<int64_t, int64_t> where_;        // rowid -> profile id
  std::unordered_set<int64_t> dirty_;
};

}  // namespace cjd::hub::journeys
