// Files that hold secrets or personal data: readable by their owner only, from the first byte.
//
// WriteSecretFile never exposes the content under a wider mode or a half-written name: it writes
// a fresh temporary file created 0600 with O_EXCL (mkstemp) beside the target, fsyncs it, renames
// it over the target and fsyncs the directory, so after a crash the target is either the old file
// or the whole new one. RestrictFileCreation sets the process umask to 077 so that everything the
// process creates afterwards (SQLite databases and their -wal/-shm, logs, keys) is 0600/0700.
#pragma once

#include <string>

#include "shared/core/status.h"

namespace cjd {

// Replaces `path` atomically with `content`, mode 0600. kIo naming the path on failure (the
// temporary file is removed).
Status WriteSecretFile(const std::string& path, const std::string& content);

// fsyncs the directory holding `path`, so a rename into it is durable. kIo naming the path.
Status SyncDirectoryOf(const std::string& path);

// umask(077) for the whole process. Call first thing in main().
void RestrictFileCreation();

}  // namespace cjd
