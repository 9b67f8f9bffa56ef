#include "hub/access/roles.h"

namespace cjd::hub::access {
namespace {

// `path` is `prefix` or lies below it ("/v1/segments" covers "/v1/segments/vip/members").
bool Under(std::string_view path, std::string_view prefix) {
  if (path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

// What the analyst role reads. Journeys and the dashboard's other reads join this list as they
// are built.
constexpr std::string_view kAnalystReads[] = {"/v1/metrics", "/v1/profiles", "/v1/segments",
                                              "/v1/offers",  "/v1/devices",  "/v1/stats",
                                              "/v1/alerts",  "/v1/retention", "/v1/journeys"};
// Questions asked with POST (a funnel is too large for a query string): reads all the same.
constexpr std::string_view kAnalystQueries[] = {"/v1/funnels/query", "/v1/attribution/query",
                                                "/v1/paths/query"};

constexpr std::string_view kPrivacy = "/v1/privacy";

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kAnalyst: return "analyst";
    case Role::kPrivacy: return "privacy";
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "analyst") return Role::kAnalyst;
  if (name == "privacy") return Role::kPrivacy;
  return std::nullopt;
}

std::optional<std::string> Forbidden(Role role, std::string_view method, std::string_view path) {
  switch (role) {
    case Role::kAdmin:
      return std::nullopt;
    case Role::kPrivacy:
      if (Under(path, kPrivacy)) return std::nullopt;
      return "the privacy role handles rights requests only (/v1/privacy/...)";
    case Role::kAnalyst:
      for (std::string_view q : kAnalystQueries) {
        if (path == q && method == "POST") return std::nullopt;
      }
      if (method != "GET" && method != "HEAD") return "the analyst role only reads (use GET)";
      for (std::string_view p : kAnalystReads) {
        if (Under(path, p)) return std::nullopt;
      }
      return "the analyst role may not read " + std::string(path);
  }
  return "unknown role";
}

bool Audited(std::string_view method, std::string_view path) {
  if (path == "/v1/collect") return false;
  if (Under(path, kPrivacy)) return true;
  // Every customer's identifiers in bulk: a read worth a record, like a rights export.
  if (path == "/v1/predictions") return true;
  // Pairs of people with their names, dates of birth and addresses.
  if (Under(path, "/v1/identity/review")) return true;
  for (std::string_view q : kAnalystQueries) {
    if (path == q) return false;  // a question, not a change
  }
  return method != "GET" && method != "HEAD";
}

}  // namespace cjd::hub::access
