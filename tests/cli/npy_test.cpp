// tests/cli/npy_test.cpp -- layer: CLI tests. The .npy reader/writer: round trips, the exact header
// layout NumPy writes, versions 2.0/3.0, and every rejected input (with the file named in the error).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <fstream>
#include <string>

#include "gna/error.hpp"
#include "gna/numeric.hpp"
#include "npy.hpp"

namespace gna::cli {
namespace {

std::vector<unsigned char> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// A file as NumPy would write it: magic, version, length, header dict padded to 64 bytes, data.
std::vector<unsigned char> handmade(int major, const std::string& dict, const std::vector<unsigned char>& data) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  const size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';
  std::vector<unsigned char> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<unsigned char>(major), 0};
  const size_t n = header.size();
  out.push_back(n & 0xff);
  out.push_back((n >> 8) & 0xff);
  if (major != 1) {
    out.push_back((n >> 16) & 0xff);
    out.push_back((n >> 24) & 0xff);
  }
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<unsigned char> floats(std::initializer_list<float> v) {
  std::vector<unsigned char> out(v.size() * 4);
  std::memcpy(out.data(), v.begin(), out.size());
  return out;
}

std::string error_of(const std::vector<unsigned char>& bytes, const std::string& name = "X.npy") {
  try {
    decode_npy(bytes, name);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Npy, WritesTheHeaderNumpyWrites) {
  NpyArray a;
  a.descr = "<f4";
  a.shape = {2, 3};
  a.data = floats({1, 2, 3, 4, 5, 6});
  const std::vector<unsigned char> b = encode_npy(a);
  const std::string expect_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  EXPECT_EQ(b, handmade(1, expect_dict, a.data));
  EXPECT_EQ((b.size() - a.data.size()) % 64, 0u);
}

TEST(Npy, OneAndZeroDimTuples) {
  NpyArray a;
  a.descr = "<f8";
  a.shape = {3};
  a.data.assign(24, 0);
  const std::vector<unsigned char> b = encode_npy(a);
  const std::string s(b.begin(), b.end());
  EXPECT_NE(s.find("'shape': (3,)"), std::string::npos);
  a.shape = {};
  a.data.assign(8, 0);
  const std::vector<unsigned char> z = encode_npy(a);
  EXPECT_NE(std::string(z.begin(), z.end()).find("'shape': ()"), std::string::npos);
  EXPECT_EQ(decode_npy(z, "z.npy").shape.size(), 0u);
}

TEST(Npy, RoundTripEveryDtype) {
  for (const char* d : {"<f8", "<f4", "<f2", "<u2"}) {
    NpyArray a;
    a.descr = d;
    a.shape = {2, 1, 5, 3};
    a.data.resize(static_cast<size_t>(a.numel() * a.item_size()));
    for (size_t i = 0; i < a.data.size(); ++i) a.data[i] = static_cast<unsigned char>(i * 37 + 11);
    const NpyArray b = decode_npy(encode_npy(a), "rt.npy");
    EXPECT_EQ(b.descr, a.descr);
    EXPECT_EQ(b.shape, a.shape);
    EXPECT_EQ(b.data, a.data);
  }
}

TEST(Npy, FileRoundTripAndHeaderOnly) {
  const std::string path = testing::TempDir() + "gna_npy_rt_" + std::to_string(getpid()) + ".npy";
  NpyArray a;
  a.descr = "<f4";
  a.shape = {4, 2};
  a.data = floats({1, -2, 3.5f, 4, 5, 6, 7, 8});
  write_npy(path, a);
  const NpyArray b = read_npy(path);
  EXPECT_EQ(b.data, a.data);
  EXPECT_EQ(read_npy_header(path).shape, a.shape);
  std::remove(path.c_str());
}

TEST(Npy, ReadsVersions2And3AndLegacyForms) {
  const auto data = floats({1, 2});
  for (int major : {2, 3}) {
    const NpyArray a = decode_npy(handmade(major, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data), "v.npy");
    EXPECT_EQ(a.shape, std::vector<int64_t>({2}));
    EXPECT_EQ(a.data, data);
  }
  // Key order, double quotes, no trailing comma, Python 2 long suffix.
  const NpyArray b = decode_npy(
      handmade(1, "{\"shape\": (1L, 2L), \"fortran_order\": False, \"descr\": \"<f4\"}", data), "b.npy");
  EXPECT_EQ(b.shape, std::vector<int64_t>({1, 2}));
}

TEST(Npy, LargeHeaderUsesVersion2) {
  NpyArray a;
  a.descr = "<f4";
  // A header longer than 65535 bytes cannot happen with <= 6 dims; the writer picks v1 for real data.
  a.shape = {1, 1, 1, 1, 1, 1};
  a.data = floats({7});
  const auto b = encode_npy(a);
  EXPECT_EQ(b[6], 1);
}

TEST(Npy, RejectsWithClearErrors) {
  const auto d6 = floats({1, 2, 3, 4, 5, 6});
  auto has = [](const std::string& msg, const std::string& part) {
    return msg.find(part) != std::string::npos && msg.find("X.npy") != std::string::npos;
  };
  EXPECT_PRED2(has, error_of(handmade(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", d6)),
               "fortran_order True");
  EXPECT_PRED2(has, error_of(handmade(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", d6)),
               "big-endian");
  EXPECT_PRED2(has, error_of(handmade(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", d6)),
               "'<i4' is not supported");
  std::vector<unsigned char> cut = handmade(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", d6);
  cut.resize(cut.size() - 3);
  EXPECT_PRED2(has, error_of(cut), "truncated data");
  std::vector<unsigned char> longer = handmade(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", d6);
  longer.push_back(0);
  EXPECT_PRED2(has, error_of(longer), "unexpected bytes");
  EXPECT_PRED2(has, error_of(bytes_of("PK\x03\x04 this is a zip")), "not a .npy file");
  std::vector<unsigned char> v9 = handmade(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", d6);
  v9[6] = 9;
  EXPECT_PRED2(has, error_of(v9), "version 9.0");
  std::vector<unsigned char> short_header = handmade(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", d6);
  short_header.resize(30);
  EXPECT_PRED2(has, error_of(short_header), "truncated .npy header");
  EXPECT_PRED2(has, error_of(handmade(1, "{'descr': '<f4', 'shape': (2, 3), }", d6)), "must have the keys");
  EXPECT_PRED2(has, error_of(handmade(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", d6)),
               "malformed");
  try {
    read_npy(testing::TempDir() + "does_not_exist.npy");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does_not_exist.npy: cannot open"), std::string::npos);
  }
}

TEST(Npy, Bf16OnlyWhenAllowed) {
  EXPECT_EQ(dtype_of_descr("<u2", "b.npy", true), DType::bf16);
  try {
    dtype_of_descr("<u2", "b.npy", false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("b.npy: dtype <u2"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("--dtype bf16"), std::string::npos);
  }
  EXPECT_EQ(dtype_of_descr("<f2", "h.npy", false), DType::f16);
}

TEST(Npy, MultiFileWriteLeavesNothingOnFailure) {
  const std::string dir = testing::TempDir();
  const std::string good = dir + "gna_multi_good_" + std::to_string(getpid()) + ".npy";
  const std::string bad = dir + "no_such_dir_gna/x.npy";
  std::remove(good.c_str());
  NpyArray a;
  a.descr = "<f4";
  a.shape = {1};
  a.data = floats({1});
  EXPECT_THROW(write_npy_files({{good, &a}, {bad, &a}}), Error);
  std::ifstream f(good);
  EXPECT_FALSE(f.good()) << "first output must not appear when the second one fails";
  std::ifstream t(good + ".tmp" + std::to_string(static_cast<long>(getpid())));
  EXPECT_FALSE(t.good()) << "temporary file left behind";
}

}  // namespace
}  // namespace gna::cli
