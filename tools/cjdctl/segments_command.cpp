#include "tools/cjdctl/segments_command.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/cjdctl/remote_call.h"

namespace cjd::ctl {
namespace {

using nlohmann::json;

// Every segments command: "cjdctl segments COMMAND: ..." messages, User-Agent cjdctl-segments/V.
Remote SegmentsRemote(const char* command, const SegmentsOptions& o, std::ostream& err) {
  return Remote("segments", command, o.hub, o.token, o.timeout_ms, err);
}

std::string Text(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

bool ValidId(const std::string& id) {
  return !id.empty() && id.size() <= 64 &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
         });
}

}  // namespace

int RunSegmentsList(const SegmentsOptions& o, std::ostream& out, std::ostream& err) {
  Remote remote = SegmentsRemote("list", o, err);
  if (int rc = remote.Check(); rc != 0) return rc;
  std::optional<json> list = remote.Call("GET", "/v1/segments");
  if (!list) return 1;
  const json* segments = list->contains("segments") ? &(*list)["segments"] : nullptr;
  if (segments == nullptr || !segments->is_array()) {
    return remote.Fail("the hub's answer has no \"segments\" list");
  }
  if (o.json) {
    out << list->dump() << '\n';
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"id", "members", "builtin", "evaluated_at", "rule"}};
  for (const json& s : *segments) {
    if (!s.is_object()) continue;
    rows.push_back({Text(s, "id"), Text(s, "members"), Text(s, "builtin"),
                    Text(s, "evaluated_at"), Text(s, "rule")});
  }
  std::vector<size_t> width(5, 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      if (c > 0) line += "  ";
      const size_t pad = width[c] - row[c].size();
      if (c == 1) line += std::string(pad, ' ');  // members: right-aligned
      line += row[c];
      if (c != 1 && c + 1 < row.size()) line += std::string(pad, ' ');
    }
    out << line << '\n';
  }
  return 0;
}

int RunSegmentsCreate(const SegmentsOptions& o, std::ostream& out, std::ostream& err) {
  Remote remote = SegmentsRemote("create", o, err);
  if (!ValidId(o.id)) {
    return remote.Usage("ID: '" + o.id + "' must be 1 to 64 characters of a-z, 0-9, _ and -");
  }
  if (o.rule.empty()) return remote.Usage("RULE: the segment's rule is required");
  if (int rc = remote.Check(); rc != 0) return rc;
  json body = {{"id", o.id}, {"rule", o.rule}};
  if (!o.name.empty()) body["name"] = o.name;
  if (!o.description.empty()) body["description"] = o.description;
  int status = 0;
  std::optional<json> r = remote.Call("POST", "/v1/segments", body.dump(), &status);
  if (!r) return 1;
  out << (status == 201 ? "created" : "updated") << " segment " << Text(*r, "id") << ": "
      << Text(*r, "rule") << '\n';
  return 0;
}

int RunSegmentsExport(const SegmentsOptions& o, std::ostream& out, std::ostream& err) {
  Remote remote = SegmentsRemote("export", o, err);
  if (!ValidId(o.id)) {
    return remote.Usage("ID: '" + o.id + "' must be 1 to 64 characters of a-z, 0-9, _ and -");
  }
  if (o.format != "csv" && o.format != "jsonl") {
    return remote.Usage("--format: '" + o.format + "' is not csv or jsonl");
  }
  if (o.page_size < 1 || o.page_size > 10'000) return remote.Usage("--page-size: must be 1..10000");
  if (int rc = remote.Check(); rc != 0) return rc;

  std::ofstream file;
  const std::string tmp = o.out.empty() ? std::string() : o.out + ".part";
  if (!o.out.empty()) {
    file.open(tmp, std::ios::binary | std::ios::trunc);
    if (!file) return remote.Fail("--out: cannot write " + tmp);
  }
  std::ostream& sink = o.out.empty() ? out : file;
  const auto abandon = [&](int rc) {
    if (!o.out.empty()) {
      file.close();
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
    }
    return rc;
  };

  std::string target_base =
      "/v1/segments/" + o.id + "/members?limit=" + std::to_string(o.page_size);
  std::string after;
  int64_t written = 0;
  while (true) {
    const std::string target = target_base + (after.empty() ? "" : "&after=" + after);
    std::optional<json> page = remote.Call("GET", target);
    if (!page) return abandon(1);
    const auto members = page->find("members");
    const auto next = page->find("next_after");
    if (members == page->end() || !members->is_array() || next == page->end()) {
      return abandon(remote.Fail("the hub's answer to " + target +
                                 " has no \"members\" list or \"next_after\""));
    }
    // The header once the hub has answered, so a failed export prints no half-file.
    if (after.empty() && o.format == "csv") sink << "profile_id,segment,since\n";
    for (const json& m : *members) {
      const auto pid = m.find("profile_id");
      const auto since = m.find("since");
      if (!m.is_object() || pid == m.end() || !pid->is_number_integer() || since == m.end() ||
          !since->is_string()) {
        return abandon(remote.Fail("a member in the answer to " + target +
                                   " lacks profile_id or since: " + m.dump()));
      }
      if (o.format == "csv") {
        sink << pid->get<int64_t>() << ',' << o.id << ',' << since->get<std::string>() << '\n';
      } else {
        sink << json{{"profile_id", pid->get<int64_t>()},
                     {"segment", o.id},
                     {"since", since->get<std::string>()}}
                    .dump()
             << '\n';
      }
      ++written;
    }
    if (next->is_null()) break;
    if (!next->is_number_integer()) {
      return abandon(remote.Fail("next_after in the answer to " + target + " is not an id"));
    }
    const std::string next_after = std::to_string(next->get<int64_t>());
    if (next_after == after) return abandon(remote.Fail("the hub repeated the page after " + after));
    after = next_after;
  }
  sink.flush();
  if (!sink) return abandon(remote.Fail(o.out.empty() ? "cannot write to stdout"
                                                      : "--out: cannot write " + tmp));
  if (!o.out.empty()) {
    file.close();
    std::error_code ec;
    std::filesystem::rename(tmp, o.out, ec);
    if (ec) return abandon(remote.Fail("--out: cannot rename " + tmp + ": " + ec.message()));
    err << "cjdctl segments export: " << written << " members of " << o.id << " written to "
        << o.out << '\n';
  }
  return 0;
}

}  // namespace cjd::ctl
