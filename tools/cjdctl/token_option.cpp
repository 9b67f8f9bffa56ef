#include "tools/cjdctl/token_option.h"

#include "shared/http/client.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace cjd::ctl {

void AddTokenOptions(CLI::App* cmd, std::string* token, std::string* token_file,
                     const std::string& what) {
  cmd->add_option("--token", *token,
                  what + " (visible in `ps`: prefer --token-file or " + kTokenEnv + ")");
  cmd->add_option("--token-file", *token_file,
                  "read " + what + " from the first line of this file (mode 0600)");
  // Every command that takes a token talks to a hub: with --hub https://..., the server's
  // certificate is checked against this CA (default: the system's store).
  cmd->add_option_function<std::string>(
         "--hub-ca", [](const std::string& path) { http::SetDefaultCaFile(path); },
         "with --hub https://...: the CA file (PEM) the hub's certificate must chain to "
         "(default: the system's CAs; also " + std::string(kHubCaEnv) + ")")
      ->envname(kHubCaEnv)
      ->check(CLI::ExistingFile);
}

Status ResolveToken(std::string* token, const std::string& token_file, std::ostream& warn) {
  if (!token->empty()) return Status::Ok();
  if (!token_file.empty()) {
    std::ifstream in(token_file, std::ios::binary);
    if (!in) {
      return Status::Invalid("--token-file: cannot read " + token_file + ": " +
                                 std::strerror(errno),
                             "--token-file");
    }
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.pop_back();
    }
    if (line.empty()) {
      return Status::Invalid("--token-file: " + token_file + " has no token on its first line",
                             "--token-file");
    }
    struct stat st {};
    if (::stat(token_file.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
      warn << "cjdctl: warning: " << token_file
           << " may be read by other users; chmod 600 it\n";
    }
    *token = std::move(line);
    return Status::Ok();
  }
  if (const char* env = std::getenv(kTokenEnv); env != nullptr) *token = env;
  return Status::Ok();
}

}  // namespace cjd::ctl
