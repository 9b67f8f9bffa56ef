// The re-keying of stored phones when the phone normaliser changed (hub/projection/phone_rekey.h):
// a profiles.db written by the hand-written table (phone normaliser 1) is made here the way that
// normaliser wrote it -- the same keyed hash and seal, over the E.164 values it gave -- and the
// hub's start re-keys it.
#include "hub/projection/phone_rekey.h"

#include <filesystem>
#include <map>

#include "hub/projection/projection_schema.h"
#include "tests/hub/projection/projection_fixture.h"

namespace cjd::hub {
namespace {

using identity::IdKey;
using identity::IdType;

// What the hand-written table gave (phone normaliser 1) for numbers libphonenumber reads
// otherwise; each derived from its table row (calling code, trunk prefix): for a national number
// the trunk prefix removed and the calling code put before the rest, for an international one
// the digits as written.
//   Mexico (52, no trunk): "+52 1 55 1234 5678" -> "+5215512345678",
//                          "044 33 1234 5678"   -> "+520443312345678";
//   Brazil (55, trunk 0):  "0 21 11 98765-4321" -> "+552111987654321" (21: a carrier code);
//   GB (44, trunk 0):      "020 7946 095"       -> "+44207946095" (any 8 to 15 digits).
constexpr char kMxOld[] = "+5215512345678";
constexpr char kMxNew[] = "+525512345678";
constexpr char kMxFoldOld[] = "+520443312345678";
constexpr char kMxFoldNew[] = "+523312345678";
constexpr char kBrOld[] = "+552111987654321";
constexpr char kBrNew[] = "+5511987654321";
constexpr char kGbInvalidOld[] = "+44207946095";

std::string Blob(const IdKey& k) { return std::string(reinterpret_cast<const char*>(k.data()), k.size()); }

class PhoneRekeyTest : public ProjectorTest {
 protected:
  IdKey Key(std::string_view e164) { return identity::IdentifierKey(IdType::kPhone, e164, keys_.pepper); }

  std::unique_ptr<sqlite::Database> OpenDb(const std::string& path) {
    auto db = sqlite::Database::Open(path);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(*db) : nullptr;
  }

  // Every table of the database as sorted text rows ("table|col|col..."), identifier values
  // opened (a seal's nonce is random), meta without the normaliser's version.
  std::vector<std::string> Snapshot(const std::string& path) {
    auto db = OpenDb(path);
    std::vector<std::string> out;
    if (!db) return out;
    std::vector<std::string> tables;
    {
      auto s = db->Prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                           "name NOT LIKE 'sqlite_%' ORDER BY name");
      EXPECT_TRUE(s.ok());
      while (*s->Step()) tables.push_back(s->ColumnText(0));
    }
    EXPECT_GT(tables.size(), 10u);
    for (const std::string& t : tables) {
      std::vector<std::string> cols;
      auto c = db->Prepare("SELECT name FROM pragma_table_info('" + t + "') ORDER BY cid");
      EXPECT_TRUE(c.ok());
      while (*c->Step()) cols.push_back(c->ColumnText(0));
      std::string sql = "SELECT ";
      for (size_t i = 0; i < cols.size(); ++i) {
        if (i > 0) sql += ", ";
        sql += "quote(" + cols[i] + ")";
      }
      sql += ", " + std::string(t == "identifiers" ? "value" : "NULL") + " FROM " + t;
      if (t == "meta") sql += " WHERE key <> 'phone_normalizer'";
      auto s = db->Prepare(sql);
      EXPECT_TRUE(s.ok()) << sql;
      while (*s->Step()) {
        std::string row = t;
        for (size_t i = 0; i < cols.size(); ++i) {
          row += "|";
          if (t == "identifiers" && cols[i] == "value") {
            Result<std::string> v = OpenValue(keys_, s->ColumnView(static_cast<int>(cols.size())));
            row += v.ok() ? *v : "<sealed value does not open>";
          } else {
            row += s->ColumnText(static_cast<int>(i));
          }
        }
        out.push_back(row);
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Rewrites the phone `now` (the current normal form, as the events made it) to `old` in every
  // place profiles.db keeps its key: what the database held when the old normaliser wrote it.
  void ToOldForm(sqlite::Database& db, std::string_view now, std::string_view old) {
    const std::string from = Blob(Key(now));
    const std::string to = Blob(Key(old));
    auto id = db.Prepare("UPDATE identifiers SET id_key = ?2, value = ?3 WHERE id_key = ?1");
    ASSERT_TRUE(id.ok());
    id->BindBlob(1, from).BindBlob(2, to).BindBlob(3, SealValue(keys_, old));
    ASSERT_TRUE(id->Run().ok());
    ASSERT_EQ(db.Changes(), 1) << now;
    auto replace = [&](std::string blob) {
      for (size_t i = 0; i + 16 <= blob.size(); i += 16) {
        if (blob.compare(i, 16, from) == 0) blob.replace(i, 16, to);
      }
      return blob;
    };
    std::vector<std::tuple<int64_t, std::string, std::string>> events;
    {
      auto s = db.Prepare("SELECT event_rowid, coalesce(carried, x''), coalesce(attached, x'') "
                          "FROM profile_events");
      ASSERT_TRUE(s.ok());
      while (*s->Step()) {
        events.emplace_back(s->ColumnInt(0), std::string(s->ColumnView(1)), std::string(s->ColumnView(2)));
      }
    }
    for (const auto& [rowid, carried, attached] : events) {
      if (replace(carried) == carried && replace(attached) == attached) continue;
      auto u = db.Prepare("UPDATE profile_events SET carried = ?2, attached = ?3 WHERE event_rowid = ?1");
      ASSERT_TRUE(u.ok());
      u->Bind(1, rowid).BindBlob(2, replace(carried)).BindBlob(3, replace(attached));
      ASSERT_TRUE(u->Run().ok());
    }
    for (const char* sql : {"UPDATE merge_members SET id_key = ?2 WHERE id_key = ?1",
                            "UPDATE merge_log SET link_key = ?2 WHERE link_key = ?1"}) {
      auto u = db.Prepare(sql);
      ASSERT_TRUE(u.ok());
      u->BindBlob(1, from).BindBlob(2, to);
      ASSERT_TRUE(u->Run().ok());
    }
  }

  void Identify(const std::string& customer_json) {
    Log(R"({"type":"identify","occurred_at":"2011-03-02T10:00:00Z","customer":)" + customer_json + "}");
  }

  int64_t HolderOf(std::string_view e164) {
    auto pid = reader_->FindByIdentifier(Key(e164));
    return pid.ok() ? *pid : 0;
  }
};

TEST_F(PhoneRekeyTest, OldKeysTakeTheNewNormalFormAndSplitsStaySplit) {
  // Through events (normaliser 2): every profile and merge as the hub makes them.
  Identify(R"({"email":"ana.ruiz@correo.com.ar","phone":"+54 9 11 2345-6789"})");    // unchanged
  Identify(R"({"email":"eva.lopez@correo.mx"})");                                    // survivor
  Identify(R"({"loyalty_id":"MX-500","phone":"+52 55 1234 5678"})");                 // absorbed
  Identify(R"({"email":"eva.lopez@correo.mx","loyalty_id":"MX-500"})");              // merge
  Identify(R"({"email":"bia.souza@correio.com.br","phone":"+55 11 98765-4321"})");
  Identify(R"({"loyalty_id":"BR-7","phone":"+55 11 91234-5678"})");
  Identify(R"({"email":"bia.souza@correio.com.br","loyalty_id":"BR-7"})");           // merge
  Identify(R"({"email":"gil.hart@mail.co.uk","phone":"+44 20 7946 0999"})");
  Identify(R"({"email":"luz.diaz@correo.mx","phone":"+52 33 1234 5678"})");
  CatchUp();
  const int64_t ana = ProfileOf("email:ana.ruiz@correo.com.ar");
  const int64_t eva = ProfileOf("email:eva.lopez@correo.mx");
  const int64_t mx500 = eva + 1;  // made by the next event, merged into eva's
  const int64_t bia = ProfileOf("email:bia.souza@correio.com.br");
  const int64_t gil = ProfileOf("email:gil.hart@mail.co.uk");
  const int64_t luz = ProfileOf("email:luz.diaz@correo.mx");
  ASSERT_EQ(HolderOf(kMxNew), eva);
  // The operator splits bia's profile: BR-7's profile comes back, and the two are kept apart.
  auto split = projector_->Split(bia, 0);
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  const int64_t br7 = split->restored;
  ASSERT_EQ(ProfileOf("loyalty_id:BR-7"), br7);
  ASSERT_EQ(HolderOf(kBrNew), bia);
  ASSERT_EQ(HolderOf("+5511912345678"), br7);
  StopProjection();

  // The database as normaliser 1 left it. expected.db: what the re-keying must give, the same
  // database where only the phones it cannot re-key are in their old form.
  const std::string expected_path = dir_.Join("expected.db").string();
  std::filesystem::copy_file(config_.profiles_path, expected_path);
  for (const std::string& path : {config_.profiles_path, expected_path}) {
    auto db = OpenDb(path);
    ASSERT_TRUE(db);
    // br7's phone as a Brazilian till wrote it with a carrier code: now bia's number (split).
    ToOldForm(*db, "+5511912345678", kBrOld);
    // gil's phone typed one digit short: the old normaliser took it.
    ToOldForm(*db, "+442079460999", kGbInvalidOld);
    ASSERT_TRUE(db->Exec("DELETE FROM meta WHERE key = 'phone_normalizer'").ok());
  }
  {
    auto db = OpenDb(config_.profiles_path);
    ASSERT_TRUE(db);
    // eva's phone as "+52 1 55 1234 5678" (the merge_members row of MX-500's merge names it).
    ToOldForm(*db, kMxNew, kMxOld);
    // luz's profile got her number twice, written "+52 33 1234 5678" and "044 33 1234 5678".
    auto ins = db->Prepare(
        "INSERT INTO identifiers (id_key, type, profile_id, value, event_rowid, attached_ms) "
        "SELECT ?1, type, profile_id, ?2, event_rowid, attached_ms FROM identifiers WHERE id_key = ?3");
    ASSERT_TRUE(ins.ok());
    ins->BindBlob(1, Blob(Key(kMxFoldOld))).BindBlob(2, SealValue(keys_, kMxFoldOld))
        .BindBlob(3, Blob(Key(kMxFoldNew)));
    ASSERT_TRUE(ins->Run().ok());
    ASSERT_EQ(db->Changes(), 1);
    ASSERT_TRUE(db->Exec("UPDATE meta SET value = value + 1 WHERE key = 'identifiers'").ok());
  }
  const std::vector<std::string> old_db = Snapshot(config_.profiles_path);
  const std::vector<std::string> expected = Snapshot(expected_path);
  ASSERT_NE(old_db, expected);

  // The hub starts: the projector re-keys before anything else.
  StartProjection();
  EXPECT_EQ(Rows("SELECT value FROM meta WHERE key = 'phone_normalizer'"),
            std::vector<std::string>{"2"});
  // Nothing but the re-keyed phones changed: the database is the expected one, row for row
  // (profiles, merge log, kept-apart pairs, events' keys, merge members, counters).
  EXPECT_EQ(Snapshot(config_.profiles_path), expected);

  // Re-keyed phones are found by their new normal form, however the number is written now.
  EXPECT_EQ(ProfileOf("phone:+52 1 55 1234 5678"), eva);
  EXPECT_EQ(ProfileOf("phone:+52 55 1234 5678"), eva);
  EXPECT_EQ(HolderOf(kMxOld), 0);
  EXPECT_EQ(ProfileOf("phone:+52 33 1234 5678"), luz);
  EXPECT_EQ(HolderOf(kMxFoldOld), 0);
  EXPECT_EQ(Rows("SELECT count(*) FROM identifiers WHERE type = 4 AND profile_id = " +
                 std::to_string(luz)),
            std::vector<std::string>{"1"});
  EXPECT_EQ(ProfileOf("phone:+54 9 11 2345-6789"), ana);
  // The split pair stays split: the stored number that now reads as bia's stays br7's under its
  // old key, and the pair stays kept apart.
  EXPECT_EQ(HolderOf(kBrNew), bia);
  EXPECT_EQ(HolderOf(kBrOld), br7);
  EXPECT_EQ(Rows("SELECT a || '-' || b FROM kept_apart"),
            std::vector<std::string>{std::to_string(std::min(bia, br7)) + "-" +
                                     std::to_string(std::max(bia, br7))});
  EXPECT_EQ(Rows("SELECT count(*) FROM profiles WHERE merged_into IS NULL AND profile_id IN (" +
                 std::to_string(bia) + "," + std::to_string(br7) + ")"),
            std::vector<std::string>{"2"});
  // The invalid number stays where it was.
  EXPECT_EQ(HolderOf(kGbInvalidOld), gil);

  // An event with the re-keyed number attaches to its profile; one with bia's number and BR-7
  // does not merge the pair the operator split.
  Identify(R"({"phone":"+52 1 55 1234 5678","anonymous_id":"kiosk-session-9"})");
  Identify(R"({"phone":"+55 11 98765-4321","loyalty_id":"BR-7"})");
  CatchUp();
  EXPECT_EQ(ProfileOf("anonymous_id:kiosk-session-9"), eva);
  EXPECT_NE(ProfileOf("loyalty_id:BR-7"), ProfileOf("phone:+55 11 98765-4321"));

  // A split after the re-keying still moves the phone back with MX-500's profile: the merge's
  // members name its new key.
  auto undo = projector_->Split(eva, 0);
  ASSERT_TRUE(undo.ok()) << undo.status().ToString();
  EXPECT_EQ(undo->restored, mx500);
  EXPECT_EQ(ProfileOf("phone:+52 55 1234 5678"), mx500);
}

TEST_F(PhoneRekeyTest, ReportsCountsOnceAndIsIdempotent) {
  Identify(R"({"email":"eva.lopez@correo.mx","phone":"+52 55 1234 5678"})");
  Identify(R"({"email":"rui.lima@correio.com.br","phone":"+55 11 98765-4321"})");
  Identify(R"({"email":"ivo.pena@correio.com.br","phone":"+55 11 91234-5678"})");
  Identify(R"({"email":"gil.hart@mail.co.uk","phone":"+44 20 7946 0999"})");
  Identify(R"({"email":"ada.kent@mail.co.uk","phone":"+44 20 7946 0958"})");
  CatchUp();
  StopProjection();
  {
    auto db = OpenDb(config_.profiles_path);
    ASSERT_TRUE(db);
    ToOldForm(*db, kMxNew, kMxOld);
    ToOldForm(*db, "+5511912345678", kBrOld);  // now rui's number: a conflict
    ToOldForm(*db, "+442079460999", kGbInvalidOld);
    ASSERT_TRUE(db->Exec("DELETE FROM meta WHERE key = 'phone_normalizer'").ok());
  }
  const int64_t rui = 2, ivo = 3;  // profiles in event order
  auto db = OpenProjection(config_.profiles_path, /*read_only=*/false);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  Result<PhoneRekeyReport> first = RekeyPhones(**db, keys_, {config_.default_country});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->ran);
  EXPECT_EQ(first->from_version, 1);
  EXPECT_EQ(first->phones, 5);
  EXPECT_EQ(first->unchanged, 2);  // rui's, ada's
  EXPECT_EQ(first->rekeyed, 1);
  EXPECT_EQ(first->folded, 0);
  EXPECT_EQ(first->conflicts, 1);
  EXPECT_EQ(first->conflict_pairs, (std::vector<std::pair<int64_t, int64_t>>{{ivo, rui}}));
  EXPECT_EQ(first->invalid, 1);
  EXPECT_EQ(first->unreadable, 0);
  EXPECT_GE(first->references, 1);  // eva's identify event's carried and attached keys
  const std::vector<std::string> after = Snapshot(config_.profiles_path);

  // Once done, the version says so: nothing is read again.
  Result<PhoneRekeyReport> again = RekeyPhones(**db, keys_, {config_.default_country});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->ran);
  // Run again all the same (the version removed): a fixed point, the same database.
  ASSERT_TRUE((*db)->Exec("DELETE FROM meta WHERE key = 'phone_normalizer'").ok());
  Result<PhoneRekeyReport> forced = RekeyPhones(**db, keys_, {config_.default_country});
  ASSERT_TRUE(forced.ok());
  EXPECT_TRUE(forced->ran);
  EXPECT_EQ(forced->rekeyed, 0);
  EXPECT_EQ(forced->references, 0);
  EXPECT_EQ(forced->conflicts, 1);
  EXPECT_EQ(forced->invalid, 1);
  EXPECT_EQ(Snapshot(config_.profiles_path), after);
  db->reset();

  // And with another identity.key nothing opens: every phone kept, and counted.
  ASSERT_TRUE(OpenProjection(config_.profiles_path, false).ok());
  auto db2 = OpenProjection(config_.profiles_path, false);
  ASSERT_TRUE((*db2)->Exec("DELETE FROM meta WHERE key = 'phone_normalizer'").ok());
  IdentityKeys other = keys_;
  other.seal_key[0] ^= 1;
  Result<PhoneRekeyReport> wrong_key = RekeyPhones(**db2, other, {config_.default_country});
  ASSERT_TRUE(wrong_key.ok());
  EXPECT_EQ(wrong_key->unreadable, 5);
  EXPECT_EQ(Snapshot(config_.profiles_path), after);
}

TEST_F(PhoneRekeyTest, NewDatabaseStoresTheCurrentVersion) {
  EXPECT_EQ(Rows("SELECT value FROM meta WHERE key = 'phone_normalizer'"),
            std::vector<std::string>{std::to_string(identity::kPhoneNormalizerVersion)});
}

}  // namespace
}  // namespace cjd::hub
