// `cjdctl add-token`, `cjdctl revoke-token`, `cjdctl list-tokens` and `cjdctl audit verify`: the
// hub's named API tokens and its audit log (hub/access/), worked on in the hub's folder (they
// open access.db beside hub.db; the hub may be running).
#pragma once

#include <string>
#include <vector>

#include "hub/access/access_store.h"
#include "shared/core/status.h"

namespace cjd::ctl {

struct TokenOptions {
  std::string hub_dir;
  std::string role;  // admin | analyst | privacy (add-token)
  std::string name;  // 1..40 of [A-Za-z0-9._-]
};

// A new token (printed once by the caller); the hub keeps its hash. Audited as "add-token".
// kInvalid for a bad role or name, kConflict when a live token has that name.
Result<std::string> AddToken(const TokenOptions& o);
// Revokes the live token `o.name` (the hub refuses it from its next request). Audited.
Status RevokeToken(const TokenOptions& o);
Result<std::vector<hub::access::TokenRecord>> ListTokens(const std::string& hub_dir);
// Walks the audit chain with the hub's audit key.
Result<hub::access::AuditVerdict> VerifyAudit(const std::string& hub_dir);

// Re-wraps the hub's data keys under a new master key (hub/store/event_vault.h RotateMasterKey),
// audited. Returns the number of keys re-wrapped.
Result<int64_t> RotateMasterKey(const std::string& hub_dir);

}  // namespace cjd::ctl
