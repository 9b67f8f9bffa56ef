#include "hub/matching/record_table.h"

#include <algorithm>
#include <string>

#include "hub/matching/compare.h"
#include "hub/matching/normalize.h"

namespace cjd::hub::matching {
namespace {

bool IsName(Field f) { return f == Field::kFirstName || f == Field::kLastName; }
bool HasWords(Field f) {
  return f == Field::kAddressLine1 || f == Field::kAddressLine2 || f == Field::kCity;
}

}  // namespace

RecordTable::RecordTable() {
  // Value id 0 (missing) carries nothing.
  for (FieldValues& v : fields_) {
    v.phonetic.push_back(0);
    v.nickname.push_back(0);
    v.word_begin.push_back(0);
    v.word_end.push_back(0);
    v.is_date.push_back(0);
    v.count.push_back(0);
  }
}

uint32_t RecordTable::InternValue(Field f, std::string_view normalised) {
  FieldValues& v = fields_[Index(f)];
  const size_t before = v.text.size();
  const uint32_t id = v.text.Intern(normalised);
  if (v.text.size() == before) return id;
  // A new distinct value: everything derived from it is computed here, once.
  v.phonetic.push_back(IsName(f) ? v.phonetics.Intern(Nysiis(normalised)) : 0);
  v.nickname.push_back(f == Field::kFirstName ? static_cast<uint16_t>(NicknameGroup(normalised))
                                              : 0);
  const uint32_t begin = static_cast<uint32_t>(v.word_ids.size());
  if (HasWords(f)) {
    for (std::string_view w : Words(normalised)) v.word_ids.push_back(v.words.Intern(w));
    std::sort(v.word_ids.begin() + begin, v.word_ids.end());
    v.word_ids.erase(std::unique(v.word_ids.begin() + begin, v.word_ids.end()), v.word_ids.end());
  }
  v.word_begin.push_back(begin);
  v.word_end.push_back(static_cast<uint32_t>(v.word_ids.size()));
  v.is_date.push_back(f == Field::kDateOfBirth && IsDate8(normalised) ? 1 : 0);
  v.count.push_back(0);
  return id;
}

uint32_t RecordTable::Add(const Record& record) {
  PreparedRecord row;
  for (size_t i = 0; i < kFieldCount; ++i) {
    const Field f = static_cast<Field>(i);
    const std::string normalised = NormalizeField(f, record.fields[i]);
    const uint32_t id = InternValue(f, normalised);
    row.value[i] = id;
    if (id != 0) {
      ++fields_[i].count[id];
      ++fields_[i].non_missing;
    }
  }
  rows_.push_back(row);
  return static_cast<uint32_t>(rows_.size() - 1);
}

void RecordTable::Forget(uint32_t row) {
  PreparedRecord& r = rows_[row];
  for (size_t i = 0; i < kFieldCount; ++i) {
    const uint32_t id = r.value[i];
    if (id == 0) continue;
    --fields_[i].count[id];
    --fields_[i].non_missing;
    r.value[i] = 0;
  }
}

}  // namespace cjd::hub::matching
