#include "tools/cjdctl/pki/certificate_authority.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "shared/protocol/topics.h"

namespace cjd::ctl {
namespace fs = std::filesystem;
namespace {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const { Free(p); }
};
using PKeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

// The first queued OpenSSL error, for messages; clears the queue.
std::string OpenSslError(const std::string& what) {
  const unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return what + ": " + buf;
}

Status Fail(const std::string& what) { return Status(Code::kInternal, OpenSslError(what)); }

PKeyPtr NewKey() { return PKeyPtr(EVP_EC_gen("P-256")); }

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

Result<std::string> CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return Fail("writing a certificate");
  return BioText(bio.get());
}

Result<std::string> KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return Fail("writing a private key");
  return BioText(bio.get());
}

Status AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Fail(std::string("adding ") + OBJ_nid2sn(nid) + " = " + value);
  }
  return Status::Ok();
}

// A certificate for `key` named `cn`, valid for `days` (from five minutes ago, for clock skew),
// with a random positive 127-bit serial; extensions and signature are the caller's.
Result<X509Ptr> NewCert(EVP_PKEY* key, const std::string& cn, int days) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) return Fail("creating a certificate");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return Fail("random serial");
  serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x40);  // positive, never 0
  BnPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr)
    return Fail("setting the serial");
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("CustomerJourneyData"), -1,
                                 -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1) {
    return Fail("setting the subject");
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86'400) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return Fail("setting validity and key");
  }
  return cert;
}

bool IsDnsName(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return s.front() != '.' && s.front() != '-';
}

bool IsIpAddress(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io("cannot read " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `text` to `path` through a temporary file created with `mode` (never wider), fsynced,
// renamed over `path`, then the directory fsynced.
Status WriteFileDurably(const fs::path& path, const std::string& text, mode_t mode) {
  const std::string tmp = path.string() + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::Io("cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, mode) == 0;
  size_t done = 0;
  while (ok && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int saved = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(ok ? errno : saved);
    ::unlink(tmp.c_str());
    return Status::Io("cannot write " + path.string() + ": " + reason);
  }
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace

struct CertificateAuthority::Impl {
  X509Ptr cert;
  PKeyPtr key;
};

CertificateAuthority::CertificateAuthority(std::unique_ptr<Impl> impl, std::string cert_pem)
    : impl_(std::move(impl)), cert_pem_(std::move(cert_pem)) {}
CertificateAuthority::CertificateAuthority(CertificateAuthority&&) noexcept = default;
CertificateAuthority& CertificateAuthority::operator=(CertificateAuthority&&) noexcept = default;
CertificateAuthority::~CertificateAuthority() = default;

Result<PemPair> CertificateAuthority::Create(const std::string& common_name, int days) {
  if (common_name.empty() || common_name.size() > 64)
    return Status::Invalid("--name: must be 1-64 characters", "--name");
  if (days < 1 || days > 36'500) return Status::Invalid("--days: must be 1-36500", "--days");
  PKeyPtr key = NewKey();
  if (!key) return Fail("generating a P-256 key");
  auto cert = NewCert(key.get(), common_name, days);
  if (!cert.ok()) return cert.status();
  X509* x = cert->get();
  if (X509_set_issuer_name(x, X509_get_subject_name(x)) != 1) return Fail("setting the issuer");
  CJD_RETURN_IF_ERROR(AddExt(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  CJD_RETURN_IF_ERROR(AddExt(x, x, NID_key_usage, "critical,keyCertSign,cRLSign"));
  CJD_RETURN_IF_ERROR(AddExt(x, x, NID_subject_key_identifier, "hash"));
  if (X509_sign(x, key.get(), EVP_sha256()) == 0) return Fail("signing the CA certificate");
  PemPair out;
  auto cert_pem = CertPem(x);
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = KeyPem(key.get());
  if (!key_pem.ok()) return key_pem.status();
  out.cert_pem = std::move(*cert_pem);
  out.key_pem = std::move(*key_pem);
  return out;
}

Result<CertificateAuthority> CertificateAuthority::FromPem(const std::string& cert_pem,
                                                           const std::string& key_pem) {
  auto impl = std::make_unique<Impl>();
  BioPtr cert_bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  impl->cert.reset(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!impl->cert) return Status::Invalid(OpenSslError("CA certificate"));
  BioPtr key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  impl->key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!impl->key) return Status::Invalid(OpenSslError("CA key"));
  if (X509_check_private_key(impl->cert.get(), impl->key.get()) != 1) {
    ERR_clear_error();
    return Status::Invalid("the CA key does not belong to the CA certificate");
  }
  if (X509_check_ca(impl->cert.get()) < 1) {
    return Status::Invalid("the CA certificate is not a CA (basicConstraints CA:TRUE)");
  }
  return CertificateAuthority(std::move(impl), cert_pem);
}

Result<CertificateAuthority> CertificateAuthority::Load(const std::string& dir) {
  const fs::path cert = fs::path(dir) / "ca.crt";
  const fs::path key = fs::path(dir) / "ca.key";
  if (!fs::exists(cert) || !fs::exists(key)) {
    return Status(Code::kNotFound, "no CA in " + dir + " (ca.crt and ca.key; create one with "
                                                       "cjdctl init-ca --dir " + dir + ")");
  }
  auto cert_pem = ReadFile(cert);
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = ReadFile(key);
  if (!key_pem.ok()) return key_pem.status();
  auto ca = FromPem(*cert_pem, *key_pem);
  if (!ca.ok()) return Status(ca.status().code(), "CA in " + dir + ": " + ca.status().message());
  return ca;
}

Result<PemPair> CertificateAuthority::Issue(const CertRequest& r) const {
  if (!topics::IsValidDeviceId(r.name))
    return Status::Invalid("--name: must be 1-64 characters of A-Z a-z 0-9 _ . -", "--name");
  if (r.days < 1 || r.days > 36'500) return Status::Invalid("--days: must be 1-36500", "--days");
  for (const auto& d : r.dns) {
    if (!IsDnsName(d))
      return Status::Invalid("--dns: '" + d + "' is not a host name (A-Z a-z 0-9 . -)", "--dns");
  }
  for (const auto& ip : r.ips) {
    if (!IsIpAddress(ip))
      return Status::Invalid("--ip: '" + ip + "' is not an IPv4 or IPv6 address", "--ip");
  }
  const bool server = r.role == CertRole::kServer;
  if (server && r.dns.empty() && r.ips.empty()) {
    return Status::Invalid("--dns/--ip: a server certificate needs the host names clients dial",
                           "--dns");
  }
  if (!server && (!r.dns.empty() || !r.ips.empty())) {
    return Status::Invalid("--dns/--ip: only for a server certificate (--server)", "--dns");
  }
  PKeyPtr key = NewKey();
  if (!key) return Fail("generating a P-256 key");
  auto cert = NewCert(key.get(), r.name, r.days);
  if (!cert.ok()) return cert.status();
  X509* x = cert->get();
  X509* issuer = impl_->cert.get();
  if (X509_set_issuer_name(x, X509_get_subject_name(issuer)) != 1) return Fail("setting the issuer");
  CJD_RETURN_IF_ERROR(AddExt(x, issuer, NID_basic_constraints, "critical,CA:FALSE"));
  CJD_RETURN_IF_ERROR(AddExt(x, issuer, NID_key_usage, "critical,digitalSignature"));
  CJD_RETURN_IF_ERROR(AddExt(x, issuer, NID_ext_key_usage, server ? "serverAuth" : "clientAuth"));
  CJD_RETURN_IF_ERROR(AddExt(x, issuer, NID_subject_key_identifier, "hash"));
  CJD_RETURN_IF_ERROR(AddExt(x, issuer, NID_authority_key_identifier, "keyid:always"));
  if (server) {
    std::string san;
    for (const auto& d : r.dns) san += (san.empty() ? "DNS:" : ",DNS:") + d;
    for (const auto& ip : r.ips) san += (san.empty() ? "IP:" : ",IP:") + ip;
    CJD_RETURN_IF_ERROR(AddExt(x, issuer, NID_subject_alt_name, san));
  }
  if (X509_sign(x, impl_->key.get(), EVP_sha256()) == 0) return Fail("signing the certificate");
  auto cert_pem = CertPem(x);
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = KeyPem(key.get());
  if (!key_pem.ok()) return key_pem.status();
  return PemPair{std::move(*cert_pem), std::move(*key_pem)};
}

// ---- files -------------------------------------------------------------------------------------

Status InitCa(const std::string& dir, int days) {
  const fs::path d(dir);
  if (fs::exists(d / "ca.key") || fs::exists(d / "ca.crt")) {
    return Status(Code::kConflict, dir + " already holds a CA (ca.crt/ca.key); every certificate "
                                         "issued from it would stop working if it were replaced");
  }
  auto pem = CertificateAuthority::Create("CJD fleet CA", days);
  if (!pem.ok()) return pem.status();
  std::error_code ec;
  if (!fs::exists(d)) {
    fs::create_directories(d, ec);
    if (ec) return Status::Io("cannot create " + dir + ": " + ec.message());
    fs::permissions(d, fs::perms::owner_all, ec);
  }
  return WriteCertAndKey((d / "ca.crt").string(), (d / "ca.key").string(), *pem);
}

Status WriteCertAndKey(const std::string& cert_path, const std::string& key_path,
                       const PemPair& pem, bool overwrite) {
  if (!overwrite) {
    for (const auto& p : {cert_path, key_path}) {
      if (fs::exists(p)) return Status(Code::kConflict, p + " already exists");
    }
  }
  CJD_RETURN_IF_ERROR(WriteFileDurably(key_path, pem.key_pem, 0600));
  return WriteFileDurably(cert_path, pem.cert_pem, 0644);
}

Status WritePublicFile(const std::string& path, const std::string& text) {
  return WriteFileDurably(path, text, 0644);
}

}  // namespace cjd::ctl
