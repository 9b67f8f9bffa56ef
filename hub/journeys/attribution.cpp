#include "hub/journeys/attribution.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace cjd::hub::journeys {
namespace {

__extension__ using Int128 = __int128;  // sums of cents without overflow

constexpr double kMsPerDay = 86400000.0;
constexpr double kShareSlack = 1e-12;      // first_share + last_share may exceed 1 by this
constexpr double kRemovalEffectFloor = 1e-12;
constexpr long double kTieQuantum = 1e9L;  // remainders are compared at 1e-9 of a cent

std::string JourneyField(size_t i, const std::string& rest) {
  return "journeys[" + std::to_string(i) + "]." + rest;
}
std::string TouchField(size_t i, size_t k, const char* rest) {
  return JourneyField(i, "touches[" + std::to_string(k) + "]." + rest);
}

Status ValidateOptions(const AttributionOptions& opt) {
  if (!std::isfinite(opt.half_life_days) || opt.half_life_days <= 0) {
    return Status::Invalid("half_life_days must be a finite number > 0", "half_life_days");
  }
  if (!std::isfinite(opt.first_share) || opt.first_share < 0 || opt.first_share > 1) {
    return Status::Invalid("first_share must be in [0, 1]", "first_share");
  }
  if (!std::isfinite(opt.last_share) || opt.last_share < 0 || opt.last_share > 1) {
    return Status::Invalid("last_share must be in [0, 1]", "last_share");
  }
  if (opt.first_share + opt.last_share > 1 + kShareSlack) {
    return Status::Invalid("first_share + last_share must be <= 1", "last_share");
  }
  if (opt.markov_order != 1) {
    return Status::Invalid("only a first-order Markov chain is supported", "markov_order");
  }
  return Status::Ok();
}

Status ValidateJourneys(const std::vector<Journey>& journeys) {
  int64_t total = 0;
  for (size_t i = 0; i < journeys.size(); ++i) {
    const Journey& j = journeys[i];
    for (size_t k = 0; k < j.touches.size(); ++k) {
      const Touch& t = j.touches[k];
      if (t.channel.empty()) {
        return Status::Invalid("channel must not be empty", TouchField(i, k, "channel"));
      }
      if (k > 0 && t.at_ms < j.touches[k - 1].at_ms) {
        return Status::Invalid("touches must be sorted by at_ms", TouchField(i, k, "at_ms"));
      }
      if (j.converted && t.at_ms > j.converted_at_ms) {
        return Status::Invalid("touch after the conversion", TouchField(i, k, "at_ms"));
      }
    }
    if (j.converted) {
      if (j.revenue_cents < 0) {
        return Status::Invalid("revenue must be >= 0", JourneyField(i, "revenue_cents"));
      }
      if (__builtin_add_overflow(total, j.revenue_cents, &total)) {
        return Status::Invalid("total revenue overflows", JourneyField(i, "revenue_cents"));
      }
    }
  }
  return Status::Ok();
}

// The (not necessarily normalised) weights of a converted journey's touches (non-empty).
std::vector<double> RuleWeights(Model model, const Journey& j, const AttributionOptions& opt) {
  const size_t n = j.touches.size();
  std::vector<double> w(n, 0.0);
  switch (model) {
    case Model::kFirstTouch:
      w.front() = 1;
      break;
    case Model::kLastTouch:
      w.back() = 1;
      break;
    case Model::kLinear:
      std::fill(w.begin(), w.end(), 1.0);
      break;
    case Model::kTimeDecay: {
      // Relative to the last touch: the same after normalisation as relative to the
      // conversion, and the last touch keeps weight 1, so the sum never underflows to 0.
      const double half_life_ms = opt.half_life_days * kMsPerDay;
      const int64_t last = j.touches.back().at_ms;
      for (size_t k = 0; k < n; ++k) {
        const double age = static_cast<double>(last - j.touches[k].at_ms);
        w[k] = std::exp2(-age / half_life_ms);
      }
      break;
    }
    case Model::kPositionBased:
      if (n == 1) {
        w[0] = 1;
      } else if (n == 2) {
        w[0] = w[1] = 0.5;
      } else {
        const double middle =
            std::max(0.0, 1.0 - opt.first_share - opt.last_share) / static_cast<double>(n - 2);
        std::fill(w.begin(), w.end(), middle);
        w.front() = opt.first_share;
        w.back() = opt.last_share;
        // Both shares 0 and no middle weight cannot happen for n >= 3 (the middle gets 1).
      }
      break;
    case Model::kMarkov:
      break;
  }
  return w;
}

// ---- Markov ----

struct MarkovGraph {
  std::vector<std::string> channels;            // sorted by name
  std::vector<std::vector<double>> out;         // out[i][j]: transitions channel i -> j
  std::vector<double> to_conversion, to_null;   // per channel
  std::vector<double> from_start;               // (start) -> channel
};

MarkovGraph BuildGraph(const std::vector<Journey>& journeys) {
  MarkovGraph g;
  std::map<std::string, size_t> index;
  for (const Journey& j : journeys) {
    for (const Touch& t : j.touches) index.emplace(t.channel, 0);
  }
  for (auto& [name, i] : index) {
    i = g.channels.size();
    g.channels.push_back(name);
  }
  const size_t n = g.channels.size();
  g.out.assign(n, std::vector<double>(n, 0.0));
  g.to_conversion.assign(n, 0.0);
  g.to_null.assign(n, 0.0);
  g.from_start.assign(n, 0.0);
  for (const Journey& j : journeys) {
    if (j.touches.empty()) continue;
    size_t prev = n;  // n = (start)
    for (const Touch& t : j.touches) {
      const size_t cur = index.at(t.channel);
      if (cur == prev) continue;  // consecutive repeats collapse into one state
      if (prev == n) {
        g.from_start[cur] += 1;
      } else {
        g.out[prev][cur] += 1;
      }
      prev = cur;
    }
    (j.converted ? g.to_conversion : g.to_null)[prev] += 1;
  }
  return g;
}

// P(reaching (conversion) from (start)), with channel `removed` (or none when == size)
// redirected to (null). Solves (I - Q) x = b on the transient channel states.
double ConversionProbability(const MarkovGraph& g, size_t removed) {
  const size_t n = g.channels.size();
  std::vector<std::vector<double>> a(n, std::vector<double>(n + 1, 0.0));  // augmented
  for (size_t i = 0; i < n; ++i) {
    a[i][i] = 1;
    if (i == removed) continue;  // x_removed = 0
    double outgoing = g.to_conversion[i] + g.to_null[i];
    for (size_t k = 0; k < n; ++k) outgoing += g.out[i][k];
    if (outgoing <= 0) continue;  // cannot happen: every state seen has a way out
    for (size_t k = 0; k < n; ++k) {
      if (k != removed) a[i][k] -= g.out[i][k] / outgoing;
    }
    a[i][n] = g.to_conversion[i] / outgoing;
  }
  // Gaussian elimination with partial pivoting.
  for (size_t col = 0; col < n; ++col) {
    size_t pivot = col;
    for (size_t r = col + 1; r < n; ++r) {
      if (std::fabs(a[r][col]) > std::fabs(a[pivot][col])) pivot = r;
    }
    if (a[pivot][col] == 0) continue;  // singular: cannot happen for an absorbing chain
    std::swap(a[pivot], a[col]);
    for (size_t r = 0; r < n; ++r) {
      if (r == col || a[r][col] == 0) continue;
      const double f = a[r][col] / a[col][col];
      for (size_t c = col; c <= n; ++c) a[r][c] -= f * a[col][c];
    }
  }
  double starts = 0;
  for (double s : g.from_start) starts += s;
  if (starts <= 0) return 0;
  double p = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i == removed || g.from_start[i] == 0 || a[i][i] == 0) continue;
    p += g.from_start[i] / starts * (a[i][n] / a[i][i]);
  }
  return std::clamp(p, 0.0, 1.0);
}

}  // namespace

std::vector<int64_t> SplitLargestRemainder(int64_t total, const std::vector<double>& weights) {
  if (total < 0 || weights.empty()) return {};
  long double sum = 0;
  for (double w : weights) {
    if (!std::isfinite(w) || w < 0) return {};
    sum += w;
  }
  if (!(sum > 0)) return {};
  const size_t n = weights.size();
  std::vector<int64_t> parts(n, 0);
  std::vector<int64_t> keys(n, 0);  // fractional remainders, quantised for stable ties
  std::vector<size_t> order;         // indices with a positive weight, best remainder first
  Int128 assigned = 0;
  for (size_t k = 0; k < n; ++k) {
    if (weights[k] <= 0) continue;
    const long double exact = static_cast<long double>(total) * weights[k] / sum;
    long double whole = std::floor(exact);
    whole = std::clamp(whole, 0.0L, static_cast<long double>(total));
    parts[k] = static_cast<int64_t>(whole);
    keys[k] = std::llround(std::clamp(exact - whole, 0.0L, 1.0L) * kTieQuantum);
    assigned += parts[k];
    order.push_back(k);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return keys[x] > keys[y]; });
  Int128 left = static_cast<Int128>(total) - assigned;
  // In exact arithmetic 0 <= left < order.size(); the loops also absorb rounding noise.
  for (size_t i = 0; left > 0; i = (i + 1) % order.size(), --left) ++parts[order[i]];
  for (size_t i = order.size() - 1; left < 0; i = (i + order.size() - 1) % order.size()) {
    if (parts[order[i]] > 0) {
      --parts[order[i]];
      ++left;
    }
  }
  return parts;
}

std::optional<Model> ModelFromName(std::string_view name) {
  for (Model m : {Model::kFirstTouch, Model::kLastTouch, Model::kLinear, Model::kTimeDecay,
                  Model::kPositionBased, Model::kMarkov}) {
    if (ModelName(m) == name) return m;
  }
  return std::nullopt;
}

std::string_view ModelName(Model model) {
  switch (model) {
    case Model::kFirstTouch: return "first_touch";
    case Model::kLastTouch: return "last_touch";
    case Model::kLinear: return "linear";
    case Model::kTimeDecay: return "time_decay";
    case Model::kPositionBased: return "position_based";
    case Model::kMarkov: return "markov";
  }
  return "unknown";
}

Result<AttributionResult> Attribute(Model model, const std::vector<Journey>& journeys,
                                    const AttributionOptions& opt) {
  CJD_RETURN_IF_ERROR(ValidateOptions(opt));
  CJD_RETURN_IF_ERROR(ValidateJourneys(journeys));

  AttributionResult result;
  result.journeys = static_cast<int64_t>(journeys.size());
  std::map<std::string, ChannelCredit> credit;
  int64_t touched_conversions = 0;
  for (const Journey& j : journeys) {
    for (const Touch& t : j.touches) credit.emplace(t.channel, ChannelCredit{t.channel, 0, 0});
    if (!j.converted) continue;
    ++result.conversions;
    if (j.touches.empty()) {
      result.unattributed_revenue_cents += j.revenue_cents;
      continue;
    }
    ++touched_conversions;
    result.total_revenue_cents += j.revenue_cents;
    if (model == Model::kMarkov) continue;
    const std::vector<double> w = RuleWeights(model, j, opt);
    const std::vector<int64_t> cents = SplitLargestRemainder(j.revenue_cents, w);
    if (cents.size() != w.size()) return Status::Internal("attribution weights do not split");
    const double sum = std::accumulate(w.begin(), w.end(), 0.0);
    for (size_t k = 0; k < w.size(); ++k) {
      ChannelCredit& c = credit.at(j.touches[k].channel);
      c.revenue_cents += cents[k];
      c.conversions += w[k] / sum;
    }
  }

  if (model == Model::kMarkov) {
    const MarkovGraph g = BuildGraph(journeys);
    const size_t n = g.channels.size();
    const double p = ConversionProbability(g, n);
    std::vector<double> effects(n, 0.0);
    double effect_sum = 0;
    for (size_t i = 0; i < n && p > 0; ++i) {
      double e = 1.0 - ConversionProbability(g, i) / p;
      e = std::clamp(e, 0.0, 1.0);
      if (e < kRemovalEffectFloor) e = 0;
      effects[i] = e;
      effect_sum += e;
    }
    for (size_t i = 0; i < n; ++i) result.removal_effects.emplace_back(g.channels[i], effects[i]);
    if (effect_sum > 0) {
      const std::vector<int64_t> cents = SplitLargestRemainder(result.total_revenue_cents, effects);
      if (cents.size() != n) return Status::Internal("removal effects do not split");
      for (size_t i = 0; i < n; ++i) {
        ChannelCredit& c = credit.at(g.channels[i]);
        c.revenue_cents = cents[i];
        c.conversions = static_cast<double>(touched_conversions) * effects[i] / effect_sum;
      }
    } else {
      result.unattributed_revenue_cents += result.total_revenue_cents;
      result.total_revenue_cents = 0;
    }
  }

  result.channels.reserve(credit.size());
  for (auto& [name, c] : credit) result.channels.push_back(std::move(c));
  return result;
}

}  // namespace cjd::hub::journeys
