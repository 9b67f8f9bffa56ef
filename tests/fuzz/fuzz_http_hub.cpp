// The hub's HTTP request path, end to end in one process: a real cjd::hub::Hub (event store,
// profiles, segments and offers on SQLite files in a temp dir; its MQTT link pointed at a closed
// loopback port) and raw request bytes sent to its listener. A 500, a hang or a sanitizer report
// is a finding.
// Admin token: "fuzz-admin-token"; collect source key: kSourceKey below (both in the dictionary
// and seeds). One registered device with a heartbeat, so that GET /v1/devices has an entry.
#include <spdlog/spdlog.h>

#include <memory>

#include "hub/collect/source_key.h"
#include "hub/hub.h"
#include "hub/store/sqlite_hub_store.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/http_exchange.h"

namespace {

using namespace cjd;

constexpr const char* kSourceKey = "cjds_fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuz";

void Provision(const std::string& store_path) {
  auto store = hub::SqliteHubStore::Open(store_path);
  if (!store.ok()) fuzz::Fail("hub store: " + store.status().ToString());
  Status st = (*store)->RegisterSource("web", hub::SourceKeyHash(kSourceKey), 1'700'000'000'000);
  if (!st.ok()) fuzz::Fail("register source: " + st.ToString());
  hub::DeviceRecord d;
  d.device_id = "pos-fuzz-01";
  d.store_id = "store-1";
  d.kind = "pos";
  d.public_key = KeyToBase64(NewKeyPair().public_key);
  d.created_ms = 1'700'000'000'000;
  st = (*store)->RegisterDevice(d);
  if (!st.ok()) fuzz::Fail("register device: " + st.ToString());
  hub::DeviceProgress p;
  p.device_id = d.device_id;
  hub::EpochProgress e;  // sequence numbers count per outbox epoch (batch_codec.h)
  e.epoch = 0xfeed;
  e.acked_seq = 10;
  e.make_current = true;
  p.epochs.push_back(e);
  p.last_seen_ms = 1'790'000'000'000;
  p.status_json = R"({"online":true,"backlog":3,"last_seq":13,"version":"0.1.0","offers_version":2,)"
                  R"("clock_ms":1790000000000,"epoch":"000000000000feed"})";
  auto committed = (*store)->CommitIngest({}, {p}, {}, p.last_seen_ms);
  if (!committed.ok()) fuzz::Fail("commit status: " + committed.status().ToString());
}

uint16_t HubPort() {
  static hub::Hub* hub = [] {
    spdlog::set_level(spdlog::level::off);
    const std::string& dir = fuzz::TempDir("hub");
    if (!InitCrypto().ok()) fuzz::Fail("libsodium");
    hub::HubConfig c;
    c.dir = dir;
    c.listen = {"127.0.0.1", 0};
    c.token = "fuzz-admin-token";
    c.http_threads = 2;
    c.max_body_bytes = 64 << 10;  // small, so that the limit is within the fuzzer's reach
    c.broker = "tcp://127.0.0.1:9";  // discard port: nothing listens, ingest keeps retrying
    c.client_id = "cjd-hub-fuzz";
    c.keys = NewKeyPair();
    c.store_path = dir + "/hub.db";
    c.identity_key_file = dir + "/identity.key";
    c.profiles_path = dir + "/profiles.db";
    c.segments_path = dir + "/segments.db";
    c.offers_path = dir + "/offers.db";
    c.access_path = dir + "/access.db";
    c.audit_key_file = dir + "/audit.key";
    c.privacy_path = dir + "/privacy.db";
    c.journeys_path = dir + "/journeys.db";
    c.predictions_path = dir + "/predictions.db";
    c.keys_path = dir + "/keys.db";
    c.master_key_file = dir + "/master.key";
    Provision(c.store_path);
    auto* h = new hub::Hub(c);  // lives until the process ends
    Status st = h->Start();
    if (!st.ok()) fuzz::Fail("hub start: " + st.ToString());
    return h;
  }();
  return hub->http_port();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)fuzz::Exchange(HubPort(), fuzz::AsText(data, size));
  return 0;
}
