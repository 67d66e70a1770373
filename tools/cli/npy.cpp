// tools/cli/npy.cpp -- layer: CLI. NumPy .npy reader/writer (see npy.hpp for the supported subset).
//
// File layout: "\x93NUMPY", major, minor, header length (uint16 LE for v1, uint32 LE for v2/v3), an
// ASCII/UTF-8 Python dict literal {'descr': .., 'fortran_order': .., 'shape': (..)} padded with spaces
// and a final '\n' so that the data starts at a multiple of 64 bytes, then the raw C-order data.
#include "npy.hpp"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <unistd.h>

#include "gna/error.hpp"

namespace gna::cli {
namespace {

constexpr unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

bool host_is_little_endian() {
  const uint16_t x = 1;
  unsigned char b;
  std::memcpy(&b, &x, 1);
  return b == 1;
}

// A tiny parser for the header's Python dict literal.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& name) : s_(text), name_(name) {}

  void parse(NpyArray& a) {
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') { ++i_; break; }
      const std::string key = parse_string();
      expect(':');
      if (key == "descr") {
        a.descr = parse_string();
        have_descr = true;
      } else if (key == "fortran_order") {
        skip_ws();
        if (s_.compare(i_, 4, "True") == 0) {
          fail(name_, ": fortran_order True is not supported (save a C-ordered array, e.g. "
                      "np.ascontiguousarray)");
        } else if (s_.compare(i_, 5, "False") == 0) {
          i_ += 5;
        } else {
          bad("fortran_order must be True or False");
        }
        have_order = true;
      } else if (key == "shape") {
        a.shape = parse_tuple();
        have_shape = true;
      } else {
        bad("unexpected key '" + key + "'");
      }
      skip_ws();
      if (peek() == ',') { ++i_; continue; }
      if (peek() == '}') { ++i_; break; }
      bad("expected ',' or '}'");
    }
    if (!have_descr || !have_order || !have_shape)
      bad("the header must have the keys descr, fortran_order and shape");
  }

 private:
  [[noreturn]] void bad(const std::string& why) const {
    fail(name_, ": malformed .npy header (", why, " at offset ", i_, ")");
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++i_;
  }
  std::string parse_string() {
    skip_ws();
    const char q = peek();
    if (q != '\'' && q != '"') bad("expected a quoted string");
    const size_t end = s_.find(q, i_ + 1);
    if (end == std::string::npos) bad("unterminated string");
    std::string out = s_.substr(i_ + 1, end - i_ - 1);
    i_ = end + 1;
    return out;
  }
  std::vector<int64_t> parse_tuple() {
    std::vector<int64_t> out;
    expect('(');
    while (true) {
      skip_ws();
      if (peek() == ')') { ++i_; break; }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) bad("expected a non-negative integer");
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (v > (INT64_MAX - 9) / 10) bad("dimension too large");
        v = v * 10 + (s_[i_++] - '0');
      }
      if (peek() == 'L') ++i_;  // Python 2 long suffix
      out.push_back(v);
      skip_ws();
      if (peek() == ',') { ++i_; continue; }
      if (peek() == ')') { ++i_; break; }
      bad("expected ',' or ')'");
    }
    return out;
  }

  const std::string& s_;
  const std::string& name_;
  size_t i_ = 0;
};

void check_descr(const std::string& descr, const std::string& name) {
  if (descr == "<f8" || descr == "<f4" || descr == "<f2" || descr == "<u2") return;
  if (!descr.empty() && descr[0] == '>')
    fail(name, ": big-endian dtype '", descr, "' is not supported (use arr.astype(arr.dtype.newbyteorder('<')))");
  fail(name, ": dtype '", descr, "' is not supported (expected <f8, <f4, <f2, or <u2 for bf16 bits)");
}

// Parses magic + header; returns the offset of the data.
size_t decode_header(const unsigned char* p, size_t n, const std::string& name, NpyArray& a) {
  if (n < 10 || std::memcmp(p, kMagic, 6) != 0) fail(name, ": not a .npy file (bad magic bytes)");
  const int major = p[6];
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<size_t>(p[8]) | (static_cast<size_t>(p[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (n < 12) fail(name, ": truncated .npy header");
    header_len = static_cast<size_t>(p[8]) | (static_cast<size_t>(p[9]) << 8) |
                 (static_cast<size_t>(p[10]) << 16) | (static_cast<size_t>(p[11]) << 24);
    offset = 12;
  } else {
    fail(name, ": .npy format version ", major, ".", static_cast<int>(p[7]),
         " is not supported (1.0, 2.0, 3.0)");
  }
  if (n < offset + header_len) fail(name, ": truncated .npy header");
  const std::string header(reinterpret_cast<const char*>(p + offset), header_len);
  HeaderParser(header, name).parse(a);
  check_descr(a.descr, name);
  return offset + header_len;
}

std::vector<unsigned char> read_file_bytes(const std::string& path, size_t limit) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, ": cannot open for reading");
  std::vector<unsigned char> bytes;
  if (limit == 0) {
    bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  } else {
    bytes.resize(limit);
    f.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(limit));
    bytes.resize(static_cast<size_t>(f.gcount()));
  }
  if (f.bad()) fail(path, ": read error");
  return bytes;
}

}  // namespace

int64_t NpyArray::item_size() const { return descr == "<f8" ? 8 : descr == "<f4" ? 4 : 2; }

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string npy_descr(DType t) {
  switch (t) {
    case DType::f64: return "<f8";
    case DType::f32: return "<f4";
    case DType::f16: return "<f2";
    default: return "<u2";
  }
}

DType dtype_of_descr(const std::string& descr, const std::string& name, bool bf16_ok) {
  if (descr == "<f8") return DType::f64;
  if (descr == "<f4") return DType::f32;
  if (descr == "<f2") return DType::f16;
  if (descr == "<u2") {
    if (!bf16_ok)
      fail(name, ": dtype <u2 (uint16) is read as bfloat16 bits only with --dtype bf16");
    return DType::bf16;
  }
  check_descr(descr, name);
  fail(name, ": unsupported dtype '", descr, "'");
}

TensorView npy_view(NpyArray& a, DType t) {
  if (a.shape.empty() || a.shape.size() > static_cast<size_t>(kMaxTensorRank))
    fail("npy_view: rank ", a.shape.size(), " is not in 1..", kMaxTensorRank);
  return make_view(a.data.data(), t, a.shape);
}

NpyArray decode_npy(const std::vector<unsigned char>& bytes, const std::string& name) {
  if (!host_is_little_endian()) fail(name, ": .npy I/O needs a little-endian host");
  NpyArray a;
  const size_t offset = decode_header(bytes.data(), bytes.size(), name, a);
  const int64_t want = a.numel() * a.item_size();
  const int64_t have = static_cast<int64_t>(bytes.size() - offset);
  if (have < want)
    fail(name, ": truncated data (shape needs ", want, " bytes, file has ", have, ")");
  if (have > want)
    fail(name, ": ", have - want, " unexpected bytes after the data (shape needs ", want, ")");
  a.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(offset), bytes.end());
  return a;
}

NpyArray read_npy(const std::string& path) { return decode_npy(read_file_bytes(path, 0), path); }

NpyArray read_npy_header(const std::string& path) {
  std::vector<unsigned char> head = read_file_bytes(path, 12);
  if (head.size() < 10 || std::memcmp(head.data(), kMagic, 6) != 0)
    fail(path, ": not a .npy file (bad magic bytes)");
  size_t len = head[6] == 1 ? (10 + (head[8] | (head[9] << 8)))
                            : (head.size() < 12 ? 12 : 12 + (static_cast<size_t>(head[8]) |
                                                             (static_cast<size_t>(head[9]) << 8) |
                                                             (static_cast<size_t>(head[10]) << 16) |
                                                             (static_cast<size_t>(head[11]) << 24)));
  if (len > (size_t{1} << 26)) fail(path, ": .npy header length ", len, " is implausible");
  head = read_file_bytes(path, len);
  NpyArray a;
  decode_header(head.data(), head.size(), path, a);
  return a;
}

std::vector<unsigned char> encode_npy(const NpyArray& a) {
  if (!host_is_little_endian()) fail("write .npy: needs a little-endian host");
  check_descr(a.descr, "write .npy");
  if (static_cast<int64_t>(a.data.size()) != a.numel() * a.item_size())
    fail("write .npy: data has ", a.data.size(), " bytes but shape needs ", a.numel() * a.item_size());
  std::ostringstream h;
  h << "{'descr': '" << a.descr << "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < a.shape.size(); ++i) {
    if (i > 0) h << ", ";
    h << a.shape[i];
  }
  if (a.shape.size() == 1) h << ",";  // Python's one-element tuple
  h << "), }";
  std::string header = h.str();
  int major = 1;
  size_t prefix = 10;
  if (header.size() + 1 + prefix > 65535 + 10) {
    major = 2;
    prefix = 12;
  }
  const size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');
  std::vector<unsigned char> out(kMagic, kMagic + 6);
  out.push_back(static_cast<unsigned char>(major));
  out.push_back(0);
  const size_t hl = header.size();
  out.push_back(static_cast<unsigned char>(hl & 0xff));
  out.push_back(static_cast<unsigned char>((hl >> 8) & 0xff));
  if (major == 2) {
    out.push_back(static_cast<unsigned char>((hl >> 16) & 0xff));
    out.push_back(static_cast<unsigned char>((hl >> 24) & 0xff));
  }
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), a.data.begin(), a.data.end());
  return out;
}

void write_npy_files(const std::vector<NpyOutput>& outputs) {
  std::vector<std::string> temps;
  auto cleanup = [&temps] {
    for (const auto& t : temps) std::remove(t.c_str());
  };
  try {
    for (const auto& o : outputs) {
      const std::vector<unsigned char> bytes = encode_npy(*o.array);
      // Same directory as the target, so the rename is atomic and never crosses file systems.
      const std::string tmp = o.path + ".tmp" + std::to_string(static_cast<long>(getpid()));
      temps.push_back(tmp);
      std::FILE* f = std::fopen(tmp.c_str(), "wb");
      if (!f) fail(o.path, ": cannot open for writing (", std::strerror(errno), ")");
      const size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
      const bool ok = written == bytes.size() && std::fflush(f) == 0;
      if (std::fclose(f) != 0 || !ok) fail(o.path, ": write failed (", std::strerror(errno), ")");
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (std::rename(temps[i].c_str(), outputs[i].path.c_str()) != 0)
        fail(outputs[i].path, ": cannot rename the temporary file into place (", std::strerror(errno),
             ")");
    }
  } catch (...) {
    cleanup();
    throw;
  }
}

void write_npy(const std::string& path, const NpyArray& a) { write_npy_files({{path, &a}}); }

}  // namespace gna::cli
