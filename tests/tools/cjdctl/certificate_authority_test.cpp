// cjdctl's certificate authority, checked with OpenSSL's own verifier: chains, purposes (a client
// certificate cannot serve as the broker's and the reverse), host names, key types, file modes.
#include "tools/cjdctl/pki/certificate_authority.h"

#include <sys/stat.h>

#include <filesystem>
#include <memory>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tests/support/temp_dir.h"

namespace cjd::ctl {
namespace {

namespace fs = std::filesystem;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr ParseCert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

// OpenSSL's chain verification of `leaf` against `ca` for `purpose` (X509_PURPOSE_SSL_CLIENT:
// what the broker checks of a client; X509_PURPOSE_SSL_SERVER: what a client checks of the
// broker). Returns the X509 error code (X509_V_OK when it verifies).
int Verify(const std::string& ca_pem, const std::string& leaf_pem, int purpose) {
  X509Ptr ca = ParseCert(ca_pem);
  X509Ptr leaf = ParseCert(leaf_pem);
  if (!ca || !leaf) return -1;
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  const int ok = X509_verify_cert(ctx);
  const int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return err;
}

std::string CommonName(const std::string& pem) {
  X509Ptr cert = ParseCert(pem);
  char buf[128] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, buf, sizeof buf);
  return buf;
}

CertificateAuthority NewCa() {
  auto pem = CertificateAuthority::Create("test CA");
  EXPECT_TRUE(pem.ok()) << pem.status().ToString();
  auto ca = CertificateAuthority::FromPem(pem->cert_pem, pem->key_pem);
  EXPECT_TRUE(ca.ok()) << ca.status().ToString();
  return std::move(*ca);
}

TEST(CertificateAuthority, ClientCertificateVerifiesForClientsOnly) {
  CertificateAuthority ca = NewCa();
  CertRequest r;
  r.name = "pos-0001";
  auto cert = ca.Issue(r);
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  EXPECT_EQ(CommonName(cert->cert_pem), "pos-0001");  // the broker's user name
  EXPECT_EQ(Verify(ca.cert_pem(), cert->cert_pem, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_EQ(Verify(ca.cert_pem(), cert->cert_pem, X509_PURPOSE_SSL_SERVER),
            X509_V_ERR_INVALID_PURPOSE);
}

TEST(CertificateAuthority, ServerCertificateNamesItsHostsAndIsNoClient) {
  CertificateAuthority ca = NewCa();
  CertRequest r;
  r.name = "broker";
  r.role = CertRole::kServer;
  r.dns = {"broker.example.com"};
  r.ips = {"127.0.0.1", "::1"};
  auto cert = ca.Issue(r);
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  EXPECT_EQ(Verify(ca.cert_pem(), cert->cert_pem, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_EQ(Verify(ca.cert_pem(), cert->cert_pem, X509_PURPOSE_SSL_CLIENT),
            X509_V_ERR_INVALID_PURPOSE);
  X509Ptr x = ParseCert(cert->cert_pem);
  EXPECT_EQ(X509_check_host(x.get(), "broker.example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(x.get(), "other.example.com", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(x.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(x.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(x.get(), "127.0.0.2", 0), 0);
}

TEST(CertificateAuthority, KeysAreP256AndSignaturesSha256) {
  CertificateAuthority ca = NewCa();
  CertRequest r;
  r.name = "pos-1";
  auto cert = ca.Issue(r);
  ASSERT_TRUE(cert.ok());
  X509Ptr x = ParseCert(cert->cert_pem);
  EXPECT_EQ(X509_get_signature_nid(x.get()), NID_ecdsa_with_SHA256);
  EVP_PKEY* key = X509_get0_pubkey(x.get());
  ASSERT_NE(key, nullptr);
  char group[64] = {};
  size_t len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key, group, sizeof group, &len), 1);
  EXPECT_STREQ(group, "prime256v1");
  // Fresh serials: two certificates for one name differ.
  auto again = ca.Issue(r);
  ASSERT_TRUE(again.ok());
  X509Ptr y = ParseCert(again->cert_pem);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(x.get()), X509_get0_serialNumber(y.get())), 0);
}

TEST(CertificateAuthority, AnotherCasCertificateDoesNotVerify) {
  CertificateAuthority ca = NewCa();
  CertificateAuthority other = NewCa();
  CertRequest r;
  r.name = "pos-1";
  auto cert = other.Issue(r);
  ASSERT_TRUE(cert.ok());
  EXPECT_NE(Verify(ca.cert_pem(), cert->cert_pem, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
}

TEST(CertificateAuthority, BadRequestsNameTheFlag) {
  CertificateAuthority ca = NewCa();
  auto field = [&](CertRequest r) { return ca.Issue(r).status().field(); };
  CertRequest r;
  r.name = "pos/1";
  EXPECT_EQ(field(r), "--name");
  r.name = "";
  EXPECT_EQ(field(r), "--name");
  r.name = "broker";
  r.role = CertRole::kServer;
  EXPECT_EQ(field(r), "--dns");  // a server certificate without host names
  r.dns = {"bad,DNS:evil.example"};
  EXPECT_EQ(field(r), "--dns");
  r.dns = {"ok.example"};
  r.ips = {"300.1.1.1"};
  EXPECT_EQ(field(r), "--ip");
  r.ips.clear();
  r.days = 0;
  EXPECT_EQ(field(r), "--days");
  CertRequest client;
  client.name = "pos-1";
  client.dns = {"x.example"};
  EXPECT_EQ(field(client), "--dns");  // host names only for a server
}

TEST(CertificateAuthority, FromPemRefusesAKeyOfAnotherCertificate) {
  auto one = CertificateAuthority::Create("one");
  auto two = CertificateAuthority::Create("two");
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_FALSE(CertificateAuthority::FromPem(one->cert_pem, two->key_pem).ok());
  EXPECT_FALSE(CertificateAuthority::FromPem("not a pem", one->key_pem).ok());
}

TEST(CertificateAuthorityFiles, InitCaWritesAPrivateKeyAndRefusesToReplaceIt) {
  cjd::testing::TempDir dir("cjd-ca-");
  const fs::path ca_dir = dir.Join("ca");
  ASSERT_TRUE(InitCa(ca_dir.string()).ok());
  struct stat st{};
  ASSERT_EQ(::stat((ca_dir / "ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((ca_dir / "ca.crt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  const Status again = InitCa(ca_dir.string());
  EXPECT_EQ(again.code(), Code::kConflict) << again.ToString();
  auto loaded = CertificateAuthority::Load(ca_dir.string());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(CertificateAuthority::Load(dir.Join("none").string()).status().code(),
            Code::kNotFound);

  CertRequest r;
  r.name = "pos-1";
  auto cert = loaded->Issue(r);
  ASSERT_TRUE(cert.ok());
  const std::string crt = (dir.Join("pos-1.crt")).string();
  const std::string key = (dir.Join("pos-1.key")).string();
  ASSERT_TRUE(WriteCertAndKey(crt, key, *cert).ok());
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(WriteCertAndKey(crt, key, *cert).code(), Code::kConflict);
  EXPECT_TRUE(WriteCertAndKey(crt, key, *cert, /*overwrite=*/true).ok());
}

}  // namespace
}  // namespace cjd::ctl
