#include "tests/support/tls_pki.h"

#include <stdexcept>

#include "tests/support/binaries.h"
#include "tools/cjdctl/pki/certificate_authority.h"

namespace cjd::testing {
namespace {

TlsPki::Files Issue(const std::filesystem::path& dir, const ctl::CertRequest& request) {
  auto ca = ctl::CertificateAuthority::Load(dir.string());
  if (!ca.ok()) throw std::runtime_error("TlsPki: " + ca.status().ToString());
  auto pem = ca->Issue(request);
  if (!pem.ok()) throw std::runtime_error("TlsPki: " + pem.status().ToString());
  TlsPki::Files files{dir / (request.name + ".crt"), dir / (request.name + ".key")};
  const Status st =
      ctl::WriteCertAndKey(files.cert.string(), files.key.string(), *pem, /*overwrite=*/true);
  if (!st.ok()) throw std::runtime_error("TlsPki: " + st.ToString());
  return files;
}

}  // namespace

TlsPki::TlsPki(std::filesystem::path dir, std::vector<std::string> broker_dns,
               std::vector<std::string> broker_ips)
    : dir_(std::move(dir)) {
  const Status st = ctl::InitCa(dir_.string());
  if (!st.ok()) throw std::runtime_error("TlsPki: " + st.ToString());
  IssueServer("broker", broker_dns, broker_ips);
}

MosquittoTls TlsPki::BrokerTls(std::filesystem::path acl_file) const {
  if (acl_file.empty()) acl_file = std::filesystem::path(SourceDir()) / "device-configs/mosquitto.acl";
  return MosquittoTls{ca_file(), dir_ / "broker.crt", dir_ / "broker.key", std::move(acl_file)};
}

TlsPki::Files TlsPki::IssueClient(const std::string& name) const {
  ctl::CertRequest request;
  request.name = name;
  return Issue(dir_, request);
}

TlsPki::Files TlsPki::IssueServer(const std::string& name, const std::vector<std::string>& dns,
                                  const std::vector<std::string>& ips) const {
  ctl::CertRequest request;
  request.name = name;
  request.role = ctl::CertRole::kServer;
  request.dns = dns;
  request.ips = ips;
  return Issue(dir_, request);
}

}  // namespace cjd::testing
