// The fleet's own certificate authority for the MQTT broker (mutual TLS), on OpenSSL's libcrypto:
// EC P-256 keys, ECDSA with SHA-256, random 128-bit serial numbers.
//
//   CA      CN "CJD fleet CA", basicConstraints CA:TRUE pathlen:0, keyCertSign | cRLSign
//   client  CN = the identity (a device id, or "cjd-hub"), CA:FALSE, digitalSignature,
//           extendedKeyUsage clientAuth. Mosquitto (`use_identity_as_username`) makes the CN
//           the client's user name, which the ACL patterns (%u) bind to the device's topics.
//   server  CN = the name, subjectAltName DNS:/IP: (the host names clients dial; they check it),
//           extendedKeyUsage serverAuth.
// A client certificate cannot act as the broker and the broker's cannot log in as a client
// (OpenSSL checks the extended key usage on both sides).
//
// Used by `cjdctl init-ca`, `issue-cert`, `init-hub --ca-dir`, `add-device --ca-dir`, and by the
// integration tests to set up a TLS broker. In-memory functions are pure apart from randomness;
// the file functions are at the bottom.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "shared/core/status.h"

namespace cjd::ctl {

// The broker user name (certificate CN) the hub connects as; the example ACL grants the hub's
// topics to this user only, so it can never be a device id.
inline constexpr const char kHubIdentity[] = "cjd-hub";

inline constexpr int kCaDays = 3650;    // ten years
inline constexpr int kCertDays = 825;   // the longest validity clients commonly accept

struct PemPair {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8, unencrypted: keep it 0600
};

enum class CertRole { kClient, kServer };

struct CertRequest {
  std::string name;                 // CN: 1-64 of A-Z a-z 0-9 _ . - (a device id, cjd-hub, ...)
  CertRole role = CertRole::kClient;
  std::vector<std::string> dns;     // subjectAltName of a server certificate
  std::vector<std::string> ips;     // at least one DNS name or IP address for a server
  int days = kCertDays;
};

class CertificateAuthority {
 public:
  // A new CA (key and self-signed certificate), `days` valid from now.
  static Result<PemPair> Create(const std::string& common_name, int days = kCaDays);
  // From the CA's PEM certificate and key; kInvalid if they do not parse or do not match.
  static Result<CertificateAuthority> FromPem(const std::string& cert_pem,
                                              const std::string& key_pem);
  // From DIR/ca.crt and DIR/ca.key; kNotFound, with a hint, when DIR holds no CA.
  static Result<CertificateAuthority> Load(const std::string& dir);

  CertificateAuthority(CertificateAuthority&&) noexcept;
  CertificateAuthority& operator=(CertificateAuthority&&) noexcept;
  ~CertificateAuthority();

  // A new key pair and a certificate for it signed by this CA. kInvalid naming the flag
  // ("--name", "--dns", "--ip", "--days") for a bad request.
  Result<PemPair> Issue(const CertRequest& request) const;
  const std::string& cert_pem() const { return cert_pem_; }

 private:
  struct Impl;
  CertificateAuthority(std::unique_ptr<Impl> impl, std::string cert_pem);
  std::unique_ptr<Impl> impl_;
  std::string cert_pem_;
};

// ---- files -------------------------------------------------------------------------------------

// Creates DIR (0700 if new) with DIR/ca.crt (0644) and DIR/ca.key (0600). kConflict if DIR
// already holds a CA.
Status InitCa(const std::string& dir, int days = kCaDays);

// Writes `pem` to `cert_path` (0644) and `key_path` (0600; the key never touches the disk with
// wider permissions), each fsynced. kConflict if either exists, unless `overwrite`.
Status WriteCertAndKey(const std::string& cert_path, const std::string& key_path,
                       const PemPair& pem, bool overwrite = false);

// Writes `text` to `path` with mode 0644 (public files: certificates), fsynced, replacing it.
Status WritePublicFile(const std::string& path, const std::string& text);

}  // namespace cjd::ctl
