// TlsPki: a CA and certificates for a TLS test broker, made with cjdctl's own CA code
// (tools/cjdctl/pki), in a directory of the test's TempDir.
//
//   TlsPki pki(dir.Join("pki"));                       // CA + broker cert for 127.0.0.1, localhost
//   Mosquitto broker = Mosquitto::Start(dir.Join("broker"), 0, pki.BrokerTls());
//   TlsPki::Files a = pki.IssueClient("pos-1");        // CN pos-1: the broker user pos-1
//
// The broker applies the repository's example ACL, device-configs/mosquitto.acl, so the tests
// check the file operators copy. Throws std::runtime_error on any failure.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/mosquitto.h"

namespace cjd::testing {

class TlsPki {
 public:
  struct Files {
    std::filesystem::path cert;
    std::filesystem::path key;
  };

  // Creates `dir` with a CA (ca.crt, ca.key) and the broker's certificate (broker.crt/.key) for
  // `broker_dns` and `broker_ips`.
  explicit TlsPki(std::filesystem::path dir, std::vector<std::string> broker_dns = {"localhost"},
                  std::vector<std::string> broker_ips = {"127.0.0.1"});

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path ca_file() const { return dir_ / "ca.crt"; }
  // The broker's TLS settings with `acl_file` (default: SourceDir()/device-configs/mosquitto.acl).
  MosquittoTls BrokerTls(std::filesystem::path acl_file = {}) const;

  // A client certificate (CN = `name`) in dir()/NAME.crt, NAME.key.
  Files IssueClient(const std::string& name) const;
  // A server certificate for other names, e.g. to show a client refuses it.
  Files IssueServer(const std::string& name, const std::vector<std::string>& dns,
                    const std::vector<std::string>& ips) const;

 private:
  std::filesystem::path dir_;
};

}  // namespace cjd::testing
