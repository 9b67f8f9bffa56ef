// CsvReader: streams RFC 4180 CSV from a .csv or .csv.gz file in constant memory.
//
//   - A fixed read buffer (256 KiB); a record may be at most kMaxRecordBytes long and have at most
//     kMaxFields fields, so a stray quote cannot pull the rest of a large file into memory.
//   - Files ending in ".gz" are read through zlib (gzopen/gzread, concatenated members too);
//     anything else with read(2).
//   - Quoted fields may hold commas, doubled quotes ("") and line breaks; records end with LF,
//     CRLF or a bare CR. A UTF-8 byte order mark at the start is skipped. Blank lines are
//     skipped (they still count as physical lines). A quote inside an unquoted field is kept as
//     a literal character (12" RECORD); text between a closing quote and the next separator is
//     an error.
//   - The first non-blank record is the header; Open() reads it.
//   - Every error names the file and the 1-based physical line ("FILE:LINE: message"):
//     unterminated quoted field at end of file, text after a closing quote, over-long record,
//     gzip corruption or truncation, read failures.
// Bytes are passed through as they are (no encoding check here; the importer validates UTF-8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "shared/core/status.h"

namespace cjd::import {

struct CsvRow {
  std::vector<std::string> fields;
  int64_t line = 0;  // 1-based physical line on which the record starts
};

class CsvReader {
 public:
  static constexpr size_t kBufferSize = 256 * 1024;
  static constexpr size_t kMaxRecordBytes = 1024 * 1024;
  static constexpr size_t kMaxFields = 16 * 1024;

  CsvReader();
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Opens `path` and reads its header. Fails on a missing/unreadable file, a file without any
  // record, or a malformed header.
  Status Open(const std::string& path);

  // The next data record: true with `*row` filled, false at end of file, or an error.
  Result<bool> Next(CsvRow* row);

  const std::string& path() const { return path_; }
  const std::vector<std::string>& header() const { return header_; }
  int64_t header_line() const { return header_line_; }
  // Index of the first header column named exactly `name`.
  std::optional<size_t> ColumnIndex(std::string_view name) const;

  // Data records returned so far.
  int64_t rows_read() const { return rows_read_; }
  // Bytes consumed from the file so far (compressed bytes for .gz) and the file's size, for
  // progress reports.
  uint64_t file_offset() const;
  uint64_t file_size() const { return file_size_; }

  class Source;  // the byte source (plain file or gzip), defined in the .cpp

 private:
  enum class RecordResult { kRecord, kBlank, kEof };
  Result<RecordResult> ReadRecord(CsvRow* row);
  // Makes at least one byte available at pos_; false at end of input (or on error, see error_).
  bool Fill();
  Status Error(int64_t line, const std::string& message) const;

  std::string path_;
  std::unique_ptr<Source> source_;
  std::unique_ptr<char[]> buf_;
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  Status read_error_;
  int64_t line_ = 1;      // physical line at pos_
  bool skip_lf_ = false;  // the previous record ended with CR; swallow one LF
  uint64_t file_size_ = 0;

  std::vector<std::string> header_;
  std::unordered_map<std::string, size_t> header_index_;
  int64_t header_line_ = 0;
  int64_t rows_read_ = 0;
};

}  // namespace cjd::import
