// The UCI Online Retail set as the benchmarks read it (tests/bench/retail.cpp): its files, the
// column mapping and the assembler options `cjdctl import` is given for it.
#pragma once

#include <string>
#include <vector>

#include "tools/cjdctl/import/importer.h"

namespace cjd::bench {

// The --map of the UCI columns, as in tests/tools/import/online_retail_test.cpp.
extern const char* const kUciMap;
// The 13 monthly .csv.gz files of ../shared/datasets/online-retail, sorted; empty with a reason.
std::vector<std::string> UciFiles(std::string* why_not);
// source "uci", currency GBP, times in Europe/London.
import::AssemblerOptions UciOptions();

}  // namespace cjd::bench
