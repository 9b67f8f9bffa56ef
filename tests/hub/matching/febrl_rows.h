// The FEBRL benchmark files (../shared/datasets/febrl) as rows of cells: rec_id, given_name,
// surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth,
// soc_sec_id, comma + space separated. Shared by the matcher's benchmark test and the hub's
// end-to-end matching test.
#pragma once

#include <fstream>
#include <string>
#include <vector>

namespace cjd::testing {

inline constexpr size_t kFebrlColumns = 11;

// Every data row's cells, leading blanks removed; empty when the file cannot be read or a row
// does not have 11 cells.
inline std::vector<std::vector<std::string>> ReadFebrlRows(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return rows;  // header
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> cells;
    size_t start = 0;
    while (true) {
      const size_t comma = line.find(',', start);
      std::string cell = line.substr(start, comma == std::string::npos ? std::string::npos
                                                                        : comma - start);
      cell.erase(0, cell.find_first_not_of(' '));
      cells.push_back(std::move(cell));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (cells.size() != kFebrlColumns) return {};
    rows.push_back(std::move(cells));
  }
  return rows;
}

// The person a rec_id names: "rec-223-dup-0" -> "223".
inline std::string FebrlEntity(const std::string& rec_id) {
  const size_t a = rec_id.find('-');
  return rec_id.substr(a + 1, rec_id.find('-', a + 1) - a - 1);
}

}  // namespace cjd::testing
