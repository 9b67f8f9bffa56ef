#include "tests/tools/import/test_util.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/support/binaries.h"

namespace cjd::import::testing {

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

void WriteGzip(const std::string& path, const std::string& content) {
  gzFile f = gzopen(path.c_str(), "wb6");
  if (f == nullptr) throw std::runtime_error("cannot gzopen " + path);
  size_t done = 0;
  while (done < content.size()) {
    const unsigned n = static_cast<unsigned>(std::min<size_t>(content.size() - done, 1 << 20));
    if (gzwrite(f, content.data() + done, n) != static_cast<int>(n)) {
      gzclose(f);
      throw std::runtime_error("gzwrite failed");
    }
    done += n;
  }
  if (gzclose(f) != Z_OK) throw std::runtime_error("gzclose failed");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Collected RunImport(const std::vector<std::string>& files, const std::string& map_spec,
                    const AssemblerOptions& options) {
  Collected c;
  Result<FieldMap> map = ParseFieldMap(map_spec);
  if (!map.ok()) throw std::runtime_error("bad map in test: " + map.status().message());
  c.result = ImportFiles(
      files, *map, options,
      [&](const ImportedOrder& o) {
        c.orders.push_back(o);
        c.json.push_back(ToEventJson(o));
        return Status::Ok();
      },
      [&](const BadRow& b) { c.bad.push_back(b); });
  return c;
}

AssemblerOptions TestOptions(bool london) {
  AssemblerOptions o;
  o.source = "test";
  o.currency = "GBP";
  if (london) {
    Result<TimeZone> tz = TimeZone::Load("Europe/London");
    if (!tz.ok()) throw std::runtime_error(tz.status().message());
    o.time_zone = *tz;
  }
  return o;
}

std::vector<std::string> UciFiles(std::string* why_not) {
  const std::string dir = cjd::testing::DatasetDir("online-retail");
  if (dir.empty()) {
    *why_not =
        "the UCI Online Retail data set is not there (expected ../shared/datasets/"
        "online-retail beside the repository); skipping";
    return {};
  }
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    // The 13 monthly .csv.gz files only: the plain .csv is a copy of December 2010.
    if (name.rfind("online_retail_", 0) == 0 && name.size() > 7 &&
        name.compare(name.size() - 7, 7, ".csv.gz") == 0) {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  if (files.size() != 13) {
    *why_not = "expected 13 online_retail_*.csv.gz files in " + dir + ", found " +
               std::to_string(files.size()) + "; skipping";
    return {};
  }
  return files;
}

}  // namespace cjd::import::testing
