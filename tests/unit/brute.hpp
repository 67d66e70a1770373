// tests/unit/brute.hpp -- layer: tests (na math vs brute force). An independent oracle for the unit tests.
//
// The neighborhood rule written straight from spec/semantics.md s2-s5 in a deliberately different form
// from na/window.hpp (explicit key sets, start clamped into [0, L-K] instead of a clamped centre), used to
// brute-force every (query, key) pair. Nothing here includes gna/na: the tests compare na/ against this.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace brute {

struct Axis {
  int64_t L = 1, K = 1, S = 1, D = 1;
  bool C = false;
};

// Group-local: does query i attend key j on an axis of extent L (no dilation)?
inline bool local_attends(int64_t i, int64_t j, int64_t L, int64_t K, int64_t S, bool C) {
  if (C) {
    const int64_t last_of_group = std::min((i / S) * S + S - 1, L - 1);
    const int64_t first_key = std::max<int64_t>(last_of_group - K + 1, 0);
    return j >= first_key && j <= i;
  }
  const int64_t leader = std::min((i / S) * S + S / 2, L - 1);
  // The window of K keys with `leader` at position K/2 (even K: one more key on the left), slid inward.
  const int64_t first_key = std::clamp<int64_t>(leader - K / 2, 0, L - K);
  return j >= first_key && j < first_key + K;
}

// Global coordinates with dilation (spec s4).
inline bool axis_attends(int64_t x, int64_t y, const Axis& a) {
  if (x % a.D != y % a.D) return false;
  const int64_t g = x % a.D;
  int64_t Lg = 0;
  for (int64_t z = g; z < a.L; z += a.D) ++Lg;  // count the group's members
  return local_attends(x / a.D, y / a.D, Lg, a.K, a.S, a.C);
}

// Dense attend matrix of a group-local axis: m[i * L + j].
inline std::vector<char> local_matrix(int64_t L, int64_t K, int64_t S, bool C) {
  std::vector<char> m(static_cast<size_t>(L * L));
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j < L; ++j) m[static_cast<size_t>(i * L + j)] = local_attends(i, j, L, K, S, C);
  return m;
}

}  // namespace brute
