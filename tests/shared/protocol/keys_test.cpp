#include "shared/protocol/keys.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace cjd {
namespace {

std::array<uint8_t, 32> Bytes(int first) {
  std::array<uint8_t, 32> out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(first + static_cast<int>(i));
  return out;
}

std::array<uint8_t, 32> FromHex(std::string_view hex) {
  std::array<uint8_t, 32> out{};
  EXPECT_EQ(hex.size(), 64u);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  }
  return out;
}

TEST(KeysTest, InitCryptoIsIdempotentAndThreadSafe) {
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (size_t i = 0; i < ok.size(); ++i) {
    threads.emplace_back([&ok, i] { ok[i] = InitCrypto().ok() ? 1 : 0; });
  }
  for (auto& t : threads) t.join();
  for (int v : ok) EXPECT_EQ(v, 1);
  EXPECT_TRUE(InitCrypto().ok());
}

TEST(KeysTest, NewKeyPairIsRandom) {
  ASSERT_TRUE(InitCrypto().ok());
  const KeyPair a = NewKeyPair();
  const KeyPair b = NewKeyPair();
  EXPECT_NE(a.public_key, b.public_key);
  EXPECT_NE(a.secret_key, b.secret_key);
  EXPECT_NE(a.public_key, a.secret_key);
}

TEST(KeysTest, DeviceAndHubDeriveIdenticalSessionKeys) {
  const KeyPair device = NewKeyPair();
  const KeyPair hub = NewKeyPair();
  Result<SessionKeys> d = DeviceSessionKeys(device, hub.public_key, 7);
  Result<SessionKeys> h = HubSessionKeys(hub, device.public_key, 7);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(d->key_id, 7u);
  EXPECT_EQ(h->key_id, 7u);
  EXPECT_EQ(d->uplink, h->uplink);
  EXPECT_EQ(d->downlink, h->downlink);
  EXPECT_NE(d->uplink, d->downlink);  // the two directions never share a key
}

TEST(KeysTest, ThirdPartyKeysDoNotMatch) {
  const KeyPair device = NewKeyPair();
  const KeyPair hub = NewKeyPair();
  const KeyPair mallory = NewKeyPair();
  Result<SessionKeys> real = DeviceSessionKeys(device, hub.public_key, 1);
  ASSERT_TRUE(real.ok());
  // Mallory pretends to be the hub, knowing only the device's public key.
  Result<SessionKeys> fake_hub = HubSessionKeys(mallory, device.public_key, 1);
  ASSERT_TRUE(fake_hub.ok());
  EXPECT_NE(real->uplink, fake_hub->uplink);
  EXPECT_NE(real->downlink, fake_hub->downlink);
  // Mallory pretends to be the device, knowing only the hub's public key.
  Result<SessionKeys> fake_device = DeviceSessionKeys(mallory, hub.public_key, 1);
  Result<SessionKeys> hub_view = HubSessionKeys(hub, device.public_key, 1);
  ASSERT_TRUE(fake_device.ok());
  ASSERT_TRUE(hub_view.ok());
  EXPECT_NE(fake_device->uplink, hub_view->uplink);
  EXPECT_NE(fake_device->downlink, hub_view->downlink);
}

// Fixed vector: secret keys are bytes 0..31 (device) and 32..63 (hub). The public keys and the
// session keys were computed independently (Python `cryptography` X25519 + hashlib BLAKE2b-512
// of q || client_pk || server_pk, as crypto_kx specifies); see golden_vectors.py.
TEST(KeysTest, SessionKeysMatchFixedVector) {
  KeyPair device{FromHex("8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f"),
                 Bytes(0)};
  KeyPair hub{FromHex("358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254"),
              Bytes(32)};
  const SymmetricKey uplink =
      FromHex("a1c994d365e824f318de66626a225b70a6f3be5b0febe8638882fd8a20d0bf0c");
  const SymmetricKey downlink =
      FromHex("09fcadb630f490a255a9461619a3a32586c5ec11be9a584832de0aad99099e02");
  Result<SessionKeys> d = DeviceSessionKeys(device, hub.public_key, 3);
  Result<SessionKeys> h = HubSessionKeys(hub, device.public_key, 3);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(d->uplink, uplink);
  EXPECT_EQ(d->downlink, downlink);
  EXPECT_EQ(h->uplink, uplink);
  EXPECT_EQ(h->downlink, downlink);
}

TEST(KeysTest, LowOrderPublicKeyIsRejected) {
  const KeyPair kp = NewKeyPair();
  PublicKey zero{};
  PublicKey one{};
  one[0] = 1;
  for (const PublicKey& bad : {zero, one}) {
    Result<SessionKeys> d = DeviceSessionKeys(kp, bad, 1);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), Code::kCrypto);
    Result<SessionKeys> h = HubSessionKeys(kp, bad, 1);
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.status().code(), Code::kCrypto);
  }
}

TEST(KeysTest, Base64RoundTripAndKnownEncoding) {
  EXPECT_EQ(KeyToBase64(Bytes(0)), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  Result<std::array<uint8_t, 32>> k =
      KeyFromBase64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "hub.public_key");
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(*k, Bytes(0));
  for (int i = 0; i < 50; ++i) {
    const KeyPair kp = NewKeyPair();
    const std::string text = KeyToBase64(kp.secret_key);
    EXPECT_EQ(text.size(), 44u);
    Result<std::array<uint8_t, 32>> back = KeyFromBase64(text, "k");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, kp.secret_key);
  }
}

TEST(KeysTest, Base64RejectsAnythingButAPadded32ByteKey) {
  const std::string good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  const std::vector<std::string> bad = {
      "",
      good.substr(0, 43),                             // missing padding
      good + "=",                                     // extra padding
      good + "\n",                                    // trailing newline
      " " + good,                                     // leading space
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",  // 31 bytes
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",  // 33 bytes
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",  // non-canonical trailing bits
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd-_8=",  // URL-safe alphabet
      "not base64 at all!",
      std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\0", 45),
  };
  for (const std::string& text : bad) {
    Result<std::array<uint8_t, 32>> k = KeyFromBase64(text, "devices[2].public_key");
    ASSERT_FALSE(k.ok()) << "accepted: " << text;
    EXPECT_EQ(k.status().code(), Code::kInvalid);
    EXPECT_EQ(k.status().field(), "devices[2].public_key");
    EXPECT_EQ(k.status().message(), "must be a base64 32-byte key");
  }
}

TEST(KeysTest, NewTokenIsUrlSafeAndRandom) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string t = NewToken();
    EXPECT_EQ(t.size(), 43u);  // 32 bytes, no padding
    for (char c : t) {
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_')
          << t;
    }
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(KeysTest, TokensEqual) {
  const std::string t = NewToken();
  const std::string copy = t;
  EXPECT_TRUE(TokensEqual(t, copy));
  std::string flipped = t;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(TokensEqual(t, flipped));
  flipped = t;
  flipped.front() = flipped.front() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(TokensEqual(t, flipped));
  EXPECT_FALSE(TokensEqual(t, t.substr(0, 42)));
  EXPECT_FALSE(TokensEqual(t, t + "x"));
  EXPECT_FALSE(TokensEqual(t, ""));
  EXPECT_FALSE(TokensEqual("", t));
  // An empty token is never valid, not even against an empty (unset) secret.
  EXPECT_FALSE(TokensEqual("", ""));
  EXPECT_TRUE(TokensEqual(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(TokensEqual(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace cjd

namespace cjd {
namespace {

TEST(KeyPairMatches, AcceptsAGeneratedPairAndRejectsMixedPairs) {
  const KeyPair a = NewKeyPair();
  const KeyPair b = NewKeyPair();
  EXPECT_TRUE(KeyPairMatches(a));
  EXPECT_FALSE(KeyPairMatches(KeyPair{a.public_key, b.secret_key}));
}

}  // namespace
}  // namespace cjd
