// The hub's OpenAPI 3.1 description (hub/http/openapi.json), compiled in by
// cmake/EmbedText.cmake and served at GET /v1/openapi.json without a token.
#pragma once

#include <string_view>

namespace cjd::hub {

// The JSON text of hub/http/openapi.json as it was at build time.
std::string_view OpenApiDocument();

}  // namespace cjd::hub
