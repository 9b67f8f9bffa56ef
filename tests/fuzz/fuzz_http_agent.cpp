// The agent's HTTP request path, end to end in one process: a real cjd::agent::Agent (outbox and
// offer cache on SQLite files in a temp dir, its MQTT link pointed at a closed loopback port) and
// raw request bytes sent to its listener. A 500, a hang or a sanitizer report is a finding.
// Token for POST /v1/events and GET /v1/offers: "fuzz-agent-token" (in the dictionary and seeds).
#include <spdlog/spdlog.h>

#include <memory>

#include "agent/agent.h"
#include "agent/offers/offer_cache.h"
#include "shared/protocol/offer_update.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/http_exchange.h"

namespace {

using namespace cjd;

// A kiosk's cache: one offer for customer L-100 and a general list, valid until 2099.
void FillOfferCache(const std::string& path, const SecretKey& device_secret) {
  OfferUpdate u;
  u.version = 3;
  OfferRecord o;
  o.id = "o-1";
  o.title = "10% off candles";
  o.text = "Show this at the till.";
  o.valid_from = "2020-01-01T00:00:00Z";
  o.valid_until = "2099-01-01T00:00:00Z";
  o.priority = 5;
  o.version = 1;
  u.offers.push_back(o);
  o.id = "o-2";
  o.requires_consent = true;
  u.offers.push_back(o);
  u.assignments.push_back(OfferAssignment{"L-100", {"o-2", "o-1"}, 2});
  u.general = GeneralOffers{{"o-1"}, 3};
  auto decoded = DecodeOfferUpdate(EncodeOfferUpdate(u));  // fills the *_ms fields
  if (!decoded.ok()) fuzz::Fail("offer update: " + decoded.status().ToString());
  auto cache = agent::OfferCache::Open(path, agent::OfferCache::LookupKey(device_secret));
  if (!cache.ok()) fuzz::Fail("offer cache: " + cache.status().ToString());
  auto applied = (*cache)->Apply(*decoded);
  if (!applied.ok()) fuzz::Fail("offer cache apply: " + applied.status().ToString());
}

uint16_t AgentPort() {
  static agent::Agent* agent = [] {
    spdlog::set_level(spdlog::level::off);
    const std::string& dir = fuzz::TempDir("agent");
    agent::AgentConfig c;
    c.device_id = "kiosk-fuzz-01";
    c.store_id = "store-1";
    c.kind = "kiosk";
    c.listen = {"127.0.0.1", 0};
    c.token = "fuzz-agent-token";
    c.max_body_bytes = 64 << 10;   // small, so that the limit is within the fuzzer's reach
    c.max_events_per_request = 20;
    c.http_threads = 2;
    c.broker = "tcp://127.0.0.1:9";  // discard port: nothing listens, the uplink keeps retrying
    c.device_keys = NewKeyPair();
    c.hub_public_key = NewKeyPair().public_key;
    c.outbox_path = dir + "/outbox.db";
    c.offers_path = dir + "/offers.db";
    c.budget_bytes = 64ll << 20;
    if (!InitCrypto().ok()) fuzz::Fail("libsodium");
    FillOfferCache(c.offers_path, c.device_keys.secret_key);
    auto* a = new agent::Agent(c);  // lives until the process ends
    Status st = a->Start();
    if (!st.ok()) fuzz::Fail("agent start: " + st.ToString());
    return a;
  }();
  return agent->http_port();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)fuzz::Exchange(AgentPort(), fuzz::AsText(data, size));
  return 0;
}
