#include "tools/cjdctl/access_command.h"

#include <pwd.h>
#include <unistd.h>

#include <filesystem>

#include "hub/config/hub_config.h"
#include "hub/store/event_vault.h"
#include "shared/core/clock.h"
#include "shared/protocol/keys.h"
#include "tools/cjdctl/provision.h"

namespace cjd::ctl {
namespace {

using hub::access::AccessStore;

Result<std::unique_ptr<AccessStore>> OpenAccess(const std::string& hub_dir) {
  CJD_RETURN_IF_ERROR(InitCrypto());
  auto hub = LoadHubDir(hub_dir);
  if (!hub.ok()) return hub.status();
  // The tokens and the audit log: access.db, or the hub's PostgreSQL when hub.toml names one.
  return AccessStore::OpenWithKeyFile(hub->store_url.empty() ? hub->access_path : hub->store_url,
                                      hub->audit_key_file);
}

// "cjdctl:USER": the local operator, who has the hub's files.
std::string Actor() {
  const passwd* pw = ::getpwuid(::geteuid());
  return std::string("cjdctl:") + (pw != nullptr ? pw->pw_name : std::to_string(::geteuid()));
}

Status Audit(AccessStore& store, const std::string& action, const std::string& target,
             const std::string& detail) {
  hub::access::AuditEntry e;
  e.at_ms = Clock::Real()->NowMillis();
  e.actor = Actor();
  e.role = "admin";
  e.action = action;
  e.target = target;
  e.detail = detail;
  auto stored = store.Append(std::move(e));
  return stored.ok() ? Status::Ok() : stored.status();
}

}  // namespace

Result<std::string> AddToken(const TokenOptions& o) {
  const auto role = hub::access::ParseRole(o.role);
  if (!role) return Status::Invalid("--role: must be admin, analyst or privacy", "--role");
  auto store = OpenAccess(o.hub_dir);
  if (!store.ok()) return store.status();
  auto token = (*store)->AddToken(o.name, *role, Clock::Real()->NowMillis());
  if (!token.ok()) {
    const Status& st = token.status();
    return Status(st.code(), "--name: " + st.message(), st.field().empty() ? "" : "--name");
  }
  CJD_RETURN_IF_ERROR(
      Audit(**store, "add-token", o.name, std::string(R"({"role":")") + o.role + "\"}"));
  return token;
}

Status RevokeToken(const TokenOptions& o) {
  auto store = OpenAccess(o.hub_dir);
  if (!store.ok()) return store.status();
  CJD_RETURN_IF_ERROR((*store)->RevokeToken(o.name, Clock::Real()->NowMillis()));
  return Audit(**store, "revoke-token", o.name, "{}");
}

Result<std::vector<hub::access::TokenRecord>> ListTokens(const std::string& hub_dir) {
  auto store = OpenAccess(hub_dir);
  if (!store.ok()) return store.status();
  return (*store)->ListTokens();
}

Result<hub::access::AuditVerdict> VerifyAudit(const std::string& hub_dir) {
  auto store = OpenAccess(hub_dir);
  if (!store.ok()) return store.status();
  return (*store)->Verify();
}

Result<int64_t> RotateMasterKey(const std::string& hub_dir) {
  CJD_RETURN_IF_ERROR(InitCrypto());
  auto hub = LoadHubDir(hub_dir);
  if (!hub.ok()) return hub.status();
  auto n = hub::RotateMasterKey(hub->store_url.empty() ? hub->keys_path : hub->store_url,
                                 hub->master_key_file);
  if (!n.ok()) return n.status();
  auto store = OpenAccess(hub_dir);
  if (!store.ok()) return store.status();
  CJD_RETURN_IF_ERROR(Audit(**store, "rotate-master-key", hub->master_key_file,
                            "{\"keys\":" + std::to_string(*n) + "}"));
  return n;
}

}  // namespace cjd::ctl
