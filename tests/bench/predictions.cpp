// cjd-bench predictions: fitting and scoring customers with the hub's prediction library
// (hub/predictions: BG/NBD, Gamma-Gamma, the inner-split correction), in-process, at several
// customer counts in the same run (default 10,000 and 1,000,000) to show how the cost grows.
//
// Data: for each count n, customers 1..n simulated from the models themselves (deterministic
// seed, so the first 10,000 of the 1,000,000 are the 10,000): over a window of 730 days ending
// at as_of, a first purchase on a day uniform in the first 548 (~18 months); while alive,
// purchases as a Poisson process at rate lambda ~ Gamma(r, alpha) per day; after each repeat
// purchase a dropout with probability p ~ Beta(a, b). Each purchase day's value ~ Gamma(p, nu)
// with the customer's nu ~ Gamma(q, v) (shape, rate; mean spend v p / (q - 1)), in whole cents
// >= 1. Times are continuous and floored to days; a second purchase on the same day is the same
// purchase day (one value), as the library counts them. Generation is timed and printed but is
// not part of any figure.
//
// Timed, `repeats` times per count, interleaved (so a change of load hits both alike):
//   correct   RunBacktest(customers, {as_of, 365 days, correct = true}): what the hub runs on a
//             refit (Summarise, both fits on the grouped customers, the inner split with its own
//             two fits and the Poisson correction, scoring every customer).
//   plain     the same with correct = false (one Summarise, two fits, scoring).
// Then once per count, the plain pass again step by step through the library's public functions
// (Summarise, GroupRfm, FitBgNbd, GroupSpend, FitGammaGamma, and the per-customer scoring
// ExpectedPurchases / ProbabilityNoPurchase / ProbabilityAlive / ExpectedAverageSpend), to show
// which part dominates; the scoring step alone is repeated `repeats` times (median).
//
// Everything runs on this one thread: the library has none of its own. `timeout_s` bounds the
// repeats: after it has passed no further repeat starts (each count still gets one run of each);
// a single library call cannot be cut short (Ctrl-C is honoured between calls).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "hub/predictions/backtest.h"
#include "hub/predictions/clv_models.h"
#include "tests/bench/benchmarks.h"
#include "tests/bench/common.h"

#ifndef CJD_BENCH_BUILD_TYPE
#define CJD_BENCH_BUILD_TYPE "unknown"
#endif

namespace cjd::bench {
namespace {

namespace pred = hub::predictions;

// The simulated population: BG/NBD as fitted on UCI Online Retail for r and alpha (days), a
// proper dropout process (the CDNOW fit's a, b), Gamma-Gamma near the Online Retail fit (cents).
struct Population {
  double r = 0.74, alpha = 62.0;  // lambda ~ Gamma(shape r, rate alpha), per day
  double a = 0.8, b = 2.4;        // p ~ Beta(a, b)
  double p = 3.0, q = 3.0, v = 29'000.0;  // value ~ Gamma(p, nu), nu ~ Gamma(q, rate v)
};

constexpr int32_t kWindowStart = 19'723;      // 2024-01-01, days since 1970-01-01
constexpr int32_t kWindowDays = 730;          // two years of history
constexpr int32_t kFirstPurchaseDays = 548;   // first purchases in the first ~18 months
constexpr int32_t kAsOf = kWindowStart + kWindowDays;
constexpr int32_t kHorizonDays = 365;
constexpr uint64_t kSeed = 20'261'124;

// Customers 1..n, deterministic for a given standard library (std::mt19937_64 is, the
// distributions are implementation-defined).
std::vector<pred::CustomerHistory> Simulate(int64_t n, const Population& m) {
  std::mt19937_64 rng(kSeed);
  using Gamma = std::gamma_distribution<double>;
  Gamma gamma;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto draw_gamma = [&](double shape, double rate) {
    return gamma(rng, Gamma::param_type(shape, 1.0 / rate));
  };
  std::vector<pred::CustomerHistory> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    pred::CustomerHistory& c = out[static_cast<size_t>(i)];
    c.customer_id = i + 1;
    const double lambda = draw_gamma(m.r, m.alpha);
    const double x1 = m.a > 0 ? draw_gamma(m.a, 1.0) : 0.0, x2 = draw_gamma(m.b, 1.0);
    const double dropout = x1 / (x1 + x2);  // Beta(a, b); 0 with a = 0 (no dropout)
    const double nu = draw_gamma(m.q, m.v);
    auto value = [&] {
      return std::max<int64_t>(1, std::llround(draw_gamma(m.p, nu)));
    };
    double t = kWindowStart + unit(rng) * kFirstPurchaseDays;
    c.days.push_back({static_cast<int32_t>(t), value()});
    if (!(lambda > 0)) continue;
    std::exponential_distribution<double> gap(lambda);
    while (true) {
      t += gap(rng);
      if (t >= kAsOf) break;
      const auto day = static_cast<int32_t>(t);
      if (day != c.days.back().day) c.days.push_back({day, value()});
      if (unit(rng) < dropout) break;
    }
  }
  return out;
}

// Peak resident memory of this process (VmHWM), MiB.
double PeakRssMib() { return static_cast<double>(ReadMem(getpid()).hwm_kb) / 1024.0; }

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string line;
  std::getline(in, line);
  return line.empty() ? "unknown" : line;
}

struct Run {
  double wall_s = 0, cpu_s = 0;
};

// One timed RunBacktest; throws on a library error (the data are valid, so that is a bug).
Run TimeBacktest(const std::vector<pred::CustomerHistory>& customers, bool correct,
                 pred::BacktestResult* keep) {
  pred::BacktestOptions options;
  options.as_of_day = kAsOf;
  options.horizon_days = kHorizonDays;
  options.correct = correct;
  const auto t0 = SteadyClock::now();
  const double c0 = SelfCpuSeconds();
  Result<pred::BacktestResult> r = pred::RunBacktest(customers, options);
  Run run{SecondsSince(t0), SelfCpuSeconds() - c0};
  if (!r.ok()) throw std::runtime_error("RunBacktest: " + r.status().ToString());
  *keep = std::move(*r);  // outside the timed part: its destruction is not timed either
  return run;
}

struct Stats {
  double median = 0, min = 0, max = 0, cpu_median = 0;
  int runs = 0;
};

Stats StatsOf(const std::vector<Run>& runs) {
  Stats s;
  std::vector<double> wall, cpu;
  for (const Run& r : runs) wall.push_back(r.wall_s), cpu.push_back(r.cpu_s);
  s.runs = static_cast<int>(runs.size());
  s.median = Median(wall);
  s.min = *std::min_element(wall.begin(), wall.end());
  s.max = *std::max_element(wall.begin(), wall.end());
  s.cpu_median = Median(cpu);
  return s;
}

void PrintStats(const char* name, const Stats& s, int64_t n) {
  Out("    %-8s median %8.3f s  (min %.3f, max %.3f, %d runs)  %8.2f us/customer  cpu %.3f s\n",
      name, s.median, s.min, s.max, s.runs, s.median / static_cast<double>(n) * 1e6,
      s.cpu_median);
}

void PrintFits(const pred::BacktestResult& r, const Population& m) {
  const pred::BgNbdFit& bg = r.bg_nbd;
  Out("    BG/NBD       %-10s r %.4f  alpha %.2f  a %.4f  b %.4f   (simulated %.2f, %.0f, %.2f, "
      "%.2f); %d iterations%s%s\n",
      pred::FitStateName(bg.state), bg.params.r, bg.params.alpha, bg.params.a, bg.params.b, m.r,
      m.alpha, m.a, m.b, bg.iterations, bg.degenerate_reason.empty() ? "" : "; ",
      bg.degenerate_reason.c_str());
  if (r.gamma_gamma) {
    const pred::GammaGammaFit& gg = *r.gamma_gamma;
    Out("    Gamma-Gamma  %-10s p %.4f  q %.4f  v %.0f        (simulated %.0f, %.0f, %.0f); "
        "%d iterations%s%s\n",
        pred::FitStateName(gg.state), gg.params.p, gg.params.q, gg.params.v, m.p, m.q, m.v,
        gg.iterations, gg.degenerate_reason.empty() ? "" : "; ", gg.degenerate_reason.c_str());
  } else {
    Out("    Gamma-Gamma  absent (no customer with a repeat purchase day)\n");
  }
  if (r.correction) {
    const pred::Correction& c = *r.correction;
    Out("    correction   inner as_of -%d days, %d customers, inner predicted / actual %.0f / "
        "%.0f, b = (%.4f, %.4f, %.4f)\n",
        c.inner_horizon_days, c.inner_customers, c.inner_predicted, c.inner_actual, c.b[0],
        c.b[1], c.b[2]);
  } else {
    Out("    correction   absent\n");
  }
  double expected = 0, clv = 0;
  for (const pred::CustomerScore& s : r.customers) {
    expected += s.expected_purchase_days;
    clv += s.predicted_clv_cents.value_or(0);
  }
  Out("    scores       %zu customers; next %d days: %.0f purchase days, %.0f (currency units) "
      "predicted\n",
      r.customers.size(), kHorizonDays, expected, clv / 100.0);
}

// The plain pass step by step, wall seconds.
struct Steps {
  double summarise_s = NAN, group_s = NAN, bg_nbd_s = NAN, gamma_gamma_s = NAN;
  double score_s = NAN;  // median over the scoring repeats
  size_t rfm_groups = 0, spend_groups = 0;
};

// The plain pass step by step through the public functions, to show where the time goes.
Steps Breakdown(const std::vector<pred::CustomerHistory>& customers, int repeats) {
  Steps st;
  auto t0 = SteadyClock::now();
  Result<std::vector<pred::CustomerSummary>> summaries = pred::Summarise(customers, kAsOf);
  if (!summaries.ok()) throw std::runtime_error("Summarise: " + summaries.status().ToString());
  st.summarise_s = SecondsSince(t0);
  CheckInterrupted();

  t0 = SteadyClock::now();
  std::vector<pred::RfmInput> rfm;
  std::vector<pred::SpendInput> spend;
  rfm.reserve(summaries->size());
  for (const pred::CustomerSummary& s : *summaries) {
    rfm.push_back({s.x, s.t_x, s.T, 1.0});
    if (s.x > 0) spend.push_back({s.x, s.zbar_cents, 1.0});
  }
  const std::vector<pred::RfmInput> rfm_groups = pred::GroupRfm(rfm);
  const std::vector<pred::SpendInput> spend_groups = pred::GroupSpend(spend);
  st.group_s = SecondsSince(t0);
  st.rfm_groups = rfm_groups.size();
  st.spend_groups = spend_groups.size();

  t0 = SteadyClock::now();
  Result<pred::BgNbdFit> bg = pred::FitBgNbd(rfm_groups);
  if (!bg.ok()) throw std::runtime_error("FitBgNbd: " + bg.status().ToString());
  st.bg_nbd_s = SecondsSince(t0);
  CheckInterrupted();

  t0 = SteadyClock::now();
  Result<pred::GammaGammaFit> gg = pred::FitGammaGamma(spend_groups);
  if (!gg.ok()) throw std::runtime_error("FitGammaGamma: " + gg.status().ToString());
  st.gamma_gamma_s = SecondsSince(t0);
  CheckInterrupted();

  // Scoring with the fitted parameters, as RunBacktest does per customer (without building its
  // result rows): BG/NBD's expectation and churn risk, P(alive), Gamma-Gamma's spend.
  std::vector<double> score_runs;
  double sink = 0;
  int not_finite = 0;
  for (int rep = 0; rep < repeats; ++rep) {
    t0 = SteadyClock::now();
    sink = 0;
    not_finite = 0;
    for (const pred::CustomerSummary& s : *summaries) {
      const double e = pred::ExpectedPurchases(bg->params, kHorizonDays, s.x, s.t_x, s.T);
      if (!std::isfinite(e)) ++not_finite;
      const double churn = pred::ProbabilityNoPurchase(bg->params, kHorizonDays, s.x, s.t_x, s.T);
      const double alive = pred::ProbabilityAlive(bg->params, s.x, s.t_x, s.T);
      const double spend_per_day =
          pred::ExpectedAverageSpend(gg->params, s.x, s.x > 0 ? s.zbar_cents : 1.0);
      sink += e * spend_per_day + churn + alive;
    }
    score_runs.push_back(SecondsSince(t0));
    CheckInterrupted();
  }
  st.score_s = Median(score_runs);
  const double n = static_cast<double>(summaries->size());
  // The fits' cost is (Nelder-Mead iterations) x (groups) x (one or two objective evaluations
  // per iteration): the ns per group and iteration show whether a change came from the count
  // of groups or of iterations.
  auto ns_per = [](double s, size_t groups, int iterations) {
    return s / static_cast<double>(std::max<size_t>(groups, 1)) / std::max(iterations, 1) * 1e9;
  };
  Out("    plain pass by step (one run; scoring: median of %d):\n", repeats);
  Out("      Summarise                      %8.3f s  %8.2f us/customer\n", st.summarise_s,
      st.summarise_s / n * 1e6);
  Out("      GroupRfm + GroupSpend          %8.3f s  %zu RFM groups (of %zu customers), %zu "
      "spend groups (of %zu with a repeat day)\n",
      st.group_s, st.rfm_groups, rfm.size(), st.spend_groups, spend.size());
  Out("      FitBgNbd                       %8.3f s  %d iterations, %.1f ns per group and "
      "iteration\n",
      st.bg_nbd_s, bg->iterations, ns_per(st.bg_nbd_s, st.rfm_groups, bg->iterations));
  Out("      FitGammaGamma                  %8.3f s  %d iterations, %.1f ns per group and "
      "iteration\n",
      st.gamma_gamma_s, gg->iterations,
      ns_per(st.gamma_gamma_s, st.spend_groups, gg->iterations));
  Out("      scoring every customer         %8.3f s  %8.2f us/customer (check sum %.6g; %d "
      "expectations not finite)\n",
      st.score_s, st.score_s / n * 1e6, sink, not_finite);
  return st;
}

struct SizeResult {
  int64_t n = 0;
  Stats correct, plain;
  Steps steps;
};

}  // namespace

void RunPredictions(const PredictionsOptions& o) {
  if (o.customers.empty()) throw std::runtime_error("predictions: no customer count given");
  if (o.repeats < 1) throw std::runtime_error("predictions: --repeats must be >= 1");
  Population m;
  // Nobody drops out (p = 0 for everyone): BG/NBD's maximum-likelihood answer runs to the edge of
  // the parameter space, as on UCI Online Retail. The fits' worst case.
  if (o.no_dropout) m.a = 0;
  const auto start = SteadyClock::now();
  const auto past_deadline = [&] { return SecondsSince(start) > o.timeout_s; };

  Out("\npredictions: RunBacktest (hub/predictions) over simulated customers, in-process\n");
  Out("  build type:   %s\n", CJD_BENCH_BUILD_TYPE);
  Out("  cpus:         %u online (sysconf %ld)\n", std::thread::hardware_concurrency(),
      sysconf(_SC_NPROCESSORS_ONLN));
  Out("  load before:  %s (/proc/loadavg); %s\n", LoadAverage().c_str(), LoadNow().c_str());
  Out("  threads:      one: the fits and the scoring run on this thread (the library starts "
      "none)\n");
  Out("  data:         BG/NBD r %.2f, alpha %.0f days, a %.2f, b %.2f; Gamma-Gamma p %.0f, q "
      "%.0f, v %.0f cents (mean %.0f cents per purchase day); first purchase in the first %d of "
      "%d days, as_of = the window's end, horizon %d days; seed %" PRIu64 "\n",
      m.r, m.alpha, m.a, m.b, m.p, m.q, m.v, m.v * m.p / (m.q - 1), kFirstPurchaseDays,
      kWindowDays, kHorizonDays, kSeed);
  Out("  runs:         %d per count and kind, interleaved (correct, plain); medians; timeout "
      "%.0f s on the repeats\n",
      o.repeats, o.timeout_s);

  std::vector<SizeResult> results;
  for (const int64_t n : o.customers) {
    CheckInterrupted();
    SizeResult sr;
    sr.n = n;
    Out("\n  %" PRId64 " customers\n", n);
    auto t0 = SteadyClock::now();
    std::vector<pred::CustomerHistory> customers = Simulate(n, m);
    size_t days = 0;
    for (const auto& c : customers) days += c.days.size();
    Out("    generated    %zu purchase days (%.2f per customer) in %.2f s (not timed); peak RSS "
        "%.0f MiB\n",
        days, static_cast<double>(days) / static_cast<double>(n), SecondsSince(t0), PeakRssMib());

    std::vector<Run> correct_runs, plain_runs;
    pred::BacktestResult correct_result, plain_result;
    for (int rep = 0; rep < o.repeats; ++rep) {
      if (rep > 0 && past_deadline()) {
        Out("    timeout: %.0f s passed, %d of %d repeats run (CUT SHORT)\n", o.timeout_s, rep,
            o.repeats);
        break;
      }
      CheckInterrupted();
      correct_runs.push_back(TimeBacktest(customers, true, &correct_result));
      CheckInterrupted();
      plain_runs.push_back(TimeBacktest(customers, false, &plain_result));
      Out("    run %d        correct %.3f s, plain %.3f s; %s\n", rep + 1,
          correct_runs.back().wall_s, plain_runs.back().wall_s, LoadNow().c_str());
    }
    sr.correct = StatsOf(correct_runs);
    sr.plain = StatsOf(plain_runs);
    PrintStats("correct", sr.correct, n);
    PrintStats("plain", sr.plain, n);
    PrintFits(correct_result, m);
    correct_result = {};  // release the scores before the breakdown
    plain_result = {};
    CheckInterrupted();
    sr.steps = Breakdown(customers, past_deadline() ? 1 : o.repeats);
    Out("    peak RSS     %.0f MiB (VmHWM, this process so far)\n", PeakRssMib());
    results.push_back(sr);
  }

  Out("\n  summary (median wall s; us per customer; fits and scoring from the plain pass by "
      "step)\n");
  Out("    %10s %10s %8s %10s %8s %10s %10s %10s %10s\n", "customers", "correct s", "us/cust",
      "plain s", "us/cust", "fits s", "scoring s", "RFM grps", "spend grps");
  for (const SizeResult& r : results) {
    const double n = static_cast<double>(r.n);
    Out("    %10" PRId64 " %10.3f %8.2f %10.3f %8.2f %10.3f %10.4f %10zu %10zu\n", r.n,
        r.correct.median, r.correct.median / n * 1e6, r.plain.median, r.plain.median / n * 1e6,
        r.steps.bg_nbd_s + r.steps.gamma_gamma_s, r.steps.score_s, r.steps.rfm_groups,
        r.steps.spend_groups);
  }
  if (results.size() >= 2) {
    const SizeResult& lo = results.front();
    const SizeResult& hi = results.back();
    auto per = [](double s, int64_t n) { return s / static_cast<double>(n); };
    Out("    time per customer, %" PRId64 " / %" PRId64 ": correct %.2fx, plain %.2fx, scoring "
        "%.2fx (1.00x = linear growth)\n",
        hi.n, lo.n, per(hi.correct.median, hi.n) / per(lo.correct.median, lo.n),
        per(hi.plain.median, hi.n) / per(lo.plain.median, lo.n),
        per(hi.steps.score_s, hi.n) / per(lo.steps.score_s, lo.n));
  }
  bool aimed = false;
  for (const SizeResult& r : results) {
    if (r.n != 1'000'000) continue;
    aimed = true;
    Out("  aim (issue): fit and score 1,000,000 customers in under 5 s: median %.3f s with the "
        "correction -> %s here\n",
        r.correct.median, r.correct.median < 5.0 ? "met" : "NOT met");
  }
  if (!aimed) Out("  aim (issue): 1,000,000 customers under 5 s: not measured in this run\n");
  Out("  load after: %s (/proc/loadavg); total %.1f s\n", LoadAverage().c_str(), SecondsSince(start));
}

}  // namespace cjd::bench
