// Who may call what on the hub's HTTP API. Three roles (`cjdctl add-token --role`):
//
//   admin    everything (the `[http] token` of hub.toml is an admin token named "admin")
//   analyst  reads: metrics, profiles (identifiers and personal attributes masked, see
//            masking.h), segments and their members, offers and their figures, devices and
//            stats. No writes, no privacy requests, no audit log.
//   privacy  rights requests only: /v1/privacy/...
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cjd::hub::access {

enum class Role { kAdmin, kAnalyst, kPrivacy };

std::string_view RoleName(Role role);
// "admin", "analyst" or "privacy"; nullopt otherwise.
std::optional<Role> ParseRole(std::string_view name);

// nullopt when `role` may send `method` to `path` (a /v1/ path, no query); otherwise why not,
// for the 403 answer.
std::optional<std::string> Forbidden(Role role, std::string_view method, std::string_view path);

// True for the requests the audit log records: every change made through the API (any method
// but GET and HEAD) and every rights request, reads included (an export is a GET). Collect posts
// come from sources, not people, and are not audited.
bool Audited(std::string_view method, std::string_view path);

}  // namespace cjd::hub::access
