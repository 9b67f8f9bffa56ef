#include "tools/cjdctl/import/importer.h"

#include <sys/stat.h>

#include <set>
#include <utility>

#include "tools/cjdctl/import/csv_reader.h"

namespace cjd::import {

Result<ImportResult> ImportFiles(const std::vector<std::string>& files, const FieldMap& map,
                                 const AssemblerOptions& options,
                                 const OrderAssembler::OrderSink& on_order,
                                 const OrderAssembler::BadRowSink& on_bad_row,
                                 const std::function<void(const ImportProgress&)>& on_progress,
                                 int64_t progress_every_rows) {
  if (files.empty()) return Status::Invalid("no input files");
  Result<OrderAssembler> assembler = OrderAssembler::Create(options, map, on_order, on_bad_row);
  if (!assembler.ok()) return assembler.status();

  // Pre-flight: every file opens, its header fits the mapping, no file is given twice.
  std::vector<ColumnMap> columns;
  std::set<std::pair<dev_t, ino_t>> seen;
  for (const std::string& file : files) {
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && !seen.emplace(st.st_dev, st.st_ino).second) {
      return Status::Invalid(file +
                             ": given twice (its orders would be imported again as new "
                             "parts)");
    }
    CsvReader reader;
    CJD_RETURN_IF_ERROR(reader.Open(file));
    Result<ColumnMap> cols = BindFieldMap(map, reader.header(), file);
    if (!cols.ok()) return cols.status();
    columns.push_back(std::move(*cols));
  }

  ImportResult result;
  ImportProgress progress;
  progress.file_count = files.size();
  int64_t rows = 0;
  CsvReader reader;
  CsvRow row;
  for (size_t i = 0; i < files.size(); ++i) {
    progress.file_index = i;
    progress.file = files[i];
    Status st = reader.Open(files[i]);
    if (!st.ok()) {
      result.file_errors.push_back(std::move(st));
      continue;
    }
    // The header was checked above; bind again in case the file changed in between.
    Result<ColumnMap> cols = BindFieldMap(map, reader.header(), files[i]);
    if (!cols.ok()) {
      result.file_errors.push_back(cols.status());
      continue;
    }
    assembler->BeginFile(files[i], *cols);
    bool failed = false;
    for (;;) {
      Result<bool> next = reader.Next(&row);
      if (!next.ok()) {
        result.file_errors.push_back(next.status());
        assembler->AbortFile();
        failed = true;
        break;
      }
      if (!*next) break;
      CJD_RETURN_IF_ERROR(assembler->AddRow(row));
      ++rows;
      if (on_progress && progress_every_rows > 0 && rows % progress_every_rows == 0) {
        progress.file_offset = reader.file_offset();
        progress.file_size = reader.file_size();
        progress.rows = rows;
        on_progress(progress);
      }
    }
    if (failed) continue;
    CJD_RETURN_IF_ERROR(assembler->EndFile());
    ++result.files_read;
    if (on_progress) {
      progress.file_offset = reader.file_size();
      progress.file_size = reader.file_size();
      progress.rows = rows;
      on_progress(progress);
    }
  }
  result.stats = assembler->stats();
  return result;
}

}  // namespace cjd::import
