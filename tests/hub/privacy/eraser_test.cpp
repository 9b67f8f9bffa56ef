// Eraser: the hub part of an erasure resumes after a failure (or a crash) between the
// projection's erasure and the log's redaction: what it found before changing anything is kept
// (sealed) in privacy.db, so the log's rows are still redacted although the projection no longer
// knows the person.
#include "hub/privacy/eraser.h"

#include <fstream>
#include <sstream>

#include "tests/hub/projection/projection_fixture.h"

namespace cjd::hub {
namespace {

class EraserTest : public ProjectorTest {
 protected:
  std::string HubDbBytes() {
    std::string all;
    for (const char* f : {"hub.db", "hub.db-wal"}) {
      std::ifstream in(dir_.Join(f), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      all += ss.str();
    }
    return all;
  }

  std::unique_ptr<privacy::Eraser> NewEraser() {
    auto store = privacy::ErasureStore::Open(dir_.Join("privacy.db").string());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    auto log = SqliteHubStore::Open(config_.store_path);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return std::make_unique<privacy::Eraser>(config_, projector_.get(), std::move(*log),
                                             std::move(*store), &clock_);
  }
};

TEST_F(EraserTest, ALogThatCouldNotBeRedactedIsRedactedOnTheNextAttempt) {
  Log(R"({"type":"identify","occurred_at":"2011-01-09T10:00:00Z",
          "customer":{"email":"zoe.quill@mailbox.net","loyalty_id":"LQ-4411"},
          "attributes":{"first_name":"Zoephine"}})");
  Order("o-1", R"({"loyalty_id":"LQ-4411"})", R"([{"sku":"A","quantity":1,"unit_price":"5.00"}])");
  Order("o-2", R"({"email":"other.person@mailbox.net"})",
        R"([{"sku":"B","quantity":1,"unit_price":"7.00"}])");
  CatchUp();
  ASSERT_NE(HubDbBytes().find("LQ-4411"), std::string::npos);

  auto eraser = NewEraser();
  auto request = eraser->Request("email:zoe.quill@mailbox.net", 0, false);
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  {
    // Another writer holds hub.db past the busy timeout: the projection erases, the log cannot
    // be rewritten, the attempt fails.
    ASSERT_TRUE(log_->Exec("BEGIN IMMEDIATE").ok());
    Status failed = eraser->RunPending();
    EXPECT_FALSE(failed.ok());
    ASSERT_TRUE(log_->Exec("ROLLBACK").ok());
  }
  EXPECT_TRUE(Rows("SELECT profile_id FROM identifiers WHERE type = 3").size() == 1u)
      << "only the other person's email is left";
  EXPECT_NE(HubDbBytes().find("LQ-4411"), std::string::npos);  // not redacted yet
  auto pending = eraser->Get(request->id);
  ASSERT_TRUE(pending.ok() && pending->has_value());
  EXPECT_FALSE((*pending)->hub_done);

  // A new Eraser (as after a restart) finishes it from what was recorded.
  eraser.reset();
  eraser = NewEraser();
  ASSERT_TRUE(eraser->RunPending().ok());
  auto done = eraser->Get(request->id);
  ASSERT_TRUE(done.ok() && done->has_value());
  EXPECT_TRUE((*done)->hub_done);
  EXPECT_NE((*done)->erased_profile, 0);
  EXPECT_EQ((*done)->events_redacted, 2);
  const std::string bytes = HubDbBytes();
  for (const char* gone : {"LQ-4411", "zoe.quill@mailbox.net", "Zoephine"}) {
    EXPECT_EQ(bytes.find(gone), std::string::npos) << gone;
  }
  EXPECT_NE(bytes.find("other.person@mailbox.net"), std::string::npos);
}

}  // namespace
}  // namespace cjd::hub
