// The OpenAPI 3.1 descriptions (issue 16) against real servers: a real broker, hub and kiosk
// agent. GET /v1/openapi.json answers without a token; the document is the checked-in
// hub/http/openapi.json or agent/http/openapi.json; then every path and method it lists is sent
// to the server that published it (path parameters from the document's examples, an empty JSON
// object as the body, an admin token, a source key or the agent's token as the operation's
// security asks) and must be routed -- not the "no such endpoint" 404, not a 405 -- with a
// status the document lists for that operation, and the top-level fields its schema requires
// for a JSON 2xx. Conversely, the routes the code answers (listed here from hub_api.cpp,
// hub/http/*_api.cpp and agent_api.cpp) must be in the document, and every method the
// document does not list for a path must get 405.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/fleet_fixture.h"

namespace cjd::itest {
namespace {

using json = nlohmann::json;

const std::vector<std::string> kMethods = {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The checked-in source of a document (CJD_SOURCE_DIR is set by ctest); null when unknown.
json SourceDocument(const std::string& relative) {
  const char* dir = std::getenv("CJD_SOURCE_DIR");
  if (dir == nullptr) return json();
  std::ifstream in(std::string(dir) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str(), nullptr, false);
}

// Follows a local "$ref" ("#/components/schemas/Event").
const json& Resolve(const json& doc, const json& node) {
  if (!node.is_object() || !node.contains("$ref")) return node;
  std::string ref = node["$ref"].get<std::string>();
  EXPECT_EQ(ref.rfind("#/", 0), 0u) << ref;
  return doc.at(json::json_pointer(ref.substr(1)));
}

// The `required` top-level fields of `schema` (through $ref and allOf) missing from `value`.
void MissingRequired(const json& doc, const json& schema_node, const json& value,
                     std::vector<std::string>* missing) {
  const json& schema = Resolve(doc, schema_node);
  if (schema.contains("allOf")) {
    for (const json& part : schema["allOf"]) MissingRequired(doc, part, value, missing);
  }
  if (!schema.contains("required")) return;
  for (const json& name : schema["required"]) {
    if (!value.is_object() || !value.contains(name.get<std::string>())) {
      missing->push_back(name.get<std::string>());
    }
  }
}

// Every {name} of `path` replaced by the example of its parameter (path-level or the
// operation's); fails the test for a template variable without a documented parameter.
std::string FillPath(const json& doc, const std::string& path, const json& item, const json& op) {
  std::vector<json> params;
  for (const json* list : {&item, &op}) {
    if (list->contains("parameters")) {
      for (const json& p : (*list)["parameters"]) params.push_back(Resolve(doc, p));
    }
  }
  std::string out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] != '{') {
      out += path[i++];
      continue;
    }
    const size_t close = path.find('}', i);
    const std::string name = path.substr(i + 1, close - i - 1);
    std::string value;
    for (const json& p : params) {
      if (p.value("in", "") == "path" && p.value("name", "") == name) {
        EXPECT_TRUE(p.value("required", false)) << path << ": path parameter " << name;
        EXPECT_TRUE(p.contains("example")) << path << ": path parameter " << name
                                           << " has no example";
        if (p.contains("example")) {
          value = p["example"].is_string() ? p["example"].get<std::string>()
                                           : p["example"].dump();
        }
      }
    }
    EXPECT_FALSE(value.empty()) << path << ": no documented path parameter " << name;
    out += value.empty() ? "x" : value;
    i = close + 1;
  }
  return out;
}

// "no such endpoint" as both servers answer an unknown path.
bool IsNoSuchEndpoint(const HttpResponse& r) {
  if (r.status != 404) return false;
  const json j = r.Json();
  return j.is_object() && j.contains("error") &&
         j["error"].value("code", "") == "not_found" &&
         j["error"].value("message", "").rfind("no such endpoint", 0) == 0;
}

struct Credentials {
  std::string admin_token;   // hubToken
  std::string source_key;    // sourceKey, writeKeyBasic
  std::string agent_token;   // agentToken
};

// The Authorization header an operation's security asks for ("" for none): the first
// requirement the test holds credentials for.
std::string AuthorizationFor(const json& doc, const json& op, const Credentials& c) {
  const json& security = op.contains("security") ? op["security"]
                                                 : doc.value("security", json::array());
  for (const json& requirement : security) {
    if (requirement.empty()) return "";  // {}: nothing needed
    for (const auto& [scheme, roles] : requirement.items()) {
      if (scheme == "hubToken") return "Bearer " + c.admin_token;
      if (scheme == "sourceKey") return "Bearer " + c.source_key;
      if (scheme == "agentToken") return "Bearer " + c.agent_token;
    }
  }
  return "";
}

struct Sent {
  std::string method;
  std::string path;     // the template
  std::string target;   // as sent
  HttpResponse response;
};

// Sends one request for `method` on `path` as the document describes it.
Sent Send(HttpClient& client, const json& doc, const std::string& path, const std::string& method,
          const Credentials& creds) {
  const json& item = doc["paths"][path];
  const std::string m = Lower(method);
  const json op = item.contains(m) ? item[m] : json::object();
  Sent s{method, path, FillPath(doc, path, item, op), {}};
  HttpClient::Headers headers;
  const std::string auth = AuthorizationFor(doc, op, creds);
  if (!auth.empty()) headers["Authorization"] = auth;
  std::string body;
  if (op.contains("requestBody")) {
    body = "{}";
    headers["Content-Type"] = "application/json";
  }
  s.response = client.Request(method, s.target, body, headers);
  return s;
}

// Every path+method of `doc` answered by the server at `client`: routed, with a documented
// status, and with the documented required fields in a JSON 2xx.
void CheckEveryOperationIsRouted(HttpClient& client, const json& doc, const Credentials& creds,
                                 const std::string& who) {
  int operations = 0;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const std::string& method : kMethods) {
      const std::string m = Lower(method);
      if (!item.contains(m)) continue;
      ++operations;
      const json& op = item[m];
      EXPECT_TRUE(op.contains("operationId") && op.contains("summary") && op.contains("responses"))
          << who << " " << method << " " << path;
      const Sent s = Send(client, doc, path, method, creds);
      const HttpResponse& r = s.response;
      const std::string what = who + " " + method + " " + s.target + " -> " +
                               std::to_string(r.status) + " " + r.body.substr(0, 300);
      ASSERT_NE(r.status, 0) << what;
      EXPECT_FALSE(IsNoSuchEndpoint(r)) << "documented but not routed: " << what;
      EXPECT_NE(r.status, 405) << "documented method refused: " << what;
      EXPECT_NE(r.status, 500) << what;
      // An operation documented as open (security [] or {}) must not ask for credentials.
      const json& security = op.contains("security") ? op["security"] : doc["security"];
      bool open = security.empty();
      for (const json& requirement : security) open = open || requirement.empty();
      if (open) {
        EXPECT_NE(r.status, 401) << "documented as open: " << what;
      }
      const std::string code = std::to_string(r.status);
      EXPECT_TRUE(op["responses"].contains(code))
          << "status not in the document's responses: " << what;
      if (r.status >= 200 && r.status < 300 && op["responses"].contains(code)) {
        const json& answer = Resolve(doc, op["responses"][code]);
        if (answer.contains("content") && answer["content"].contains("application/json")) {
          const std::string type =
              r.headers.count("Content-Type") > 0 ? r.headers.at("Content-Type") : "";
          EXPECT_EQ(type.rfind("application/json", 0), 0u) << what << " (" << type << ")";
          const json body = r.Json();
          ASSERT_FALSE(body.is_null()) << what;
          std::vector<std::string> missing;
          MissingRequired(doc, answer["content"]["application/json"]["schema"], body, &missing);
          EXPECT_TRUE(missing.empty())
              << what << ": missing required fields " << json(missing).dump();
        }
      }
    }
  }
  EXPECT_GT(operations, 0) << who;
}

// Every method the document does not list for a path answers 405 (`exempt`: paths documented
// as answering any method).
void CheckUnlistedMethodsAre405(HttpClient& client, const json& doc, const Credentials& creds,
                                const std::string& who, const std::set<std::string>& exempt) {
  int checked = 0;
  for (const auto& [path, item] : doc["paths"].items()) {
    if (exempt.count(path) > 0) continue;
    for (const std::string& method : kMethods) {
      if (item.contains(Lower(method))) continue;
      // Credentials as for a listed method of the path (the refusal must not be a 401 first).
      std::string listed;
      for (const std::string& other : kMethods) {
        if (item.contains(Lower(other))) listed = other;
      }
      const json& op = item[Lower(listed)];
      HttpClient::Headers headers;
      const std::string auth = AuthorizationFor(doc, op, creds);
      if (!auth.empty()) headers["Authorization"] = auth;
      const std::string target = FillPath(doc, path, item, op);
      const HttpResponse r = client.Request(method, target, "", headers);
      ++checked;
      EXPECT_EQ(r.status, 405) << who << " " << method << " " << target
                               << " (not in the document) -> " << r.status << " " << r.body;
      if (r.status == 405) {
        EXPECT_EQ(r.Json()["error"].value("code", ""), "method_not_allowed") << r.body;
      }
    }
  }
  EXPECT_GT(checked, 0) << who;
}

// `routes` (method, path template) that the code answers, all in the document.
void CheckRoutesDocumented(const json& doc,
                           const std::vector<std::pair<std::string, std::string>>& routes,
                           const std::string& who) {
  for (const auto& [method, path] : routes) {
    EXPECT_TRUE(doc["paths"].contains(path) && doc["paths"][path].contains(Lower(method)))
        << who << " answers " << method << " " << path << " but its document does not list it";
  }
}

void CheckDocumentShape(const json& doc, const std::string& who) {
  ASSERT_TRUE(doc.is_object()) << who;
  ASSERT_TRUE(doc.contains("openapi") && doc["openapi"].is_string()) << who;
  EXPECT_EQ(doc["openapi"].get<std::string>().rfind("3.1", 0), 0u) << doc["openapi"];
  ASSERT_TRUE(doc.contains("info") && doc["info"].is_object()) << who;
  EXPECT_TRUE(doc["info"].contains("title") && doc["info"].contains("version")) << who;
  ASSERT_TRUE(doc.contains("paths") && doc["paths"].is_object() && !doc["paths"].empty()) << who;
  // The shared error shape.
  const json& error = doc["components"]["schemas"]["Error"];
  ASSERT_TRUE(error.is_object()) << who;
  EXPECT_EQ(error["properties"]["error"]["required"], json({"code", "message"})) << who;
  EXPECT_TRUE(error["properties"]["error"]["properties"].contains("field")) << who;
  // operationIds are unique; /v1/openapi.json is documented without a token.
  std::set<std::string> ids;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      EXPECT_TRUE(ids.insert(op.value("operationId", "")).second)
          << who << ": operationId repeated: " << op.value("operationId", "");
    }
  }
  ASSERT_TRUE(doc["paths"].contains("/v1/openapi.json")) << who;
  EXPECT_EQ(doc["paths"]["/v1/openapi.json"]["get"]["security"], json::array()) << who;
}

// GET /v1/openapi.json without a token: 200, JSON, and the checked-in file.
json FetchDocument(HttpClient& client, const std::string& source, const std::string& who) {
  const HttpResponse r = client.Get("/v1/openapi.json");
  EXPECT_EQ(r.status, 200) << who << ": " << r.body.substr(0, 300);
  EXPECT_EQ(r.headers.count("Content-Type") ? r.headers.at("Content-Type") : "",
            "application/json")
      << who;
  json doc = r.Json();
  EXPECT_FALSE(doc.is_null()) << who << ": not JSON";
  const json file = SourceDocument(source);
  if (!file.is_null()) {
    EXPECT_EQ(doc, file) << who << " serves another document than " << source;
  }
  // Other methods: 405; a body: 400.
  EXPECT_EQ(client.Post("/v1/openapi.json", "{}").status, 405) << who;
  EXPECT_EQ(client.Delete("/v1/openapi.json").status, 405) << who;
  const HttpResponse with_body = client.Request("GET", "/v1/openapi.json", "{}");
  EXPECT_EQ(with_body.status, 400) << who << ": " << with_body.body;
  return doc;
}

class OpenApi : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub();
    creds_.source_key = fleet_.AddSource("webshop");
    agent_ = &fleet_.AddDevice("kiosk-1", "s1", "kiosk");
    fleet_.StartHub();
    ASSERT_TRUE(fleet_.StartAgent(*agent_)) << fleet_.Diagnostics();
    creds_.admin_token = fleet_.hub_token();
    creds_.agent_token = agent_->token;
    hub_ = std::make_unique<HttpClient>(fleet_.hub_port(), 60s);
    agent_client_ = std::make_unique<HttpClient>(agent_->port, 30s);
  }

  Fleet fleet_;
  FleetAgent* agent_ = nullptr;
  Credentials creds_;
  std::unique_ptr<HttpClient> hub_;
  std::unique_ptr<HttpClient> agent_client_;
};

TEST_F(OpenApi, HubDocumentDescribesEveryRouteTheHubAnswers) {
  const json doc = FetchDocument(*hub_, "hub/http/openapi.json", "hub");
  ASSERT_FALSE(doc.is_null());
  CheckDocumentShape(doc, "hub");
  // An undocumented path is "no such endpoint" (what the routed check tells apart).
  EXPECT_TRUE(IsNoSuchEndpoint(hub_->Get("/v1/no-such-thing", creds_.admin_token)));
  EXPECT_FALSE(doc["paths"].contains("/v1/no-such-thing"));

  CheckEveryOperationIsRouted(*hub_, doc, creds_, "hub");

  // The routes of hub_api.cpp and hub/http/*_api.cpp, at least one per module.
  std::vector<std::pair<std::string, std::string>> routes = {
      {"GET", "/healthz"}, {"GET", "/metrics"}, {"GET", "/ui"}, {"GET", "/ui/"},
      {"GET", "/ui/{file}"}, {"GET", "/v1/openapi.json"},
      {"POST", "/v1/collect"}, {"OPTIONS", "/v1/collect"},
      {"GET", "/v1/stats"}, {"GET", "/v1/devices"}, {"GET", "/v1/alerts"}, {"GET", "/v1/audit"},
      // profile_api.cpp
      {"GET", "/v1/metrics"}, {"GET", "/v1/profiles"}, {"GET", "/v1/profiles/{id}"},
      {"POST", "/v1/profiles/{id}/split"},
      // segment_api.cpp
      {"GET", "/v1/segments"}, {"POST", "/v1/segments"}, {"GET", "/v1/segments/{id}"},
      {"DELETE", "/v1/segments/{id}"}, {"GET", "/v1/segments/{id}/members"},
      // offer_api.cpp
      {"GET", "/v1/offers"}, {"POST", "/v1/offers"}, {"GET", "/v1/offers/{id}"},
      {"DELETE", "/v1/offers/{id}"}, {"GET", "/v1/offers/{id}/stats"},
      // journey_api.cpp
      {"GET", "/v1/metrics/web"}, {"POST", "/v1/funnels/query"}, {"GET", "/v1/retention"},
      {"GET", "/v1/journeys/sessions"}, {"POST", "/v1/attribution/query"},
      {"POST", "/v1/paths/query"}, {"GET", "/v1/journeys/lifecycle"},
      {"GET", "/v1/journeys/stages"},
      // prediction_api.cpp
      {"GET", "/v1/predictions"}, {"POST", "/v1/predictions/refit"},
      // identity_api.cpp
      {"GET", "/v1/identity/review"}, {"GET", "/v1/identity/review/{id}"},
      {"POST", "/v1/identity/review/{id}"},
      // destination_api.cpp
      {"GET", "/v1/destinations"}, {"POST", "/v1/destinations"},
      {"GET", "/v1/destinations/{id}"}, {"DELETE", "/v1/destinations/{id}"},
      {"GET", "/v1/destinations/{id}/deliveries"},
      // privacy_api.cpp
      {"GET", "/v1/privacy/export"}, {"GET", "/v1/privacy/erasures"},
      {"POST", "/v1/privacy/erasures"}, {"GET", "/v1/privacy/erasures/{id}"}};
  // The Segment-compatible calls (segment_request.h), each with its preflight.
  for (const char* kind : {"track", "identify", "page", "screen", "group", "alias", "batch"}) {
    routes.emplace_back("POST", std::string("/v1/") + kind);
    routes.emplace_back("OPTIONS", std::string("/v1/") + kind);
  }
  CheckRoutesDocumented(doc, routes, "hub");

  // /healthz answers any method (documented in its description).
  CheckUnlistedMethodsAre405(*hub_, doc, creds_, "hub", {"/healthz"});
}

TEST_F(OpenApi, AgentDocumentDescribesEveryRouteTheAgentAnswers) {
  const json doc = FetchDocument(*agent_client_, "agent/http/openapi.json", "agent");
  ASSERT_FALSE(doc.is_null());
  CheckDocumentShape(doc, "agent");
  EXPECT_TRUE(IsNoSuchEndpoint(agent_client_->Get("/v1/no-such-thing", creds_.agent_token)));

  CheckEveryOperationIsRouted(*agent_client_, doc, creds_, "agent");
  CheckRoutesDocumented(doc,
                        {{"GET", "/healthz"}, {"GET", "/metrics"}, {"GET", "/v1/status"},
                         {"POST", "/v1/events"}, {"GET", "/v1/offers"},
                         {"GET", "/v1/openapi.json"}},
                        "agent");
  CheckUnlistedMethodsAre405(*agent_client_, doc, creds_, "agent", {"/healthz"});
}

// The document holds no data and needs no token, on both; the routes around it keep theirs.
TEST_F(OpenApi, ServedWithoutATokenWhileTheRestStillNeedsOne) {
  EXPECT_EQ(hub_->Get("/v1/openapi.json").status, 200);
  EXPECT_EQ(hub_->Get("/v1/openapi.json", "not-a-token").status, 200);
  EXPECT_EQ(hub_->Get("/v1/stats").status, 401);
  EXPECT_EQ(agent_client_->Get("/v1/openapi.json").status, 200);
  EXPECT_EQ(agent_client_->Post("/v1/events", "{}").status, 401);
  // An analyst or privacy token reads it too (it is answered before any role check).
  const std::string privacy = fleet_.AddToken("privacy", "dpo");
  EXPECT_EQ(hub_->Get("/v1/openapi.json", privacy).status, 200);
  EXPECT_EQ(hub_->Get("/v1/stats", privacy).status, 403);
}

}  // namespace
}  // namespace cjd::itest
