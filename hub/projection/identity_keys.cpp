#include "hub/projection/identity_keys.h"

#include <sodium.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "shared/event/event.h"
#include "shared/event/json_exact.h"

namespace cjd::hub {
namespace {
constexpr char kContext[crypto_kdf_CONTEXTBYTES + 1] = "cjdident";
constexpr uint64_t kPepperId = 1;
constexpr uint64_t kSealId = 2;

std::string Base64(const uint8_t* data, size_t n) {
  std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, n, sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}
}  // namespace

IdentityKeys DeriveIdentityKeys(const std::array<uint8_t, 32>& master) {
  static_assert(crypto_kdf_KEYBYTES == 32);
  IdentityKeys k;
  crypto_kdf_derive_from_key(k.pepper.data(), k.pepper.size(), kPepperId, kContext, master.data());
  crypto_kdf_derive_from_key(k.seal_key.data(), k.seal_key.size(), kSealId, kContext,
                             master.data());
  return k;
}

Result<IdentityKeys> LoadOrCreateIdentityKeys(const std::string& path) {
  std::array<uint8_t, 32> master{};
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    crypto_kdf_keygen(master.data());
    const std::string tmp = path + ".tmp";
    {
      // Created 0600 from the start, written and synced before it takes the real name.
      const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd < 0) return Status::Invalid("identity.key_file: cannot create " + path, "identity.key_file");
      const std::string text = Base64(master.data(), master.size()) + "\n";
      const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                           ::fsync(fd) == 0;
      ::close(fd);
      if (!written) return Status::Invalid("identity.key_file: cannot write " + path, "identity.key_file");
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) return Status::Invalid("identity.key_file: " + ec.message(), "identity.key_file");
  } else {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    size_t len = 0;
    if (!in || sodium_base642bin(master.data(), master.size(), text.data(), text.size(), nullptr,
                                 &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != master.size()) {
      return Status::Invalid("identity.key_file: " + path + " does not hold a base64 32-byte key",
                             "identity.key_file");
    }
  }
  IdentityKeys k = DeriveIdentityKeys(master);
  sodium_memzero(master.data(), master.size());
  return k;
}

std::string SealValue(const IdentityKeys& keys, std::string_view plain) {
  std::string out(crypto_secretbox_xchacha20poly1305_NONCEBYTES +
                      crypto_secretbox_xchacha20poly1305_MACBYTES + plain.size(),
                  '\0');
  auto* nonce = reinterpret_cast<uint8_t*>(out.data());
  randombytes_buf(nonce, crypto_secretbox_xchacha20poly1305_NONCEBYTES);
  crypto_secretbox_xchacha20poly1305_easy(
      nonce + crypto_secretbox_xchacha20poly1305_NONCEBYTES,
      reinterpret_cast<const uint8_t*>(plain.data()), plain.size(), nonce, keys.seal_key.data());
  return out;
}

Result<std::string> OpenValue(const IdentityKeys& keys, std::string_view sealed) {
  constexpr size_t kOverhead =
      crypto_secretbox_xchacha20poly1305_NONCEBYTES + crypto_secretbox_xchacha20poly1305_MACBYTES;
  if (sealed.size() < kOverhead) return Status::Internal("sealed identifier too short");
  std::string out(sealed.size() - kOverhead, '\0');
  const auto* nonce = reinterpret_cast<const uint8_t*>(sealed.data());
  if (crypto_secretbox_xchacha20poly1305_open_easy(
          reinterpret_cast<uint8_t*>(out.data()),
          nonce + crypto_secretbox_xchacha20poly1305_NONCEBYTES,
          sealed.size() - crypto_secretbox_xchacha20poly1305_NONCEBYTES, nonce,
          keys.seal_key.data()) != 0) {
    return Status::Internal("sealed identifier does not open with identity.key");
  }
  return out;
}

std::string SealAttributes(const IdentityKeys& keys, const nlohmann::json& attributes) {
  nlohmann::json stored = nlohmann::json::object();
  nlohmann::json personal = nlohmann::json::object();
  if (attributes.is_object()) {
    for (auto it = attributes.begin(); it != attributes.end(); ++it) {
      if (it.key() == "$sealed") continue;
      if (!it.key().empty() && it.key()[0] == '$') stored[it.key()] = it.value();
      else personal[it.key()] = it.value();
    }
  }
  if (!personal.empty()) {
    const std::string sealed = SealValue(keys, CanonicalJsonValue(personal));
    stored["$sealed"] = Base64(reinterpret_cast<const uint8_t*>(sealed.data()), sealed.size());
  }
  return CanonicalJsonValue(stored);
}

nlohmann::json OpenAttributes(const IdentityKeys& keys, std::string_view stored) {
  Result<nlohmann::json> parsed = ParseJsonExact(stored);
  if (!parsed.ok() || !parsed->is_object()) return nlohmann::json::object();
  nlohmann::json out = std::move(*parsed);
  auto it = out.find("$sealed");
  if (it == out.end()) return out;
  const std::string text = it->is_string() ? it->get<std::string>() : std::string();
  out.erase(it);
  std::string bytes(text.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size(), text.data(),
                        text.size(), nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return out;
  }
  bytes.resize(len);
  Result<std::string> plain = OpenValue(keys, bytes);
  if (!plain.ok()) return out;
  Result<nlohmann::json> personal = ParseJsonExact(*plain);
  if (personal.ok() && personal->is_object()) {
    for (auto p = personal->begin(); p != personal->end(); ++p) out[p.key()] = p.value();
  }
  return out;
}

}  // namespace cjd::hub
