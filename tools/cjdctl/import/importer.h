// ImportFiles: the whole read side of `cjdctl import FILE...`: checks every file's header
// against --map first (nothing is emitted if one does not fit), then streams the files in the
// order given through one OrderAssembler. Posting the events is the caller's sink.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "shared/core/status.h"
#include "tools/cjdctl/import/import_mapping.h"
#include "tools/cjdctl/import/order_assembler.h"

namespace cjd::import {

struct ImportProgress {
  size_t file_index = 0;  // 0-based
  size_t file_count = 0;
  std::string file;
  uint64_t file_offset = 0;  // bytes of the file consumed (compressed bytes for .gz)
  uint64_t file_size = 0;
  int64_t rows = 0;  // data rows read so far, all files
};

struct ImportResult {
  AssemblerStats stats;
  // Files that could not be read to their end (gzip corruption, an unterminated quote, ...):
  // "FILE:LINE: message". The run in progress was dropped; the other files were still read.
  std::vector<Status> file_errors;
  int64_t files_read = 0;  // files read to their end
};

// Fails before emitting anything on a file that cannot be opened, a header that does not fit
// --map, the same file given twice, or bad options; afterwards only when `on_order` fails.
Result<ImportResult> ImportFiles(const std::vector<std::string>& files, const FieldMap& map,
                                 const AssemblerOptions& options,
                                 const OrderAssembler::OrderSink& on_order,
                                 const OrderAssembler::BadRowSink& on_bad_row,
                                 const std::function<void(const ImportProgress&)>& on_progress = {},
                                 int64_t progress_every_rows = 50'000);

}  // namespace cjd::import
