// tools/cli/npy.hpp -- layer: CLI. NumPy .npy files (format versions 1.0, 2.0, 3.0) for the `gna` tool
// and its tests.
//
// Supported: C order, little-endian, dtypes <f8 <f4 <f2 and <u2 (bfloat16 bits stored as uint16; the
// caller decides whether to accept them). Everything else (fortran_order True, big-endian, other
// dtypes, truncated or oversized files, malformed headers) is rejected with a gna::Error naming the file.
// Writes use version 1.0 (2.0 when the header does not fit) and go to a temporary file in the same
// directory that is renamed over the target only after everything was written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gna/tensor.hpp"

namespace gna::cli {

struct NpyArray {
  std::string descr;             // "<f8" | "<f4" | "<f2" | "<u2"
  std::vector<int64_t> shape;    // empty for a 0-d array
  std::vector<unsigned char> data;  // numel * item_size bytes, C order, little-endian

  int64_t numel() const;
  int64_t item_size() const;
};

// Reads and checks a whole file. Throws gna::Error naming `path` on any problem.
NpyArray read_npy(const std::string& path);

// Parses only the header (for shapes before loading); same checks except the data length.
NpyArray read_npy_header(const std::string& path);

// Writes `a` to `path` atomically (temp file + rename). Throws gna::Error naming `path`.
void write_npy(const std::string& path, const NpyArray& a);

// Writes several files as one step: every array goes to a temp file first; only when all were written
// are they renamed onto their targets. On failure the temp files are removed and no target is touched.
struct NpyOutput {
  std::string path;
  const NpyArray* array;
};
void write_npy_files(const std::vector<NpyOutput>& outputs);

// Builds the file bytes (header + data) without touching disk.
std::vector<unsigned char> encode_npy(const NpyArray& a);
// Parses file bytes; `name` is used in error messages.
NpyArray decode_npy(const std::vector<unsigned char>& bytes, const std::string& name);

// The .npy descr of a gna dtype (bf16 -> "<u2") and back. `bf16_ok` allows "<u2" -> bf16.
std::string npy_descr(DType t);
DType dtype_of_descr(const std::string& descr, const std::string& name, bool bf16_ok);

// A writable view of the array's bytes as a gna tensor (host, contiguous).
TensorView npy_view(NpyArray& a, DType t);

}  // namespace gna::cli
