// Helpers for the import tests: files in a temp dir, and running an import into vectors.
#pragma once

#include <string>
#include <vector>

#include "shared/core/status.h"
#include "tools/cjdctl/import/importer.h"
#include "tools/cjdctl/import/order_assembler.h"

namespace cjd::import::testing {

void WriteFile(const std::string& path, const std::string& content);
// gzip-compressed `content` (level 6) at `path`.
void WriteGzip(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

struct Collected {
  std::vector<ImportedOrder> orders;
  std::vector<std::string> json;
  std::vector<BadRow> bad;
  Result<ImportResult> result = Status::Internal("not run");
};

// Runs ImportFiles with `map_spec` (must parse) and `options`.
Collected RunImport(const std::vector<std::string>& files, const std::string& map_spec,
                    const AssemblerOptions& options);

// The 13 monthly .csv.gz files of the UCI Online Retail set, sorted; empty (with `*why_not`, a
// message for GTEST_SKIP) when ../shared/datasets/online-retail is absent or incomplete.
std::vector<std::string> UciFiles(std::string* why_not);

// AssemblerOptions with currency GBP and source "test" (and Europe/London when `london`).
AssemblerOptions TestOptions(bool london = true);

}  // namespace cjd::import::testing
