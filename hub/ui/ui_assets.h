// The dashboard's static files (hub/ui/static), compiled into cjd-hub so that it serves them
// with no other server, no install path and no internet (cmake/EmbedFiles.cmake writes the
// table at build time).
#pragma once

#include <string_view>
#include <vector>

namespace cjd::hub::ui {

struct Asset {
  std::string_view path;   // "/index.html", "/app.js", ... (under /ui)
  std::string_view bytes;
};

const std::vector<Asset>& Assets();

}  // namespace cjd::hub::ui
