#include "tools/cjdctl/provision.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "hub/collect/cors.h"
#include "hub/collect/source_key.h"
#include "hub/config/hub_config.h"
#include "hub/store/open_store.h"
#include "hub/store/sqlite_hub_store.h"
#include "shared/config/config.h"
#include "shared/core/clock.h"
#include "shared/core/private_files.h"
#include "shared/protocol/keys.h"
#include "shared/protocol/topics.h"
#include "shared/storage/postgres.h"
#include "tools/cjdctl/pki/certificate_authority.h"

namespace cjd::ctl {
namespace fs = std::filesystem;
namespace {

// Writes `text` to `path` readable by the owner only (configs hold secrets): created 0600,
// synced, renamed into place, directory synced (shared/core/private_files.h).
Status WritePrivate(const std::string& path, const std::string& text) {
  return WriteSecretFile(path, text);
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

bool IsTls(const std::string& broker) { return broker.rfind("ssl://", 0) == 0; }

// A broker client certificate for `name` from the CA in `ca_dir`, made in memory (nothing is
// written) and checked against the files it will go to in `dir`.
struct ClientCert {
  PemPair pem;
  std::string ca_pem;
  fs::path cert_path, key_path, ca_path;
};

Result<ClientCert> MakeClientCert(const std::string& ca_dir, const std::string& broker,
                                  const std::string& name, const fs::path& dir, bool overwrite) {
  if (!IsTls(broker)) {
    return Status::Invalid("--ca-dir: needs an ssl://HOST:PORT broker (--broker), not " + broker,
                           "--ca-dir");
  }
  auto ca = CertificateAuthority::Load(ca_dir);
  if (!ca.ok()) return ca.status();
  CertRequest request;
  request.name = name;
  auto pem = ca->Issue(request);
  if (!pem.ok()) return pem.status();
  ClientCert out{std::move(*pem), ca->cert_pem(), dir / (name + ".crt"), dir / (name + ".key"),
                 dir / "mqtt-ca.pem"};
  if (!overwrite) {
    for (const auto& p : {out.cert_path, out.key_path}) {
      if (fs::exists(p)) return Status(Code::kConflict, p.string() + " already exists");
    }
  }
  if (fs::exists(out.ca_path)) {
    std::ifstream in(out.ca_path, std::ios::binary);
    std::stringstream held;
    held << in.rdbuf();
    if (held.str() != out.ca_pem && !overwrite) {
      return Status(Code::kConflict, out.ca_path.string() + " holds another CA's certificate");
    }
  }
  return out;
}

Status WriteClientCert(const ClientCert& c) {
  std::error_code ec;
  fs::create_directories(c.cert_path.parent_path(), ec);
  CJD_RETURN_IF_ERROR(
      WriteCertAndKey(c.cert_path.string(), c.key_path.string(), c.pem, /*overwrite=*/true));
  return WritePublicFile(c.ca_path.string(), c.ca_pem);
}

// The [mqtt] TLS lines of a config whose certificate files sit beside it.
std::string TlsKeys(const ClientCert& c) {
  return "# Mutual TLS: the broker's certificate must come from this CA and name the broker's\n"
         "# host; ours (CN = our broker user name) is what the broker's ACLs check.\n"
         "ca_file = " + Quote(c.ca_path.filename().string()) + "\n" +
         "cert_file = " + Quote(c.cert_path.filename().string()) + "\n" +
         "key_file = " + Quote(c.key_path.filename().string()) + "\n";
}

}  // namespace

Result<std::string> InitHub(const InitHubOptions& o) {
  CJD_RETURN_IF_ERROR(InitCrypto());
  auto listen = ParseHostPort(o.listen);
  if (!listen.ok()) return Status::Invalid("--listen: expected HOST:PORT", "--listen");
  if (o.broker.rfind("tcp://", 0) != 0 && o.broker.rfind("ssl://", 0) != 0)
    return Status::Invalid("--broker: expected tcp://HOST:PORT or ssl://HOST:PORT", "--broker");
  if (!o.database.empty()) {
    if (!pg::IsPostgresUrl(o.database)) {
      return Status::Invalid("--database: expected postgresql://USER@HOST:PORT/DB", "--database");
    }
    // Reachable, and the store's tables made, before anything is written.
    auto store = hub::OpenHubStore(o.database);
    if (!store.ok()) {
      return Status(store.status().code(), "--database: " + store.status().message(),
                    "--database");
    }
  }
  std::error_code ec;
  fs::create_directories(o.dir, ec);
  if (ec) return Status::Io("cannot create " + o.dir + ": " + ec.message());
  const fs::path dir = fs::absolute(o.dir);
  const fs::path config = dir / "hub.toml";
  if (fs::exists(config) && !o.force) {
    return Status(Code::kConflict, config.string() + " already exists (use --force to replace it)");
  }
  std::optional<ClientCert> cert;
  if (!o.ca_dir.empty()) {
    auto made = MakeClientCert(o.ca_dir, o.broker, kHubIdentity, dir, o.force);
    if (!made.ok()) return made.status();
    cert = std::move(*made);
  }
  const KeyPair keys = NewKeyPair();
  const std::string token = NewToken();
  if (cert) CJD_RETURN_IF_ERROR(WriteClientCert(*cert));
  CJD_RETURN_IF_ERROR(WritePrivate((dir / "hub.key").string(), KeyToBase64(keys.secret_key) + "\n"));
  {
    std::ofstream pub(dir / "hub.pub");
    pub << KeyToBase64(keys.public_key) << "\n";
  }
  std::string text;
  text += "# CustomerJourneyData hub, written by cjdctl init-hub. See device-configs/hub.toml.\n\n";
  text += "[http]\n";
  text += "listen = " + Quote(listen->ToString()) + "\n";
  text += "# Admin bearer token for every /v1/ endpoint.\n";
  text += "token = " + Quote(token) + "\n\n";
  text += "[mqtt]\n";
  text += "broker = " + Quote(o.broker) + "\n";
  text += "client_id = \"cjd-hub\"\n";
  if (!o.database.empty()) {
    text += "# Hub instances sharing the database share the devices' frames (MQTT 5 shared\n";
    text += "# subscription); each instance still connects with a client id of its own.\n";
    text += "shared_group = \"cjd-hubs\"\n";
  }
  if (cert) text += TlsKeys(*cert);
  text += "\n";
  text += "[keys]\n";
  text += "# X25519 key pair; devices get the public key at provisioning.\n";
  text += "public_key = " + Quote(KeyToBase64(keys.public_key)) + "\n";
  text += "secret_key_file = \"hub.key\"\n\n";
  text += "[store]\n";
  if (o.database.empty()) {
    text += "path = \"hub.db\"\n\n";
  } else {
    text += "# The event store (log, devices, sources, counters) in PostgreSQL.\n";
    text += "url = " + Quote(o.database) + "\n\n";
  }
  text += "[fleet]\n";
  text += "offline_after_s = 60\n";
  CJD_RETURN_IF_ERROR(WritePrivate(config.string(), text));
  if (o.database.empty()) {
    auto store = hub::SqliteHubStore::Open((dir / "hub.db").string());
    if (!store.ok()) return store.status();
  }
  return token;
}

Result<std::string> AddDevice(const AddDeviceOptions& o) {
  CJD_RETURN_IF_ERROR(InitCrypto());
  if (!topics::IsValidDeviceId(o.id))
    return Status::Invalid("--id: must be 1-64 characters of A-Z a-z 0-9 _ . -", "--id");
  if (o.id == kHubIdentity) {
    return Status::Invalid(std::string("--id: ") + kHubIdentity +
                               " is the hub's broker identity, not a device id",
                           "--id");
  }
  if (o.store.empty() || o.store.size() > 64)
    return Status::Invalid("--store: must be 1-64 characters", "--store");
  if (o.kind != "pos" && o.kind != "kiosk")
    return Status::Invalid("--kind: must be pos or kiosk", "--kind");
  auto listen = ParseHostPort(o.listen);
  if (!listen.ok()) return Status::Invalid("--listen: expected HOST:PORT", "--listen");
  if (o.out.empty()) return Status::Invalid("--out: required", "--out");

  auto hub = hub::LoadHubConfig((fs::path(o.hub_dir) / "hub.toml").string());
  if (!hub.ok()) {
    return Status(hub.status().code(),
                  "hub config in " + o.hub_dir + ": " + hub.status().message());
  }
  const std::string broker = o.broker.empty() ? hub->broker : o.broker;
  if (broker.rfind("tcp://", 0) != 0 && broker.rfind("ssl://", 0) != 0)
    return Status::Invalid("--broker: expected tcp://HOST:PORT or ssl://HOST:PORT", "--broker");
  const fs::path out = fs::absolute(o.out);
  std::optional<ClientCert> cert;
  if (!o.ca_dir.empty()) {
    auto made = MakeClientCert(o.ca_dir, broker, o.id, out.parent_path(), /*overwrite=*/false);
    if (!made.ok()) return made.status();
    cert = std::move(*made);
  }

  const KeyPair keys = NewKeyPair();
  const std::string token = NewToken();
  auto store = hub::OpenHubStore(hub->store_location());
  if (!store.ok()) return store.status();
  hub::DeviceRecord rec;
  rec.device_id = o.id;
  rec.store_id = o.store;
  rec.kind = o.kind;
  rec.key_id = 1;
  rec.public_key = KeyToBase64(keys.public_key);
  rec.created_ms = Clock::Real()->NowMillis();
  CJD_RETURN_IF_ERROR((*store)->RegisterDevice(rec));

  std::string text;
  text += "# CustomerJourneyData agent for device " + o.id + ", written by cjdctl add-device.\n";
  text += "# Holds this device's secret key: keep it readable by the agent only.\n";
  text += "# Every key is documented in device-configs/" +
          std::string(o.kind == "pos" ? "pos-terminal" : "kiosk") + ".toml.\n\n";
  text += "[device]\n";
  text += "id = " + Quote(o.id) + "\n";
  text += "store = " + Quote(o.store) + "\n";
  text += "kind = " + Quote(o.kind) + "\n\n";
  text += "[http]\n";
  text += "listen = " + Quote(listen->ToString()) + "\n";
  text += "token = " + Quote(token) + "\n\n";
  text += "[mqtt]\n";
  text += "broker = " + Quote(broker) + "\n";
  if (cert) text += TlsKeys(*cert);
  text += "\n";
  text += "[keys]\n";
  text += "key_id = 1\n";
  text += "device_public_key = " + Quote(KeyToBase64(keys.public_key)) + "\n";
  text += "device_secret_key = " + Quote(KeyToBase64(keys.secret_key)) + "\n";
  text += "hub_public_key = " + Quote(KeyToBase64(hub->keys.public_key)) + "\n\n";
  text += "[outbox]\n";
  text += "path = " + Quote(o.outbox.empty() ? o.id + ".outbox.db" : o.outbox) + "\n";
  text += "budget_bytes = 268435456\n";
  std::error_code ec;
  if (out.has_parent_path()) fs::create_directories(out.parent_path(), ec);
  if (cert) CJD_RETURN_IF_ERROR(WriteClientCert(*cert));
  CJD_RETURN_IF_ERROR(WritePrivate(out.string(), text));
  return token;
}

Result<hub::HubConfig> LoadHubDir(const std::string& hub_dir) {
  const fs::path config = fs::path(hub_dir) / "hub.toml";
  if (!fs::exists(config)) {
    return Status(Code::kNotFound, "no hub in " + hub_dir + " (" + config.string() +
                                       " is missing; run cjdctl init-hub first)");
  }
  auto hub = hub::LoadHubConfig(config.string());
  if (!hub.ok()) {
    return Status(hub.status().code(), "hub config in " + hub_dir + ": " + hub.status().message(),
                  hub.status().field());
  }
  return hub;
}

namespace {
// The normal forms, each once, in the order given.
Result<std::vector<std::string>> NormalOrigins(const std::vector<std::string>& given) {
  std::vector<std::string> out;
  for (const std::string& g : given) {
    auto normal = hub::NormalizeOrigin(g, "--allowed-origin");
    if (!normal.ok()) return normal.status();
    if (std::find(out.begin(), out.end(), *normal) == out.end()) out.push_back(*normal);
  }
  return out;
}
}  // namespace

Result<std::string> AddSource(const AddSourceOptions& o) {
  CJD_RETURN_IF_ERROR(InitCrypto());
  if (!hub::IsValidSourceName(o.name))
    return Status::Invalid("--name: must be 1-40 characters of A-Z a-z 0-9 . _ -", "--name");
  auto hub = LoadHubDir(o.hub_dir);
  if (!hub.ok()) return hub.status();
  auto store = hub::OpenHubStore(hub->store_location());
  if (!store.ok()) return store.status();
  auto origins = NormalOrigins(o.allowed_origins);
  if (!origins.ok()) return origins.status();
  const std::string key = hub::NewSourceKey();
  CJD_RETURN_IF_ERROR((*store)->RegisterSource(o.name, hub::SourceKeyHash(key),
                                               Clock::Real()->NowMillis(), *origins));
  return key;
}

Result<std::vector<std::string>> SetSourceOrigins(const AddSourceOptions& o) {
  auto hub = LoadHubDir(o.hub_dir);
  if (!hub.ok()) return hub.status();
  auto origins = NormalOrigins(o.allowed_origins);
  if (!origins.ok()) return origins.status();
  auto store = hub::OpenHubStore(hub->store_location());
  if (!store.ok()) return store.status();
  CJD_RETURN_IF_ERROR((*store)->SetSourceOrigins(o.name, *origins));
  return *origins;
}

}  // namespace cjd::ctl
