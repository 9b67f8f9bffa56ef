#include "shared/mqtt/tls.h"

#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace cjd {
namespace {

class MqttTlsCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"ca.pem", "me.crt", "me.key"}) std::ofstream(dir_.Join(name)) << "x";
  }
  std::string F(const char* name) const { return dir_.Join(name).string(); }
  cjd::testing::TempDir dir_{"cjd-mqtt-tls-"};
};

TEST_F(MqttTlsCheck, AcceptsPlainTcpWithoutTlsFilesAndTlsWithThem) {
  EXPECT_TRUE(CheckMqttTls("tcp://127.0.0.1:1883", "", "", "").ok());
  EXPECT_TRUE(CheckMqttTls("ssl://broker:8883", "", "", "").ok());  // system trust store
  EXPECT_TRUE(CheckMqttTls("ssl://broker:8883", F("ca.pem"), F("me.crt"), F("me.key")).ok());
  EXPECT_TRUE(CheckMqttTls("mqtts://broker:8883", F("ca.pem"), "", "").ok());
}

TEST_F(MqttTlsCheck, CertificatesWithAPlainBrokerAreAnError) {
  const Status st = CheckMqttTls("tcp://127.0.0.1:1883", "", F("me.crt"), F("me.key"));
  EXPECT_EQ(st.field(), "mqtt.cert_file") << st.ToString();
  EXPECT_EQ(CheckMqttTls("tcp://b:1883", F("ca.pem"), "", "").field(), "mqtt.ca_file");
}

TEST_F(MqttTlsCheck, CertAndKeyGoTogetherAndMustBeReadable) {
  EXPECT_EQ(CheckMqttTls("ssl://b:8883", "", F("me.crt"), "").field(), "mqtt.key_file");
  EXPECT_EQ(CheckMqttTls("ssl://b:8883", "", "", F("me.key")).field(), "mqtt.cert_file");
  const Status st = CheckMqttTls("ssl://b:8883", F("missing.pem"), "", "");
  EXPECT_EQ(st.field(), "mqtt.ca_file");
  EXPECT_NE(st.message().find("missing.pem"), std::string::npos) << st.ToString();
  EXPECT_EQ(CheckMqttTls("ssl://b:8883", "", F("me.crt"), F("nokey")).field(), "mqtt.key_file");
}

}  // namespace
}  // namespace cjd
