// Streaming RFC 4180 reader; see csv_reader.h for the dialect. The hot loops copy whole spans
// between separators (memchr for quoted fields, a lookup table for unquoted ones).
#include "tools/cjdctl/import/csv_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace cjd::import {

// ---- byte sources ----------------------------------------------------------------------------

class CsvReader::Source {
 public:
  virtual ~Source() = default;
  // Bytes read into `buf` (0 at end of input), or an error message.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  virtual uint64_t offset() const = 0;
};

namespace {

class FileSource : public CsvReader::Source {
 public:
  explicit FileSource(int fd) : fd_(fd) {}
  ~FileSource() override { ::close(fd_); }
  Result<size_t> Read(char* buf, size_t n) override {
    for (;;) {
      const ssize_t r = ::read(fd_, buf, n);
      if (r >= 0) {
        offset_ += static_cast<uint64_t>(r);
        return static_cast<size_t>(r);
      }
      if (errno != EINTR) return Status::Io(std::string("read failed: ") + std::strerror(errno));
    }
  }
  uint64_t offset() const override { return offset_; }

 private:
  int fd_;
  uint64_t offset_ = 0;
};

class GzipSource : public CsvReader::Source {
 public:
  explicit GzipSource(gzFile f) : f_(f) {}
  ~GzipSource() override { gzclose(f_); }
  Result<size_t> Read(char* buf, size_t n) override {
    const int r = gzread(f_, buf, static_cast<unsigned>(std::min<size_t>(n, 1u << 30)));
    int err = Z_OK;
    const char* msg = gzerror(f_, &err);
    if (r < 0 || (r == 0 && err != Z_OK)) {
      if (err == Z_ERRNO) return Status::Io(std::string("read failed: ") + std::strerror(errno));
      return Status::Io(std::string("gzip data is corrupt or truncated (") +
                        (msg != nullptr ? msg : "unknown zlib error") + ")");
    }
    return static_cast<size_t>(r);
  }
  uint64_t offset() const override {
    const z_off_t o = gzoffset(f_);
    return o < 0 ? 0 : static_cast<uint64_t>(o);
  }

 private:
  gzFile f_;
};

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Bytes that end an unquoted field.
constexpr std::array<bool, 256> MakeStopTable() {
  std::array<bool, 256> t{};
  t[static_cast<unsigned char>(',')] = true;
  t[static_cast<unsigned char>('\n')] = true;
  t[static_cast<unsigned char>('\r')] = true;
  return t;
}
constexpr std::array<bool, 256> kStop = MakeStopTable();

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

// ---- CsvReader -------------------------------------------------------------------------------

CsvReader::CsvReader() = default;
CsvReader::~CsvReader() = default;

Status CsvReader::Error(int64_t line, const std::string& message) const {
  return Status::Invalid(path_ + ":" + std::to_string(line) + ": " + message);
}

Status CsvReader::Open(const std::string& path) {
  path_ = path;
  source_.reset();
  pos_ = end_ = 0;
  eof_ = false;
  read_error_ = Status::Ok();
  line_ = 1;
  skip_lf_ = false;
  header_.clear();
  header_index_.clear();
  rows_read_ = 0;

  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Io(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Io(path + ": not a regular file");
  }
  file_size_ = static_cast<uint64_t>(st.st_size);
  if (EndsWith(path, ".gz")) {
    gzFile f = gzdopen(fd, "rb");
    if (f == nullptr) {
      ::close(fd);
      return Status::Io(path + ": cannot open as gzip");
    }
    gzbuffer(f, kBufferSize);
    source_ = std::make_unique<GzipSource>(f);
  } else {
    source_ = std::make_unique<FileSource>(fd);
  }
  if (!buf_) buf_ = std::make_unique<char[]>(kBufferSize);

  // UTF-8 byte order mark.
  if (Fill() && end_ - pos_ >= 3 && std::memcmp(buf_.get() + pos_, "\xEF\xBB\xBF", 3) == 0) {
    pos_ += 3;
  }
  if (!read_error_.ok()) return Error(line_, read_error_.message());

  CsvRow row;
  for (;;) {
    Result<RecordResult> r = ReadRecord(&row);
    if (!r.ok()) return r.status();
    if (*r == RecordResult::kEof) return Error(line_, "empty file: no header line");
    if (*r == RecordResult::kRecord) break;
  }
  header_ = std::move(row.fields);
  header_line_ = row.line;
  for (size_t i = 0; i < header_.size(); ++i) {
    header_index_.emplace(std::string(Trim(header_[i])), i);  // the first of equal names wins
  }
  return Status::Ok();
}

std::optional<size_t> CsvReader::ColumnIndex(std::string_view name) const {
  const auto it = header_index_.find(std::string(Trim(name)));
  if (it == header_index_.end()) return std::nullopt;
  return it->second;
}

uint64_t CsvReader::file_offset() const { return source_ ? source_->offset() : 0; }

bool CsvReader::Fill() {
  if (pos_ < end_) return true;
  if (eof_ || !source_) return false;
  Result<size_t> n = source_->Read(buf_.get(), kBufferSize);
  pos_ = 0;
  end_ = 0;
  if (!n.ok()) {
    read_error_ = n.status();
    eof_ = true;
    return false;
  }
  if (*n == 0) {
    eof_ = true;
    return false;
  }
  end_ = *n;
  return true;
}

Result<bool> CsvReader::Next(CsvRow* row) {
  for (;;) {
    Result<RecordResult> r = ReadRecord(row);
    if (!r.ok()) return r.status();
    if (*r == RecordResult::kEof) return false;
    if (*r == RecordResult::kRecord) {
      ++rows_read_;
      return true;
    }
  }
}

Result<CsvReader::RecordResult> CsvReader::ReadRecord(CsvRow* row) {
  if (skip_lf_) {
    if (Fill() && buf_[pos_] == '\n') ++pos_;
    skip_lf_ = false;
  }
  if (!Fill()) {
    if (!read_error_.ok()) return Error(line_, read_error_.message());
    return RecordResult::kEof;
  }
  const int64_t start_line = line_;
  row->line = start_line;
  std::vector<std::string>& fields = row->fields;
  size_t n = 0;
  size_t bytes = 0;
  bool quoted_any = false;
  const auto too_long = [&] {
    return Error(start_line, "record is longer than " + std::to_string(kMaxRecordBytes) +
                                 " bytes (a quote that is never closed?)");
  };
  const auto read_failed = [&] { return Error(line_, read_error_.message()); };

  bool record_done = false;
  while (!record_done) {
    if (n == kMaxFields) {
      return Error(start_line, "record has more than " + std::to_string(kMaxFields) + " fields");
    }
    if (n == fields.size()) fields.emplace_back();
    std::string& f = fields[n++];
    f.clear();
    if (!Fill()) {  // end of input right after a separator: an empty last field
      if (!read_error_.ok()) return read_failed();
      break;
    }
    if (buf_[pos_] == '"') {
      quoted_any = true;
      const int64_t quote_line = line_;
      ++pos_;
      bool at_eof = false;
      for (;;) {
        if (!Fill()) {
          if (!read_error_.ok()) return read_failed();
          return Error(quote_line, "unterminated quoted field (the quote opened on line " +
                                       std::to_string(quote_line) +
                                       " is still open at end of file)");
        }
        const char* p = buf_.get() + pos_;
        const char* e = buf_.get() + end_;
        const char* q = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(e - p)));
        const char* stop = q != nullptr ? q : e;
        line_ += std::count(p, stop, '\n');
        f.append(p, stop);
        bytes += static_cast<size_t>(stop - p);
        if (bytes > kMaxRecordBytes) return too_long();
        if (q == nullptr) {
          pos_ = end_;
          continue;
        }
        pos_ = static_cast<size_t>(q - buf_.get()) + 1;
        if (!Fill()) {
          if (!read_error_.ok()) return read_failed();
          at_eof = true;
          break;
        }
        if (buf_[pos_] == '"') {  // doubled quote
          f.push_back('"');
          ++pos_;
          continue;
        }
        break;
      }
      if (at_eof) break;
      const char c = buf_[pos_];
      ++pos_;
      if (c == ',') continue;
      if (c == '\n' || c == '\r') {
        ++line_;
        skip_lf_ = c == '\r';
        break;
      }
      return Error(line_,
                   "unexpected text after the closing quote of a field (a quote inside a quoted "
                   "field must be doubled)");
    }
    // Unquoted field.
    for (;;) {
      const char* p = buf_.get() + pos_;
      const char* e = buf_.get() + end_;
      const char* s = p;
      while (s < e && !kStop[static_cast<unsigned char>(*s)]) ++s;
      f.append(p, s);
      bytes += static_cast<size_t>(s - p);
      if (bytes > kMaxRecordBytes) return too_long();
      if (s == e) {
        pos_ = end_;
        if (!Fill()) {
          if (!read_error_.ok()) return read_failed();
          record_done = true;
          break;
        }
        continue;
      }
      const char c = *s;
      pos_ = static_cast<size_t>(s - buf_.get()) + 1;
      if (c == ',') break;
      ++line_;
      skip_lf_ = c == '\r';
      record_done = true;
      break;
    }
  }
  fields.resize(n);
  if (n == 1 && !quoted_any && fields[0].empty()) return RecordResult::kBlank;
  return RecordResult::kRecord;
}

}  // namespace cjd::import
