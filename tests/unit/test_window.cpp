// tests/unit/test_window.cpp -- layer: tests. na/window.hpp (spec s3, s4, s6, s9) vs brute force.
//
// Exhaustive over every axis with L < 40, K in [2, L], S in [1, K], D with K*D <= L, causal 0/1: window
// shape invariants, the global (dilated) rule vs brute force of every pair, inverse windows vs brute
// force, attended-pair counts; plus the spec's worked-examples table verbatim.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "gna/na/window.hpp"
#include "unit/brute.hpp"

using gna::na::AxisSpec;
using gna::na::Range;

namespace {

constexpr int64_t kMaxL = 40;  // every L < kMaxL

template <class F>
void for_each_axis(F&& f) {
  for (int64_t L = 2; L < kMaxL; ++L)
    for (int64_t K = 2; K <= L; ++K)
      for (int64_t S = 1; S <= K; ++S)
        for (int64_t D = 1; K * D <= L; ++D)
          for (int c = 0; c < 2; ++c) f(AxisSpec{L, K, S, D, c == 1});
}

std::string name(const AxisSpec& a) {
  std::ostringstream os;
  os << "L=" << a.extent << " K=" << a.window << " S=" << a.stride << " D=" << a.dilation
     << " causal=" << a.is_causal;
  return os.str();
}

}  // namespace

TEST(Window, LocalShapeInvariantsExhaustive) {
  for (int64_t L = 2; L < kMaxL; ++L)
    for (int64_t K = 2; K <= L; ++K)
      for (int64_t S = 1; S <= K; ++S)
        for (int c = 0; c < 2; ++c) {
          Range prev{-1, -1};
          for (int64_t i = 0; i < L; ++i) {
            const Range w = gna::na::window_local(i, L, K, S, c == 1);
            ASSERT_GE(w.start, 0) << L << " " << K << " " << S << " " << c << " i=" << i;
            ASSERT_LE(w.end, L);
            if (c == 0) {
              ASSERT_EQ(w.size(), K);
            } else {
              ASSERT_LE(w.start, i);
              ASSERT_EQ(w.end, i + 1);
              ASSERT_GE(w.size(), 1);
              ASSERT_LE(w.size(), K);
            }
            ASSERT_GE(w.start, prev.start) << "start must not decrease";
            ASSERT_GE(w.end, prev.end) << "end must not decrease";
            // queries of one stride group share their key set (non-causal)
            if (c == 0 && i % S != 0) {
              ASSERT_EQ(w.start, prev.start);
              ASSERT_EQ(w.end, prev.end);
            }
            prev = w;
            for (int64_t j = 0; j < L; ++j)
              ASSERT_EQ(w.contains(j), brute::local_attends(i, j, L, K, S, c == 1))
                  << "L=" << L << " K=" << K << " S=" << S << " c=" << c << " i=" << i << " j=" << j;
          }
        }
}

TEST(Window, GlobalRuleAndInverseExhaustive) {
  int64_t configs = 0;
  for_each_axis([&](const AxisSpec& a) {
    ++configs;
    const brute::Axis b{a.extent, a.window, a.stride, a.dilation, a.is_causal};
    for (int64_t x = 0; x < a.extent; ++x)
      for (int64_t y = 0; y < a.extent; ++y)
        ASSERT_EQ(gna::na::axis_attends(x, y, a), brute::axis_attends(x, y, b))
            << name(a) << " x=" << x << " y=" << y;
    // inverse window: the queries attending key y, group-local, tight
    for (int64_t y = 0; y < a.extent; ++y) {
      const Range inv = gna::na::inverse_window_of(y, a);
      int64_t lo = -1, hi = -1, n = 0;
      for (int64_t x = y % a.dilation; x < a.extent; x += a.dilation)
        if (brute::axis_attends(x, y, b)) {
          if (lo < 0) lo = x / a.dilation;
          hi = x / a.dilation + 1;
          ++n;
        }
      ASSERT_EQ(hi - lo, n) << name(a) << " y=" << y << ": attending queries are not contiguous";
      ASSERT_EQ(inv.start, lo) << name(a) << " y=" << y;
      ASSERT_EQ(inv.end, hi) << name(a) << " y=" << y;
    }
    // attended pairs (s9)
    int64_t pairs = 0;
    for (int64_t x = 0; x < a.extent; ++x)
      for (int64_t y = 0; y < a.extent; ++y) pairs += brute::axis_attends(x, y, b);
    ASSERT_EQ(gna::na::axis_attended_pairs(a), pairs) << name(a);
  });
  EXPECT_GT(configs, 10000);
}

// spec s3 worked examples, L = 10, verbatim ("..." skips entries).
TEST(Window, SpecWorkedExamples) {
  struct Row {
    int64_t K, S;
    bool causal;
    const char* windows;
  };
  const Row rows[] = {
      {4, 1, false, "0:[0,4) 1:[0,4) 2:[0,4) 3:[1,5) 4:[2,6) 5:[3,7) 6:[4,8) 7:[5,9) 8:[6,10) 9:[6,10)"},
      {4, 3, false, "0-2:[0,4) 3-5:[2,6) 6-8:[5,9) 9:[6,10)"},
      {5, 2, false, "0,1:[0,5) 2,3:[1,6) 4,5:[3,8) 6-9:[5,10)"},
      {4, 3, true, "0:[0,1) 1:[0,2) 2:[0,3) 3:[2,4) 4:[2,5) 5:[2,6) 6:[5,7) 7:[5,8) 8:[5,9) 9:[6,10)"},
      {4, 1, true, "0:[0,1) 1:[0,2) 2:[0,3) 3:[0,4) 4:[1,5) 5:[2,6) ... 9:[6,10)"},
  };
  for (const Row& r : rows) {
    std::istringstream is(r.windows);
    std::string tok;
    int checked = 0;
    while (is >> tok) {
      if (tok == "...") continue;
      const size_t colon = tok.find(':');
      const std::string qs = tok.substr(0, colon);
      int64_t s = 0, e = 0;
      ASSERT_EQ(std::sscanf(tok.c_str() + colon + 1, "[%ld,%ld)", &s, &e), 2) << tok;
      std::vector<int64_t> queries;
      if (qs.find('-') != std::string::npos) {
        const int64_t a = std::stol(qs.substr(0, qs.find('-'))), b = std::stol(qs.substr(qs.find('-') + 1));
        for (int64_t q = a; q <= b; ++q) queries.push_back(q);
      } else if (qs.find(',') != std::string::npos) {
        queries = {std::stol(qs.substr(0, qs.find(','))), std::stol(qs.substr(qs.find(',') + 1))};
      } else {
        queries = {std::stol(qs)};
      }
      for (int64_t q : queries) {
        const Range w = gna::na::window_local(q, 10, r.K, r.S, r.causal);
        EXPECT_EQ(w.start, s) << "K=" << r.K << " S=" << r.S << " causal=" << r.causal << " i=" << q;
        EXPECT_EQ(w.end, e) << "K=" << r.K << " S=" << r.S << " causal=" << r.causal << " i=" << q;
        ++checked;
      }
    }
    EXPECT_GE(checked, 7);
  }
}
