// The agent's OpenAPI 3.1 description (agent/http/openapi.json), compiled in by
// cmake/EmbedText.cmake and served at GET /v1/openapi.json without a token.
#pragma once

#include <string_view>

namespace cjd::agent {

// The JSON text of agent/http/openapi.json as it was at build time.
std::string_view OpenApiDocument();

}  // namespace cjd::agent
