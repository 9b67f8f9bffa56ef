// cjdctl: the operator CLI. Subcommands: init-hub, add-device, add-source, source-origins, add-token,
// revoke-token, list-tokens, audit verify, rotate-master-key, init-ca, issue-cert, import, report, segments, offers.
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "shared/core/private_files.h"
#include "shared/event/event.h"
#include "tools/cjdctl/access_command.h"
#include "tools/cjdctl/dedupe_command.h"
#include "tools/cjdctl/offers_command.h"
#include "tools/cjdctl/pki/certificate_authority.h"
#include "tools/cjdctl/provision.h"
#include "tools/cjdctl/remote_cli.h"

namespace {
int Fail(const char* cmd, const cjd::Status& st) {
  std::fprintf(stderr, "cjdctl %s: %s\n", cmd, st.message().c_str());
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  // Everything this process creates (hub.db, hub.key, configs, exports) is for its owner only.
  cjd::RestrictFileCreation();
  CLI::App app{"cjdctl: provision and operate a CustomerJourneyData hub and its devices"};
  app.require_subcommand(1);
  app.set_version_flag("--version", CJD_VERSION);

  cjd::ctl::InitHubOptions hub;
  auto* init = app.add_subcommand("init-hub", "create the hub's keys, admin token and hub.toml");
  init->add_option("--dir", hub.dir, "hub directory")->required();
  init->add_option("--broker", hub.broker, "MQTT broker, tcp://HOST:PORT")->capture_default_str();
  init->add_option("--listen", hub.listen, "hub HTTP API address")->capture_default_str();
  init->add_flag("--force", hub.force, "replace an existing hub.toml");
  init->add_option("--database", hub.database,
                   "keep the hub's event store in PostgreSQL, postgresql://USER@HOST:PORT/DB "
                   "(default: SQLite, DIR/hub.db)");
  init->add_option("--ca-dir", hub.ca_dir,
                   "CA directory (init-ca): issue the hub's broker client certificate (ssl:// only)");

  cjd::ctl::AddDeviceOptions dev;
  auto* add = app.add_subcommand("add-device", "provision a POS terminal or kiosk agent");
  add->add_option("--hub-dir", dev.hub_dir, "hub directory (from init-hub)")->required();
  add->add_option("--id", dev.id, "device id")->required();
  add->add_option("--store", dev.store, "store id")->required();
  add->add_option("--kind", dev.kind, "pos or kiosk")->required();
  add->add_option("--listen", dev.listen, "agent HTTP API address")->capture_default_str();
  add->add_option("--broker", dev.broker, "MQTT broker (default: the hub's)");
  add->add_option("--out", dev.out, "agent config file to write")->required();
  add->add_option("--outbox", dev.outbox,
                  "agent outbox database (default: ID.outbox.db beside the config)");
  add->add_option("--ca-dir", dev.ca_dir,
                  "CA directory (init-ca): issue the device's broker client certificate "
                  "(ssl:// only)");

  std::string ca_dir;
  int ca_days = cjd::ctl::kCaDays;
  auto* init_ca = app.add_subcommand(
      "init-ca", "create the fleet's certificate authority for the broker's mutual TLS");
  init_ca->add_option("--dir", ca_dir, "CA directory (ca.crt, ca.key)")->required();
  init_ca->add_option("--days", ca_days, "validity in days")->capture_default_str();

  cjd::ctl::CertRequest cert;
  std::string cert_ca_dir;
  std::string cert_out_dir;
  bool cert_server = false;
  bool cert_force = false;
  auto* issue = app.add_subcommand(
      "issue-cert", "issue a broker client certificate (cjd-hub, a device) or the broker's own");
  issue->add_option("--ca-dir", cert_ca_dir, "CA directory (from init-ca)")->required();
  issue->add_option("--name", cert.name,
                    "certificate CN: the broker user name of a client (cjd-hub or a device id)")
      ->required();
  issue->add_flag("--server", cert_server,
                  "a server certificate (the broker's), for the --dns/--ip clients dial");
  issue->add_option("--dns", cert.dns, "host name in subjectAltName (repeatable, --server)");
  issue->add_option("--ip", cert.ips, "IP address in subjectAltName (repeatable, --server)");
  issue->add_option("--days", cert.days, "validity in days")->capture_default_str();
  issue->add_option("--out-dir", cert_out_dir, "where NAME.crt and NAME.key go (default: --ca-dir)");
  issue->add_flag("--force", cert_force, "replace existing NAME.crt/NAME.key");

  cjd::ctl::TokenOptions tok;
  auto* add_token = app.add_subcommand(
      "add-token", "create a named hub API token with a role; prints it as the only line on stdout");
  add_token->add_option("--hub-dir", tok.hub_dir, "hub directory (from init-hub)")->required();
  add_token->add_option("--role", tok.role, "admin, analyst or privacy")->required();
  add_token->add_option("--name", tok.name, "token name, e.g. marketing-dashboard")->required();
  auto* revoke_token = app.add_subcommand("revoke-token", "revoke a named hub API token");
  revoke_token->add_option("--hub-dir", tok.hub_dir, "hub directory (from init-hub)")->required();
  revoke_token->add_option("--name", tok.name, "token name")->required();
  auto* list_tokens = app.add_subcommand("list-tokens", "the hub's named API tokens (no secrets)");
  list_tokens->add_option("--hub-dir", tok.hub_dir, "hub directory (from init-hub)")->required();
  auto* audit = app.add_subcommand("audit", "the hub's audit log");
  auto* audit_verify = audit->add_subcommand(
      "verify", "check the audit log's hash chain; names the first broken entry (exit 1)");
  audit_verify->add_option("--hub-dir", tok.hub_dir, "hub directory (from init-hub)")->required();
  audit->require_subcommand(1);
  auto* rotate_master = app.add_subcommand(
      "rotate-master-key",
      "re-wrap the event log's data keys (keys.db, or the PostgreSQL store's vault_keys) under a new "
      "master key; the hub may keep running");
  rotate_master->add_option("--hub-dir", tok.hub_dir, "hub directory (from init-hub)")->required();

  cjd::ctl::AddSourceOptions src;
  auto* add_source = app.add_subcommand(
      "add-source", "register a collect source; prints its key as the only line on stdout");
  add_source->add_option("--hub-dir", src.hub_dir, "hub directory (from init-hub)")->required();
  add_source->add_option("--name", src.name, "source name, e.g. webshop")->required();
  add_source->add_option("--allowed-origin", src.allowed_origins,
                         "a web origin whose browsers may post as this source (CORS), e.g. "
                         "https://shop.example.net; repeat for more; * for any");
  auto* source_origins = app.add_subcommand(
      "source-origins",
      "replace a source's allowed web origins (CORS); without --allowed-origin, none");
  source_origins->add_option("--hub-dir", src.hub_dir, "hub directory (from init-hub)")->required();
  source_origins->add_option("--name", src.name, "source name")->required();
  source_origins->add_option("--allowed-origin", src.allowed_origins,
                             "a web origin (scheme://host[:port]); repeat for more; * for any");

  cjd::ctl::DedupeCommandOptions dd;
  auto* dedupe = app.add_subcommand(
      "dedupe", "find the same person across CSV files without a shared id (Fellegi-Sunter)");
  dedupe->add_option("files", dd.files, "CSV files (.csv or .csv.gz), read as one set")->required();
  dedupe->add_option("--map", dd.map,
                     "FIELD=COLUMN,... (fields: first_name, last_name, date_of_birth, "
                     "street_number, address_line1, address_line2, city, postcode, region, "
                     "national_id, email, phone)")
      ->required();
  dedupe->add_option("--id", dd.id, "the column naming each record (never used to match)")
      ->required();
  dedupe->add_option("--out", dd.out, "pairs file: id_a,id_b,probability")->required();
  dedupe->add_option("--clusters-out", dd.clusters_out, "clusters file: cluster,id");
  dedupe->add_option("--threshold", dd.threshold, "auto (P(match) >= 0.5) or a probability")
      ->capture_default_str();
  dedupe->add_option("--max-records", dd.max_records, "refuse more records than this (memory)")
      ->capture_default_str();

  cjd::ctl::RemoteCommands remote(app);  // import, report, segments
  cjd::ctl::OffersCommand offers(app);    // offers list|put|create|get|delete|stats

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help/--version: 0; every usage error: 2
  }
  if (remote.Selected()) return remote.Run();
  if (*dedupe) return cjd::ctl::RunDedupe(dd, std::cout, std::cerr);
  if (offers.Selected()) return offers.Run(std::cin, std::cout, std::cerr);

  if (*init) {
    auto token = cjd::ctl::InitHub(hub);
    if (!token.ok()) return Fail("init-hub", token.status());
    std::printf("hub initialised in %s (config hub.toml, keys hub.key/hub.pub, store hub.db)\n",
                hub.dir.c_str());
    return 0;
  }
  if (*add) {
    auto token = cjd::ctl::AddDevice(dev);
    if (!token.ok()) return Fail("add-device", token.status());
    std::printf("device %s (%s, store %s) registered; config written to %s\n", dev.id.c_str(),
                dev.kind.c_str(), dev.store.c_str(), dev.out.c_str());
    return 0;
  }
  if (*init_ca) {
    const cjd::Status st = cjd::ctl::InitCa(ca_dir, ca_days);
    if (!st.ok()) return Fail("init-ca", st);
    std::printf("CA created in %s (ca.crt; ca.key is secret, mode 0600)\n", ca_dir.c_str());
    return 0;
  }
  if (*issue) {
    cert.role = cert_server ? cjd::ctl::CertRole::kServer : cjd::ctl::CertRole::kClient;
    auto ca = cjd::ctl::CertificateAuthority::Load(cert_ca_dir);
    if (!ca.ok()) return Fail("issue-cert", ca.status());
    auto pem = ca->Issue(cert);
    if (!pem.ok()) return Fail("issue-cert", pem.status());
    const std::string dir = cert_out_dir.empty() ? cert_ca_dir : cert_out_dir;
    const std::string crt = dir + "/" + cert.name + ".crt";
    const std::string key = dir + "/" + cert.name + ".key";
    const cjd::Status st = cjd::ctl::WriteCertAndKey(crt, key, *pem, cert_force);
    if (!st.ok()) return Fail("issue-cert", st);
    std::printf("%s certificate for %s written to %s (key %s, mode 0600)\n",
                cert_server ? "server" : "client", cert.name.c_str(), crt.c_str(), key.c_str());
    return 0;
  }
  if (*add_token) {
    auto token = cjd::ctl::AddToken(tok);
    if (!token.ok()) return Fail("add-token", token.status());
    std::fprintf(stderr, "%s token %s created; it follows on stdout (shown only once)\n",
                 tok.role.c_str(), tok.name.c_str());
    std::printf("%s\n", token->c_str());
    return 0;
  }
  if (*revoke_token) {
    const cjd::Status st = cjd::ctl::RevokeToken(tok);
    if (!st.ok()) return Fail("revoke-token", st);
    std::printf("token %s revoked\n", tok.name.c_str());
    return 0;
  }
  if (*list_tokens) {
    auto tokens = cjd::ctl::ListTokens(tok.hub_dir);
    if (!tokens.ok()) return Fail("list-tokens", tokens.status());
    std::printf("%-40s %-8s %-24s %s\n", "NAME", "ROLE", "CREATED", "REVOKED");
    for (const auto& t : *tokens) {
      std::printf("%-40s %-8s %-24s %s\n", t.name.c_str(),
                  std::string(cjd::hub::access::RoleName(t.role)).c_str(),
                  cjd::FormatRfc3339(t.created_ms).c_str(),
                  t.revoked_ms ? cjd::FormatRfc3339(*t.revoked_ms).c_str() : "-");
    }
    return 0;
  }
  if (*audit_verify) {
    auto verdict = cjd::ctl::VerifyAudit(tok.hub_dir);
    if (!verdict.ok()) return Fail("audit verify", verdict.status());
    if (verdict->first_bad) {
      std::fprintf(stderr, "cjdctl audit verify: BROKEN at entry %lld of %lld: %s\n",
                   static_cast<long long>(*verdict->first_bad),
                   static_cast<long long>(verdict->entries), verdict->problem.c_str());
      return 1;
    }
    std::printf("audit log intact: %lld entries, chain verified\n",
                static_cast<long long>(verdict->entries));
    return 0;
  }
  if (*rotate_master) {
    auto n = cjd::ctl::RotateMasterKey(tok.hub_dir);
    if (!n.ok()) return Fail("rotate-master-key", n.status());
    std::printf("master key rotated: %lld data keys re-wrapped\n", static_cast<long long>(*n));
    return 0;
  }
  if (*add_source) {
    auto key = cjd::ctl::AddSource(src);
    if (!key.ok()) return Fail("add-source", key.status());
    std::fprintf(stderr, "source %s registered; its key follows on stdout (shown only once)\n",
                 src.name.c_str());
    std::printf("%s\n", key->c_str());
    return 0;
  }
  if (*source_origins) {
    auto stored = cjd::ctl::SetSourceOrigins(src);
    if (!stored.ok()) return Fail("source-origins", stored.status());
    std::string list;
    for (const std::string& o : *stored) list += (list.empty() ? "" : " ") + o;
    std::printf("source %s: allowed origins %s (a running hub applies this within 30 s)\n",
                src.name.c_str(), list.empty() ? "none" : list.c_str());
    return 0;
  }
  return 0;
}
