// A generator of FEBRL-like person records with known duplicates, for the matcher's tests and
// benchmark. It mimics the FEBRL generator: 60 % originals, 40 % duplicates (originals picked
// at random get 1-5 duplicates, weights 1/k^2), each duplicate with 1-3 corruptions (a typo,
// an adjacent swap, a dropped value, a swapped first/last name, a day/month swap, an inserted
// character). Names, streets and towns are drawn with Zipf weights from syllable-built
// vocabularies, so common values are common and blocks are skewed as in real data.
// Deterministic for a seed, on every platform.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "hub/matching/record.h"

namespace cjd::hub::matching::generated {



struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
  double Unit() { return static_cast<double>(Next() >> 11) / 9007199254740992.0; }
};

// A vocabulary of `n` syllable-built words, drawn with Zipf(1) weights.
struct Vocabulary {
  std::vector<std::string> words;
  std::vector<double> cumulative;
  Vocabulary(Rng* rng, size_t n, int min_syllables, int max_syllables) {
    static const char* kSyllables[] = {"an", "bel", "car", "den", "el", "fer", "gar", "han",
                                       "is", "jo", "ka", "lin", "mar", "nor", "ol", "per",
                                       "quin", "ros", "sa", "ton", "ur", "vel", "win", "ya",
                                       "zel", "bro", "che", "dra", "ste", "wal", "ley", "son"};
    std::set<std::string> seen;
    double total = 0;
    while (words.size() < n) {
      std::string w;
      const int k = min_syllables + static_cast<int>(rng->Below(max_syllables - min_syllables + 1));
      for (int i = 0; i < k; ++i) w += kSyllables[rng->Below(std::size(kSyllables))];
      if (!seen.insert(w).second) continue;
      words.push_back(w);
      total += 1.0 / static_cast<double>(words.size());
      cumulative.push_back(total);
    }
    for (double& c : cumulative) c /= total;
  }
  const std::string& Draw(Rng* rng) const {
    const double u = rng->Unit();
    size_t lo = 0, hi = cumulative.size() - 1;
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (cumulative[mid] < u) lo = mid + 1; else hi = mid;
    }
    return words[lo];
  }
};

inline std::string Digits(Rng* rng, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + rng->Below(10)));
  return s;
}

inline void Corrupt(Rng* rng, Record* r) {
  const int kinds = 1 + static_cast<int>(rng->Below(3));
  for (int k = 0; k < kinds; ++k) {
    const Field f = static_cast<Field>(rng->Below(10));  // the FEBRL fields, not email/phone
    std::string& v = (*r)[f];
    switch (rng->Below(6)) {
      case 0:  // typo
        if (!v.empty()) v[rng->Below(v.size())] = static_cast<char>('a' + rng->Below(26));
        break;
      case 1:  // adjacent swap
        if (v.size() >= 2) {
          const size_t i = rng->Below(v.size() - 1);
          std::swap(v[i], v[i + 1]);
        }
        break;
      case 2:  // dropped value
        v.clear();
        break;
      case 3:  // first and last name swapped
        std::swap((*r)[Field::kFirstName], (*r)[Field::kLastName]);
        break;
      case 4: {  // day and month swapped
        std::string& d = (*r)[Field::kDateOfBirth];
        if (d.size() == 8) d = d.substr(0, 4) + d.substr(6, 2) + d.substr(4, 2);
        break;
      }
      default:  // a character inserted
        v.insert(rng->Below(v.size() + 1), 1, static_cast<char>('a' + rng->Below(26)));
        break;
    }
  }
}

// n records and, per record, the index of its original (the truth).
inline std::pair<std::vector<Record>, std::vector<uint32_t>> GeneratePeople(size_t n,
                                                                            uint64_t seed) {
  Rng rng{seed};
  const Vocabulary given(&rng, 2000, 1, 3), surname(&rng, 20000, 2, 3), street(&rng, 8000, 2, 3),
      town(&rng, 3000, 2, 3), locality(&rng, 2000, 1, 3);
  static const char* kTypes[] = {"street", "road", "place", "avenue", "crescent", "close"};
  static const char* kStates[] = {"nsw", "vic", "qld", "wa", "sa", "tas", "act", "nt"};
  std::vector<Record> records;
  std::vector<uint32_t> entity;
  const size_t originals = n * 6 / 10;
  for (size_t i = 0; i < originals; ++i) {
    Record r;
    r[Field::kFirstName] = given.Draw(&rng);
    r[Field::kLastName] = surname.Draw(&rng);
    r[Field::kStreetNumber] = std::to_string(1 + static_cast<int>(std::pow(rng.Unit(), 3) * 300));
    r[Field::kAddressLine1] = street.Draw(&rng) + " " + kTypes[rng.Below(std::size(kTypes))];
    if (rng.Below(2) == 0) r[Field::kAddressLine2] = locality.Draw(&rng);
    r[Field::kCity] = town.Draw(&rng);
    r[Field::kPostcode] = std::to_string(2000 + rng.Below(6000));
    r[Field::kRegion] = kStates[rng.Below(std::size(kStates))];
    char dob[16];
    std::snprintf(dob, sizeof dob, "%04d%02d%02d", 1920 + static_cast<int>(rng.Below(85)),
                  1 + static_cast<int>(rng.Below(12)), 1 + static_cast<int>(rng.Below(28)));
    r[Field::kDateOfBirth] = dob;
    r[Field::kNationalId] = Digits(&rng, 7);
    r.id = "org-" + std::to_string(i);
    records.push_back(std::move(r));
    entity.push_back(static_cast<uint32_t>(i));
  }
  // Originals picked in a random order get 1-5 duplicates (weights 1/k^2, as FEBRL caps at 5)
  // until there are n records.
  for (size_t o = rng.Below(originals); records.size() < n; o = rng.Below(originals)) {
    const double u = rng.Unit() * (1 + 1 / 4.0 + 1 / 9.0 + 1 / 16.0 + 1 / 25.0);
    int k = 1;
    for (double c = 1; c < u && k < 5; c += 1.0 / ((k + 1) * (k + 1)), ++k) {
    }
    for (int i = 0; i < k && records.size() < n; ++i) {
      Record d = records[o];
      Corrupt(&rng, &d);
      d.id = "dup-" + std::to_string(records.size());
      records.push_back(std::move(d));
      entity.push_back(entity[o]);
    }
  }
  return {std::move(records), std::move(entity)};
}

}  // namespace cjd::hub::matching::generated
