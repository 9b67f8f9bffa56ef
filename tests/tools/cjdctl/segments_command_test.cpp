// `cjdctl segments export` against a small HTTP server that serves a segment's members the way the
// hub does (paged by profile id, next_after), optionally failing one page.
#include "tools/cjdctl/segments_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "shared/http/server.h"
#include "tests/support/temp_dir.h"

namespace cjd::ctl {
namespace {

using json = nlohmann::json;

// Serves /v1/segments/lapsed/members for profiles 1..`members` (since derived from the id);
// answers page number `fail_page` (1-based) with a 500.
class MembersServer {
 public:
  MembersServer(int64_t members, int fail_page = 0) : members_(members), fail_page_(fail_page) {
    http::ServerOptions so;
    so.listen = HostPort{"127.0.0.1", 0};
    server_ = std::make_unique<http::Server>(
        so, [this](http::Request&& req, http::Responder respond) { respond(Handle(req)); });
    EXPECT_TRUE(server_->Start().ok());
  }
  ~MembersServer() { server_->Stop(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  int pages() const { return pages_; }

 private:
  http::Response Handle(const http::Request& req) {
    if (req.BearerToken() != "admin-token") return http::JsonError(401, "unauthorized", "no");
    if (req.path != "/v1/segments/lapsed/members") {
      return http::JsonError(404, "not_found", "no segment \"x\"", "id");
    }
    if (++pages_ == fail_page_) return http::JsonError(500, "internal", "disk on fire");
    const int64_t limit = std::stoll(req.query.at("limit"));
    const int64_t after = req.query.count("after") ? std::stoll(req.query.at("after")) : 0;
    json members = json::array();
    int64_t id = after + 1;
    for (; id <= members_ && static_cast<int64_t>(members.size()) < limit; ++id) {
      members.push_back({{"profile_id", id}, {"since", Since(id)}});
    }
    const bool more = id <= members_;
    return {200, json{{"segment", "lapsed"},
                      {"members", members},
                      {"next_after", more ? json(id - 1) : json(nullptr)}}
                     .dump()};
  }

  int64_t members_;
  int fail_page_;
  std::atomic<int> pages_{0};
  std::unique_ptr<http::Server> server_;

 public:
  static std::string Since(int64_t id) {
    return "2026-11-" + std::to_string(10 + id % 10) + "T08:00:00.000Z";
  }
};

SegmentsOptions Options(const MembersServer& server, const std::string& format) {
  SegmentsOptions o;
  o.hub = server.url();
  o.token = "admin-token";
  o.id = "lapsed";
  o.format = format;
  o.page_size = 1000;
  return o;
}

TEST(SegmentsExport, PagesThroughEveryMemberAsCsv) {
  MembersServer server(2500);
  std::ostringstream out, err;
  ASSERT_EQ(RunSegmentsExport(Options(server, "csv"), out, err), 0) << err.str();
  std::string want = "profile_id,segment,since\n";
  for (int64_t id = 1; id <= 2500; ++id) {
    want += std::to_string(id) + ",lapsed," + MembersServer::Since(id) + "\n";
  }
  EXPECT_EQ(out.str(), want);
  EXPECT_EQ(server.pages(), 3);
  EXPECT_EQ(err.str(), "");
}

TEST(SegmentsExport, WritesJsonLinesToAFile) {
  MembersServer server(3);
  cjd::testing::TempDir dir;
  SegmentsOptions o = Options(server, "jsonl");
  o.out = dir.Join("lapsed.jsonl").string();
  o.page_size = 2;
  std::ostringstream out, err;
  ASSERT_EQ(RunSegmentsExport(o, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), "");
  std::ifstream in(o.out);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(),
            "{\"profile_id\":1,\"segment\":\"lapsed\",\"since\":\"" + MembersServer::Since(1) +
                "\"}\n{\"profile_id\":2,\"segment\":\"lapsed\",\"since\":\"" +
                MembersServer::Since(2) + "\"}\n{\"profile_id\":3,\"segment\":\"lapsed\",\"since\":\"" +
                MembersServer::Since(3) + "\"}\n");
  EXPECT_EQ(server.pages(), 2);
  EXPECT_THAT(err.str(), ::testing::HasSubstr("3 members of lapsed written to"));
}

TEST(SegmentsExport, AFailedPageLeavesNoFileAndExits1) {
  MembersServer server(2500, /*fail_page=*/2);
  cjd::testing::TempDir dir;
  SegmentsOptions o = Options(server, "csv");
  o.out = dir.Join("lapsed.csv").string();
  std::ostringstream out, err;
  EXPECT_EQ(RunSegmentsExport(o, out, err), 1);
  EXPECT_THAT(err.str(), ::testing::HasSubstr("HTTP 500"));
  EXPECT_THAT(err.str(), ::testing::HasSubstr("disk on fire"));
  EXPECT_FALSE(std::filesystem::exists(o.out));
  EXPECT_FALSE(std::filesystem::exists(o.out + ".part"));
}

TEST(SegmentsExport, UsageErrorsExit2BeforeAskingTheHub) {
  MembersServer server(1);
  std::ostringstream out, err;
  SegmentsOptions o = Options(server, "xml");
  EXPECT_EQ(RunSegmentsExport(o, out, err), 2);
  EXPECT_THAT(err.str(), ::testing::HasSubstr("--format: 'xml' is not csv or jsonl"));
  o = Options(server, "csv");
  o.id = "Not An Id";
  EXPECT_EQ(RunSegmentsExport(o, out, err), 2);
  o = Options(server, "csv");
  o.hub = "ftp://x";
  EXPECT_EQ(RunSegmentsExport(o, out, err), 2);
  EXPECT_EQ(server.pages(), 0);
  EXPECT_EQ(out.str(), "");
}

TEST(SegmentsExport, AnUnknownSegmentIsTheHubsErrorExit1) {
  MembersServer server(1);
  SegmentsOptions o = Options(server, "csv");
  o.id = "other";
  std::ostringstream out, err;
  EXPECT_EQ(RunSegmentsExport(o, out, err), 1);
  EXPECT_THAT(err.str(), ::testing::HasSubstr("HTTP 404"));
  EXPECT_EQ(out.str(), "");  // not even the header
}

}  // namespace
}  // namespace cjd::ctl
