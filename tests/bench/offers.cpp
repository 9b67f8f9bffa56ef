// cjd-bench offers: the kiosk's offer path on a real cjd-agent.
//   1. cache fill: sealed offer updates for a store's N known customers published to the agent's
//      down topic (as the hub will), until its status reports the last version; time, offers.db
//      size, agent memory before and after;
//   2. kiosk lookups: open-loop GET /v1/offers?loyalty_id=... at a fixed rate, latency from the
//      scheduled send time, next to GET /healthz at the same rate and OfferCache::Lookup
//      in-process;
//   3. an offer created on the hub (POST /v1/offers) until the kiosk serves it (skipped while the
//      hub has no such endpoint).
#include <malloc.h>
#include <mqtt/async_client.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <stdexcept>
#include <thread>

#include "agent/offers/offer_cache.h"
#include "shared/core/clock.h"
#include "shared/event/event.h"
#include "shared/protocol/keys.h"
#include "shared/protocol/offer_update.h"
#include "shared/protocol/topics.h"
#include "tests/bench/benchmarks.h"
#include "tests/bench/common.h"
#include "tests/bench/stack.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace cjd::bench {
namespace {

namespace fs = std::filesystem;
using testing::HttpClient;

constexpr int64_t kDayMs = 86'400'000;

double MsOf(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string KnownId(int64_t i) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "L-%08" PRId64, i);
  return buf;
}
std::string UnknownId(int64_t i) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "U-%08" PRId64, i);
  return buf;
}
std::string OfferId(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "o-%03d", i);
  return buf;
}

// ---- the offer data -----------------------------------------------------------------------------

// The store's state as the hub would send it: `offers` offers valid from yesterday for 30 days,
// a general list of 5, and for every known customer 3-8 distinct ranked offers; split into
// updates of at most `per_update` assignments (the offers and the general list ride in the first).
// Versions: updates (first_version - 1, first_version], (first_version, first_version + 1], ...,
// every item version `item_version`. Deterministic.
std::vector<OfferUpdate> MakeUpdates(const OffersOptions& o, uint64_t first_version,
                                     uint64_t item_version, int64_t now_ms) {
  std::mt19937_64 rng(42);
  std::vector<OfferRecord> offers;
  for (int i = 0; i < o.offers; ++i) {
    OfferRecord r;
    r.id = OfferId(i);
    r.title = std::to_string(5 + i % 30) + "% off " +
              std::vector<std::string>{"coffee", "candles", "pasta", "wine", "shampoo", "bread",
                                       "chocolate", "detergent"}[i % 8];
    r.text = "Show this screen at the till. One per visit, while stocks last. Offer " + r.id + ".";
    r.valid_from = FormatRfc3339(now_ms - kDayMs);
    r.valid_until = FormatRfc3339(now_ms + 30 * kDayMs);
    r.priority = i % 10;
    r.requires_consent = (i % 10 == 9);
    r.version = item_version;
    offers.push_back(std::move(r));
  }
  std::vector<OfferUpdate> updates;
  std::uniform_int_distribution<int> count(3, 8);
  std::uniform_int_distribution<int> pick(0, o.offers - 1);
  int64_t next = 0;
  do {
    OfferUpdate u;
    u.version = first_version + updates.size();
    u.base = u.version - 1;  // (V-1, V]: contiguous after the probe (0, first_version - 1]
    if (updates.empty()) {
      u.offers = std::move(offers);
      GeneralOffers g;
      for (int i = 0; i < 5 && i < o.offers; ++i) g.offers.push_back(OfferId(i * 7 % o.offers));
      g.version = item_version;
      u.general = std::move(g);
    }
    const int64_t end = std::min(o.customers, next + o.per_update);
    u.assignments.reserve(static_cast<size_t>(end - next));
    for (; next < end; ++next) {
      OfferAssignment a;
      a.loyalty_id = KnownId(next);
      const int n = count(rng);
      while (static_cast<int>(a.offers.size()) < n) {
        std::string id = OfferId(pick(rng));
        if (std::find(a.offers.begin(), a.offers.end(), id) == a.offers.end()) {
          a.offers.push_back(std::move(id));
        }
      }
      a.version = item_version;
      u.assignments.push_back(std::move(a));
    }
    updates.push_back(std::move(u));
  } while (next < o.customers);
  return updates;
}

// ---- device keys and the down topic --------------------------------------------------------------

SessionKeys KeysOf(const fs::path& agent_config) {
  if (!InitCrypto().ok()) throw std::runtime_error("libsodium did not start");
  const std::string text = testing::ReadFile(agent_config);
  auto value = [&](const std::string& key) {
    std::smatch m;
    const std::regex re("\n" + key + " = \"?([^\"\n]*)\"?");
    if (!std::regex_search(text, m, re)) {
      throw std::runtime_error("no " + key + " in " + agent_config.string());
    }
    return m[1].str();
  };
  auto key = [&](const std::string& name) {
    auto k = KeyFromBase64(value(name), name);
    if (!k.ok()) throw std::runtime_error(k.status().ToString());
    return *k;
  };
  KeyPair device{key("device_public_key"), key("device_secret_key")};
  auto keys = DeviceSessionKeys(device, key("hub_public_key"),
                                static_cast<uint32_t>(std::stoul(value("key_id"))));
  if (!keys.ok()) throw std::runtime_error(keys.status().ToString());
  return *keys;
}

// Publishes sealed frames to one device's down topic, QoS 1, each waiting for the broker's ack.
class DownPublisher {
 public:
  DownPublisher(const std::string& uri, std::string device_id)
      : client_(uri, "bench-offers-publisher", mqtt::create_options(MQTTVERSION_3_1_1), nullptr),
        topic_(topics::Down(device_id)) {
    auto options = mqtt::connect_options_builder()
                       .clean_session(true)
                       .keep_alive_interval(std::chrono::seconds(30))
                       .connect_timeout(std::chrono::seconds(10))
                       .automatic_reconnect(false)
                       .finalize();
    if (!client_.connect(options)->wait_for(std::chrono::seconds(15)) ||
        !client_.is_connected()) {
      throw std::runtime_error("cannot connect to the broker at " + uri);
    }
  }
  ~DownPublisher() {
    try {
      if (client_.is_connected()) client_.disconnect()->wait_for(std::chrono::seconds(5));
    } catch (const mqtt::exception&) {
    }
  }
  DownPublisher(const DownPublisher&) = delete;
  DownPublisher& operator=(const DownPublisher&) = delete;

  void Publish(const std::string& frame) {
    auto tok = client_.publish(topic_, frame.data(), frame.size(), 1, false);
    if (!tok->wait_for(std::chrono::seconds(60))) {
      throw std::runtime_error("publish to " + topic_ + " not acknowledged within 60 s");
    }
  }

 private:
  mqtt::async_client client_;
  std::string topic_;
};

int64_t StatusInt(CjdStack& stack, const char* key) {
  const nlohmann::json s = stack.AgentStatus();
  return s.is_object() && s.contains(key) && s[key].is_number() ? s[key].get<int64_t>() : -1;
}

int64_t FileSize(const fs::path& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

fs::path FindOffersDb(const fs::path& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 10 && name.compare(name.size() - 10, 10, ".offers.db") == 0) return e.path();
  }
  return {};
}

std::string MiB(int64_t kb) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(kb) / 1024.0);
  return buf;
}

// ---- 1. in-process baseline: OfferCache::Apply and Lookup ----------------------------------------

struct InProcess {
  double decode_s = 0;     // DecodeOfferUpdate of every update (JSON text -> OfferUpdate)
  double apply_s = 0;
  int64_t cache_anon_kb = 0;  // RssAnon growth of this process from Apply, after malloc_trim
  double lookup_ns = NAN;  // median over the batches
  int64_t lookups = 0;
  double mean_served = 0;
};

InProcess RunInProcess(const OffersOptions& o, const std::vector<OfferUpdate>& updates,
                       int64_t now_ms) {
  InProcess r;
  testing::TempDir dir("cjd-bench-offers-cache-");
  auto cache = agent::OfferCache::Open(dir.Join("offers.db").string(),
                                       agent::OfferCache::LookupKey(NewKeyPair().secret_key));
  if (!cache.ok()) throw std::runtime_error(cache.status().ToString());
  // Through the codec as the agent receives them (the decoder fills valid_*_ms).
  {
    OfferUpdate probe;  // (0, 1], as the agent gets first
    probe.version = 1;
    if (!(*cache)->Apply(probe).ok()) throw std::runtime_error("Apply of the probe failed");
  }
  // The cache's memory: RssAnon from here (heap trimmed) to after Apply, with the texts and the
  // decoded updates freed and the heap trimmed again.
  malloc_trim(0);
  const int64_t anon0 = ReadMem(getpid()).anon_kb;
  std::vector<std::string> texts;
  for (const auto& u : updates) texts.push_back(EncodeOfferUpdate(u));
  std::vector<OfferUpdate> decoded;
  const auto d0 = SteadyClock::now();
  for (const auto& t : texts) {
    auto d = DecodeOfferUpdate(t);
    if (!d.ok()) throw std::runtime_error("DecodeOfferUpdate: " + d.status().ToString());
    decoded.push_back(std::move(*d));
  }
  r.decode_s = SecondsSince(d0);
  texts.clear();
  texts.shrink_to_fit();
  const auto t0 = SteadyClock::now();
  for (const auto& u : decoded) {
    auto applied = (*cache)->Apply(u);
    if (!applied.ok()) throw std::runtime_error("Apply: " + applied.status().ToString());
  }
  r.apply_s = SecondsSince(t0);
  decoded.clear();
  decoded.shrink_to_fit();
  malloc_trim(0);  // what stays is the cache: its mirror and SQLite's page cache
  r.cache_anon_kb = ReadMem(getpid()).anon_kb - anon0;
  // Ids drawn in advance (20 % unknown), cycled, so the loop times Lookup only.
  std::mt19937_64 rng(7);
  std::vector<std::string> ids(1 << 16);
  for (auto& id : ids) {
    const bool unknown = static_cast<double>(rng() % 10'000) < o.unknown_share * 10'000;
    id = unknown ? UnknownId(static_cast<int64_t>(rng() % o.customers))
                        : KnownId(static_cast<int64_t>(rng() % o.customers));
  }
  constexpr int64_t kBatches = 10;
  const int64_t per_batch = std::max<int64_t>(1, o.lookups / kBatches);
  std::vector<double> ns;
  size_t served = 0;
  size_t k = 0;
  for (int64_t b = 0; b < kBatches; ++b) {
    CheckInterrupted();
    const auto start = SteadyClock::now();
    for (int64_t i = 0; i < per_batch; ++i) {
      served += (*cache)->Lookup(ids[k++ & (ids.size() - 1)], now_ms).size();
    }
    ns.push_back(std::chrono::duration<double, std::nano>(SteadyClock::now() - start).count() /
                 static_cast<double>(per_batch));
  }
  r.lookups = per_batch * kBatches;
  r.lookup_ns = Median(ns);
  r.mean_served = static_cast<double>(served) / static_cast<double>(r.lookups);
  return r;
}

// ---- 2. open-loop HTTP load --------------------------------------------------------------------

struct LoadRun {
  int64_t scheduled = 0, completed = 0, errors = 0, not_sent = 0, empty = 0;
  double p50 = NAN, p90 = NAN, p99 = NAN, p999 = NAN, max = NAN;
  double rate = NAN;      // completed / (first scheduled -> last completion)
  double agent_cpu_s = 0, bench_cpu_s = 0, hub_cpu_s = 0, broker_cpu_s = 0;
};

// `rate` requests/s for `duration_s` over `connections` keep-alive connections. Request i is
// scheduled at t0 + i / rate and goes to connection i % connections; its latency is measured
// from that scheduled time, so a slow answer delays (and is charged to) the requests queued
// behind it on its connection: no coordinated omission. Requests still unsent `grace_s` after
// the last scheduled time are counted as not sent.
LoadRun OpenLoop(uint16_t port, const std::string& token, bool offers, const OffersOptions& o,
                 uint64_t seed, CjdStack& stack) {
  const pid_t agent_pid = stack.agent_pid();
  LoadRun r;
  const int64_t total = static_cast<int64_t>(o.rate * o.duration_s);
  r.scheduled = total;
  const auto period = std::chrono::duration<double>(1.0 / o.rate);
  const double grace_s = 10;
  std::vector<std::vector<double>> lat(static_cast<size_t>(o.connections));
  std::vector<int64_t> errors(o.connections, 0), not_sent(o.connections, 0), empty(o.connections, 0);
  std::vector<SteadyClock::time_point> last_done(o.connections);
  // Targets drawn before the clock starts.
  std::vector<std::string> targets(static_cast<size_t>(total));
  std::mt19937_64 rng(seed);
  for (auto& t : targets) {
    if (!offers) {
      t = "/healthz";
    } else {
      const bool unknown = static_cast<double>(rng() % 10'000) < o.unknown_share * 10'000;
      t = "/v1/offers?loyalty_id=" +
          (unknown ? UnknownId(static_cast<int64_t>(rng() % o.customers))
                   : KnownId(static_cast<int64_t>(rng() % o.customers)));
    }
  }
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int c = 0; c < o.connections; ++c) {
    clients.push_back(std::make_unique<HttpClient>(port, std::chrono::seconds(10)));
    if (clients.back()->Get("/healthz").status != 200) {  // opens the connection
      throw std::runtime_error("agent /healthz did not answer before the load");
    }
  }
  const double cpu0 = CpuSeconds(agent_pid);
  const double hub0 = CpuSeconds(stack.hub_pid());
  const double broker0 = CpuSeconds(stack.broker_pid());
  const double self0 = SelfCpuSeconds();
  const auto t0 = SteadyClock::now() + std::chrono::milliseconds(50);
  const auto give_up = t0 + std::chrono::duration_cast<SteadyClock::duration>(
                                period * static_cast<double>(total) +
                                std::chrono::duration<double>(grace_s));
  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      auto& mine = lat[static_cast<size_t>(c)];
      mine.reserve(static_cast<size_t>(total / o.connections + 1));
      HttpClient& client = *clients[static_cast<size_t>(c)];
      for (int64_t i = c; i < total; i += o.connections) {
        const auto sched =
            t0 + std::chrono::duration_cast<SteadyClock::duration>(period * static_cast<double>(i));
        if (InterruptRequested() || SteadyClock::now() > give_up) {
          not_sent[c] += (total - i + o.connections - 1) / o.connections;
          break;
        }
        std::this_thread::sleep_until(sched);
        const auto resp = client.Get(targets[static_cast<size_t>(i)], offers ? token : "");
        const auto done = SteadyClock::now();
        last_done[c] = done;
        if (resp.status != 200) {
          ++errors[c];
          continue;
        }
        if (offers && resp.body.find("\"id\"") == std::string::npos) ++empty[c];
        mine.push_back(MsOf(done - sched));
      }
    });
  }
  for (auto& t : threads) t.join();
  CheckInterrupted();
  r.agent_cpu_s = CpuSeconds(agent_pid) - cpu0;
  r.bench_cpu_s = SelfCpuSeconds() - self0;
  r.hub_cpu_s = CpuSeconds(stack.hub_pid()) - hub0;  // the impressions' ingest
  r.broker_cpu_s = CpuSeconds(stack.broker_pid()) - broker0;
  std::vector<double> all;
  SteadyClock::time_point end = t0;
  for (int c = 0; c < o.connections; ++c) {
    all.insert(all.end(), lat[c].begin(), lat[c].end());
    r.errors += errors[c];
    r.not_sent += not_sent[c];
    r.empty += empty[c];
    end = std::max(end, last_done[c]);
  }
  std::sort(all.begin(), all.end());
  r.completed = static_cast<int64_t>(all.size());
  r.p50 = Percentile(all, 0.50);
  r.p90 = Percentile(all, 0.90);
  r.p99 = Percentile(all, 0.99);
  r.p999 = Percentile(all, 0.999);
  r.max = all.empty() ? NAN : all.back();
  const double span = std::chrono::duration<double>(end - t0).count();
  r.rate = span > 0 ? static_cast<double>(r.completed) / span : NAN;
  return r;
}

void PrintLoadRun(const char* what, int run, const LoadRun& r) {
  Out("    run %d %-8s: %lld/%lld ok, %lld errors, %lld not sent, %.0f req/s; ms p50 %.3f p90 %.3f "
      "p99 %.3f p99.9 %.3f max %.3f; CPU s: agent %.2f, hub %.2f, broker %.2f, bench %.2f%s\n",
      run, what, static_cast<long long>(r.completed), static_cast<long long>(r.scheduled),
      static_cast<long long>(r.errors), static_cast<long long>(r.not_sent), r.rate, r.p50, r.p90,
      r.p99, r.p999, r.max, r.agent_cpu_s, r.hub_cpu_s, r.broker_cpu_s, r.bench_cpu_s,
      r.empty > 0 ? (" (" + std::to_string(r.empty) + " answers without offers)").c_str() : "");
}

// Per column median over the runs.
LoadRun MedianOf(const std::vector<LoadRun>& runs) {
  auto med = [&](auto field) {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(static_cast<double>(r.*field));
    return Median(v);
  };
  LoadRun m;
  m.scheduled = static_cast<int64_t>(med(&LoadRun::scheduled));
  m.completed = static_cast<int64_t>(med(&LoadRun::completed));
  m.errors = static_cast<int64_t>(med(&LoadRun::errors));
  m.not_sent = static_cast<int64_t>(med(&LoadRun::not_sent));
  m.p50 = med(&LoadRun::p50);
  m.p90 = med(&LoadRun::p90);
  m.p99 = med(&LoadRun::p99);
  m.p999 = med(&LoadRun::p999);
  m.max = med(&LoadRun::max);
  m.rate = med(&LoadRun::rate);
  m.agent_cpu_s = med(&LoadRun::agent_cpu_s);
  m.bench_cpu_s = med(&LoadRun::bench_cpu_s);
  m.hub_cpu_s = med(&LoadRun::hub_cpu_s);
  m.broker_cpu_s = med(&LoadRun::broker_cpu_s);
  return m;
}

// ---- 3. hub offer change -> kiosk ---------------------------------------------------------------

void RunHubToKiosk(const OffersOptions& o) {
  Out("\n[3] offer change on the hub -> served at the kiosk (%d changes)\n  %s\n", o.changes,
      LoadNow().c_str());
  StackOptions so;
  so.device_kind = "kiosk";
  CjdStack stack(so);
  stack.StartAll();
  Out("  stack: mosquitto :%u, cjd-hub :%u, cjd-agent %s (kiosk, store %s) :%u\n",
      stack.broker().port(), stack.hub_port(), stack.device_id().c_str(), CjdStack::kStoreId,
      stack.agent_port());
  HttpClient hub(stack.hub_port(), std::chrono::seconds(10));
  HttpClient kiosk(stack.agent_port(), std::chrono::seconds(10));
  const int64_t now_ms = Clock::Real()->NowMillis();
  const std::string nonce = std::to_string(now_ms % 1'000'000);
  std::vector<double> seen_ms, post_ms;
  int timeouts = 0;
  for (int i = 0; i < o.changes; ++i) {
    CheckInterrupted();
    char id[32];
    std::snprintf(id, sizeof id, "bench-chg-%02d", i);
    const std::string title = "Bench change " + std::to_string(i) + " #" + nonce;
    nlohmann::json body = {{"id", id},
                           {"title", title},
                           {"text", "Measured by cjd-bench offers"},
                           {"segment", "all"},
                           {"stores", nlohmann::json::array()},
                           {"valid_from", FormatRfc3339(now_ms - kDayMs)},
                           {"valid_until", FormatRfc3339(now_ms + kDayMs)},
                           {"priority", 1000 + i},
                           {"max_per_customer", 0},
                           {"requires_consent", false}};
    const auto t0 = SteadyClock::now();
    const auto resp = hub.Post("/v1/offers", body.dump(), stack.hub_token());
    const auto posted = SteadyClock::now();
    if (resp.status == 404 || resp.status == 405) {
      Out("  skipped: hub has no /v1/offers yet (POST answered %d: %s)\n", resp.status,
          resp.body.substr(0, 200).c_str());
      return;
    }
    if (resp.status < 200 || resp.status >= 300) {
      Out("  skipped: POST /v1/offers answered %d: %s\n", resp.status,
          resp.body.substr(0, 300).c_str());
      return;
    }
    post_ms.push_back(MsOf(posted - t0));
    // Poll the kiosk as an unknown customer (general list) every 5 ms until the title appears.
    bool seen = false;
    const auto deadline = t0 + std::chrono::duration_cast<SteadyClock::duration>(
                                   std::chrono::duration<double>(o.change_timeout_s));
    while (!seen && SteadyClock::now() < deadline) {
      CheckInterrupted();
      const auto r = kiosk.Get("/v1/offers?loyalty_id=unknown-bench-id", stack.agent_token());
      if (r.status == 200 && r.body.find(title) != std::string::npos) {
        seen_ms.push_back(MsOf(SteadyClock::now() - t0));
        seen = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!seen) {
      ++timeouts;
      Out("  change %d: not served within %.0f s\n", i, o.change_timeout_s);
    }
  }
  std::sort(seen_ms.begin(), seen_ms.end());
  std::sort(post_ms.begin(), post_ms.end());
  Out("  POST /v1/offers answered in ms: median %.1f, p90 %.1f, max %.1f\n", Median(post_ms),
      Percentile(post_ms, 0.9), post_ms.empty() ? NAN : post_ms.back());
  Out("  POST sent -> new title served by the kiosk (polled every 5 ms), %zu of %d: median %.1f "
      "ms, p90 %.1f ms, max %.1f ms; %d not served within %.0f s\n",
      seen_ms.size(), o.changes, Median(seen_ms), Percentile(seen_ms, 0.9),
      seen_ms.empty() ? NAN : seen_ms.back(), timeouts, o.change_timeout_s);
  Out("  %s\n", LoadNow().c_str());
}

// 1 and 2 on one stack (stopped when this returns).
void RunFillAndLookups(const OffersOptions& o) {
  if (o.customers < 1 || o.offers < 8 || o.per_update < 1 || o.rate <= 0 || o.connections < 1) {
    throw std::runtime_error("offers: bad options");
  }
  Out("\n=== cjd-bench offers: %lld customers, %d offers, lookups at %.0f/s for %.0f s over %d "
      "connections (%.0f %% unknown ids), %d runs ===\n",
      static_cast<long long>(o.customers), o.offers, o.rate, o.duration_s, o.connections,
      o.unknown_share * 100, o.runs);
  const int64_t now_ms = Clock::Real()->NowMillis();
  // Version 1 is an empty probe update (it proves the agent is subscribed); the data follow.
  // Item versions far above anything the hub writes: the hub's planner runs too and sends the
  // device its own (empty) state for the store, which then never replaces the published items.
  constexpr uint64_t kItemVersion = 1'000'000'000;
  const std::vector<OfferUpdate> updates = MakeUpdates(o, 2, kItemVersion, now_ms);
  int64_t assignment_offers = 0;
  for (const auto& u : updates) {
    for (const auto& a : u.assignments) assignment_offers += static_cast<int64_t>(a.offers.size());
  }

  // ---- baseline: in-process -----------------------------------------------------------------
  Out("\n[baseline] OfferCache in this process (cjd_agent_lib), fresh SQLite file in the temp dir\n"
      "  %s\n", LoadNow().c_str());
  const InProcess base = RunInProcess(o, updates, now_ms);
  Out("  DecodeOfferUpdate of the %zu updates: %.2f s; OfferCache::Apply of them: %.2f s\n",
      updates.size(), base.decode_s, base.apply_s);
  Out("  the filled cache holds %s of this process's RssAnon (after malloc_trim): %.0f bytes per "
      "customer\n",
      MiB(base.cache_anon_kb).c_str(),
      static_cast<double>(base.cache_anon_kb) * 1024.0 / static_cast<double>(o.customers));
  Out("  Lookup: median %.0f ns per lookup (%lld lookups in 10 batches, %.0f %% unknown ids, "
      "%.2f offers served on average)\n",
      base.lookup_ns, static_cast<long long>(base.lookups), o.unknown_share * 100,
      base.mean_served);

  // ---- 1. cache fill ---------------------------------------------------------------------------
  Out("\n[1] cache fill through the broker into a real cjd-agent (kiosk)\n  %s\n",
      LoadNow().c_str());
  StackOptions so;
  so.device_kind = "kiosk";
  CjdStack stack(so);
  stack.StartAll();
  Out("  stack: mosquitto :%u, cjd-hub :%u, cjd-agent %s (kiosk, store %s) :%u (pid %d), dir %s\n",
      stack.broker().port(), stack.hub_port(), stack.device_id().c_str(), CjdStack::kStoreId,
      stack.agent_port(), stack.agent_pid(), stack.dir().c_str());
  const SessionKeys keys = KeysOf(stack.agent_config());
  DownPublisher pub(stack.broker().Uri(), stack.device_id());
  {
    OfferUpdate probe;
    probe.version = 1;
    const std::string frame = SealOfferUpdate(probe, stack.device_id(), keys.downlink, keys.key_id);
    bool ok = false;
    for (int i = 0; i < 15 && !ok; ++i) {  // the agent may not have subscribed yet: repeat
      pub.Publish(frame);
      ok = testing::WaitUntil(
          [&] {
            CheckInterrupted();
            return StatusInt(stack, "offers_version") >= 1;
          },
          std::chrono::seconds(2), std::chrono::milliseconds(10));
    }
    if (!ok) throw std::runtime_error("the agent never applied the probe update\n" +
                                      stack.Diagnostics());
  }
  SleepFor(std::chrono::seconds(2));
  const MemFigures mem_before = ReadMem(stack.agent_pid());
  const fs::path db = FindOffersDb(stack.dir());
  const int64_t db_before = FileSize(db), wal_before = FileSize(db.string() + "-wal");

  std::vector<std::string> frames;
  size_t plain_total = 0, sealed_total = 0;
  for (const auto& u : updates) {
    plain_total += EncodeOfferUpdate(u).size();
    frames.push_back(SealOfferUpdate(u, stack.device_id(), keys.downlink, keys.key_id));
    sealed_total += frames.back().size();
  }
  Out("  %zu updates (versions %llu..%llu): %d offers, %lld assignments (%lld offer slots, "
      "%.2f per customer), JSON %.1f MiB, sealed %.1f MiB\n",
      updates.size(), static_cast<unsigned long long>(updates.front().version),
      static_cast<unsigned long long>(updates.back().version), o.offers,
      static_cast<long long>(o.customers), static_cast<long long>(assignment_offers),
      static_cast<double>(assignment_offers) / static_cast<double>(o.customers),
      static_cast<double>(plain_total) / 1048576.0, static_cast<double>(sealed_total) / 1048576.0);
  // Done when every update was applied and every customer is held (offers_version alone could
  // be moved by the hub's own updates).
  const int64_t applied0 = StatusInt(stack, "offer_updates_applied");
  const int64_t want_applied = applied0 + static_cast<int64_t>(updates.size());
  MemSampler sampler(stack.agent_pid());
  const double cpu0 = CpuSeconds(stack.agent_pid());
  const auto t0 = SteadyClock::now();
  for (const auto& f : frames) pub.Publish(f);
  const double published_s = SecondsSince(t0);
  const auto last = static_cast<int64_t>(updates.back().version);
  const bool filled = testing::WaitUntil(
      [&] {
        CheckInterrupted();
        const nlohmann::json s = stack.AgentStatus();
        return s.is_object() && s.value("offer_updates_applied", int64_t{-1}) >= want_applied &&
               s.value("offer_assignments", int64_t{-1}) >= o.customers &&
               s.value("offers_version", int64_t{-1}) >= last;
      },
      std::chrono::milliseconds(static_cast<int64_t>(o.fill_timeout_s * 1000)),
      std::chrono::milliseconds(10));
  const double fill_s = SecondsSince(t0);
  const double fill_cpu = CpuSeconds(stack.agent_pid()) - cpu0;
  sampler.Stop();
  if (!filled) {
    throw std::runtime_error("the updates were not all applied (offers_version " +
                             std::to_string(last) + ") in " +
                             std::to_string(o.fill_timeout_s) + " s\n" + stack.Diagnostics());
  }
  const nlohmann::json st = stack.AgentStatus();
  const MemFigures mem_after = ReadMem(stack.agent_pid());
  const int64_t db_after = FileSize(db), wal_after = FileSize(db.string() + "-wal");
  SleepFor(std::chrono::seconds(3));
  const MemFigures mem_settled = ReadMem(stack.agent_pid());
  Out("  published (broker acks) in %.2f s; first publish -> status shows every update applied "
      "(offer_updates_applied +%zu, %lld assignments, offers_version >= %lld): %.2f s (polled "
      "every 10 ms); agent CPU %.2f s\n",
      published_s, updates.size(), static_cast<long long>(o.customers),
      static_cast<long long>(last), fill_s, fill_cpu);
  Out("  agent status: offers_version %lld, offers %lld, offer_assignments %lld, "
      "offer_updates_applied %lld, rejected %lld\n",
      static_cast<long long>(st.value("offers_version", int64_t{-1})),
      static_cast<long long>(st.value("offers", int64_t{-1})),
      static_cast<long long>(st.value("offer_assignments", int64_t{-1})),
      static_cast<long long>(st.value("offer_updates_applied", int64_t{-1})),
      static_cast<long long>(st.value("offer_updates_rejected", int64_t{-1})));
  Out("  %s: %.1f MiB + -wal %.1f MiB (before: %.2f + %.2f MiB) = %.0f bytes per customer\n",
      db.filename().c_str(), static_cast<double>(db_after) / 1048576.0,
      static_cast<double>(wal_after) / 1048576.0, static_cast<double>(db_before) / 1048576.0,
      static_cast<double>(wal_before) / 1048576.0,
      static_cast<double>(db_after + wal_after - db_before - wal_before) /
          static_cast<double>(o.customers));
  Out("  agent memory  before: VmRSS %s (anon %s), VmHWM %s\n", MiB(mem_before.rss_kb).c_str(),
      MiB(mem_before.anon_kb).c_str(), MiB(mem_before.hwm_kb).c_str());
  Out("                after:  VmRSS %s (anon %s), VmHWM %s; 3 s later VmRSS %s; highest VmRSS "
      "sampled while filling %s\n",
      MiB(mem_after.rss_kb).c_str(), MiB(mem_after.anon_kb).c_str(),
      MiB(mem_after.hwm_kb).c_str(), MiB(mem_settled.rss_kb).c_str(),
      MiB(sampler.max_rss_kb()).c_str());
  Out("                VmRSS growth %.0f bytes per customer (anon %.0f); VmHWM growth %.0f bytes "
      "per customer\n",
      static_cast<double>(mem_settled.rss_kb - mem_before.rss_kb) * 1024.0 /
          static_cast<double>(o.customers),
      static_cast<double>(mem_settled.anon_kb - mem_before.anon_kb) * 1024.0 /
          static_cast<double>(o.customers),
      static_cast<double>(mem_after.hwm_kb - mem_before.hwm_kb) * 1024.0 /
          static_cast<double>(o.customers));
  Out("  in-process, same updates (baseline above): Decode %.2f s + Apply %.2f s; cache %s "
      "RssAnon after malloc_trim\n",
      base.decode_s, base.apply_s, MiB(base.cache_anon_kb).c_str());
  // The same cache without the decoding's heap: the agent restarted loads it from offers.db.
  stack.StopAgent();
  const auto r0 = SteadyClock::now();
  stack.StartAgent();
  const double restart_s = SecondsSince(r0);
  const bool reconnected = testing::WaitUntil(
      [&] {
        CheckInterrupted();
        return stack.AgentConnected();
      },
      std::chrono::seconds(60), std::chrono::milliseconds(20));
  if (!reconnected) throw std::runtime_error("the agent did not reconnect\n" + stack.Diagnostics());
  SleepFor(std::chrono::seconds(2));
  const MemFigures mem_loaded = ReadMem(stack.agent_pid());
  Out("  agent restarted (SIGTERM, start): /healthz after %.2f s; offers_version %lld, "
      "offer_assignments %lld; VmRSS %s (anon %s), VmHWM %s = %.0f bytes per customer over the "
      "empty agent's VmRSS\n",
      restart_s, static_cast<long long>(StatusInt(stack, "offers_version")),
      static_cast<long long>(StatusInt(stack, "offer_assignments")),
      MiB(mem_loaded.rss_kb).c_str(), MiB(mem_loaded.anon_kb).c_str(),
      MiB(mem_loaded.hwm_kb).c_str(),
      static_cast<double>(mem_loaded.rss_kb - mem_before.rss_kb) * 1024.0 /
          static_cast<double>(o.customers));

  // ---- 2. kiosk lookups ------------------------------------------------------------------------
  Out("\n[2] kiosk lookups, open loop: %.0f req/s for %.0f s on %d keep-alive connections; "
      "/healthz at the same rate first in each run (HTTP floor)\n  %s\n",
      o.rate, o.duration_s, o.connections, LoadNow().c_str());
  const int64_t imp_before = StatusInt(stack, "impressions_recorded");
  const int64_t drop_before = StatusInt(stack, "impressions_dropped");
  std::vector<LoadRun> health_runs, offer_runs;
  for (int run = 1; run <= o.runs; ++run) {
    health_runs.push_back(OpenLoop(stack.agent_port(), stack.agent_token(), false, o,
                                   1000 + run, stack));
    PrintLoadRun("/healthz", run, health_runs.back());
    offer_runs.push_back(OpenLoop(stack.agent_port(), stack.agent_token(), true, o, 2000 + run,
                                  stack));
    PrintLoadRun("offers", run, offer_runs.back());
    Out("    %s\n", LoadNow().c_str());
  }
  SleepFor(std::chrono::milliseconds(500));  // the last impressions' commits
  const int64_t imp_after = StatusInt(stack, "impressions_recorded");
  const int64_t drop_after = StatusInt(stack, "impressions_dropped");
  const LoadRun h = MedianOf(health_runs), q = MedianOf(offer_runs);
  Out("\n  | median of %d runs | req/s | ok | errors | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms "
      "| agent CPU µs/req | hub CPU µs/req |\n  |---|---|---|---|---|---|---|---|---|---|---|\n", o.runs);
  auto row = [](const char* name, const LoadRun& r) {
    const double n = static_cast<double>(r.completed);
    Out("  | %s | %.0f | %lld/%lld | %lld | %.3f | %.3f | %.3f | %.3f | %.3f | %.0f | %.0f |\n",
        name,
        r.rate, static_cast<long long>(r.completed), static_cast<long long>(r.scheduled),
        static_cast<long long>(r.errors + r.not_sent), r.p50, r.p90, r.p99, r.p999, r.max,
        n > 0 ? r.agent_cpu_s * 1e6 / n : NAN, n > 0 ? r.hub_cpu_s * 1e6 / n : NAN);
  };
  row("GET /healthz", h);
  row("GET /v1/offers", q);
  Out("  | OfferCache::Lookup in-process | | | | %.6f (median ns %.0f) | | | | | | |\n",
      base.lookup_ns / 1e6, base.lookup_ns);
  Out("  offers p99 / healthz p99: %.2fx; impressions recorded during the offer runs %lld, dropped "
      "%lld (every non-empty answer writes an offer_impression event to the outbox)\n",
      q.p99 / h.p99, static_cast<long long>(imp_after - imp_before),
      static_cast<long long>(drop_after - drop_before));
  const MemFigures mem_end = ReadMem(stack.agent_pid());
  Out("  agent memory after the lookups: VmRSS %s, VmHWM %s\n", MiB(mem_end.rss_kb).c_str(),
      MiB(mem_end.hwm_kb).c_str());
  Out("  %s\n", LoadNow().c_str());
}

}  // namespace

void RunOffers(const OffersOptions& o) {
  RunFillAndLookups(o);
  if (o.changes > 0) RunHubToKiosk(o);
}

}  // namespace cjd::bench
