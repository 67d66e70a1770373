// tools/cli/options.cpp -- layer: CLI. Parses the problem options shared by every subcommand.
//
// Owns the spelling of the options and their per-axis rules: a per-axis option takes one value (applied
// to every axis) or exactly `rank` values separated by 'x' or ','; the rank comes from --shape, else from
// --preset, else from the defaults. Numbers must parse completely. Explicit options override a preset's
// fields. Problem values are not validated here (Problem::validate() does that when the command decides).
#include "options.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "gna/error.hpp"
#include "gna/presets.hpp"

namespace gna::cli {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

int64_t parse_int(const std::string& name, const std::string& text) {
  if (text.empty()) fail(name, ": '' is not an integer");
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (end != text.c_str() + text.size() || text[0] == ' ' || text[0] == '+')
    fail(name, ": '", text, "' is not an integer");
  if (errno == ERANGE) fail(name, ": '", text, "' is out of range");
  return static_cast<int64_t>(v);
}

uint64_t parse_uint(const std::string& name, const std::string& text) {
  if (text.empty() || text[0] == '-' || text[0] == '+' || text[0] == ' ')
    fail(name, ": '", text, "' is not a non-negative integer");
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (end != text.c_str() + text.size()) fail(name, ": '", text, "' is not a non-negative integer");
  if (errno == ERANGE) fail(name, ": '", text, "' is out of range");
  return static_cast<uint64_t>(v);
}

double parse_double(const std::string& name, const std::string& text) {
  if (text.empty() || text[0] == ' ') fail(name, ": '", text, "' is not a number");
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) fail(name, ": '", text, "' is not a number");
  if (errno == ERANGE) fail(name, ": '", text, "' is out of range");
  return v;
}

// "64x64", "64,64" or "64" -> the integers, each checked.
std::vector<int64_t> parse_int_list(const std::string& name, const std::string& text) {
  std::vector<int64_t> out;
  std::string item;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == 'x' || text[i] == ',') {
      out.push_back(parse_int(name, item));
      item.clear();
    } else {
      item += text[i];
    }
  }
  return out;
}

// One value for every axis, or one per axis.
std::array<int64_t, kMaxRank> per_axis(const std::string& name, const std::string& text, int rank,
                                       int64_t fill) {
  const std::vector<int64_t> v = parse_int_list(name, text);
  if (v.size() != 1 && static_cast<int>(v.size()) != rank)
    fail(name, ": got ", v.size(), " values but the problem has rank ", rank,
         " (give 1 value for every axis or ", rank, ")");
  std::array<int64_t, kMaxRank> out;
  out.fill(fill);
  for (int d = 0; d < rank; ++d) out[d] = v.size() == 1 ? v[0] : v[d];
  return out;
}

// Re-fits a per-axis array from `old_rank` axes to `rank` axes: new axes copy the last old axis, axes
// beyond the rank get `fill`.
std::array<int64_t, kMaxRank> refit(std::array<int64_t, kMaxRank> a, int old_rank, int rank,
                                    int64_t fill) {
  old_rank = std::max(1, std::min(old_rank, kMaxRank));
  for (int d = old_rank; d < rank; ++d) a[d] = a[old_rank - 1];
  for (int d = rank; d < kMaxRank; ++d) a[d] = fill;
  return a;
}

DType parse_dtype(const std::string& text) {
  if (text == "fp32" || text == "f32" || text == "float32") return DType::f32;
  if (text == "fp16" || text == "f16" || text == "float16") return DType::f16;
  if (text == "bf16" || text == "bfloat16") return DType::bf16;
  if (text == "fp64" || text == "f64" || text == "float64") return DType::f64;
  fail("--dtype: '", text, "' is not one of fp32|fp16|bf16|fp64");
}

}  // namespace

std::string take_option(std::vector<std::string>& args, const std::string& name,
                        const std::string& fallback) {
  std::string value = fallback;
  const std::string eq = name + "=";
  for (size_t i = 0; i < args.size();) {
    if (args[i] == name) {
      if (i + 1 >= args.size()) fail(name, ": missing value");
      const std::string& v = args[i + 1];
      if (starts_with(v, "--")) fail(name, ": missing value (got option ", v, ")");
      value = v;
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i),
                 args.begin() + static_cast<std::ptrdiff_t>(i + 2));
    } else if (starts_with(args[i], eq)) {
      value = args[i].substr(eq.size());
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  return value;
}

// A per-axis option: "--window 7 9", "--window 7x9", "--window 7,9" or "--window=7,9". Consumes the
// option and up to kMaxRank following values that are not options; returns them joined with ','.
std::string take_axis_option(std::vector<std::string>& args, const std::string& name) {
  std::string value;
  for (size_t i = 0; i < args.size();) {
    if (args[i] != name) {
      ++i;
      continue;
    }
    size_t j = i + 1;
    std::string joined;
    while (j < args.size() && j < i + 1 + kMaxRank && !starts_with(args[j], "--")) {
      joined += (joined.empty() ? "" : ",") + args[j];
      ++j;
    }
    if (joined.empty()) fail(name, ": missing value");
    value = joined;
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(i), args.begin() + static_cast<std::ptrdiff_t>(j));
  }
  const std::string eq = take_option(args, name, "");
  return eq.empty() ? value : eq;
}


bool take_flag(std::vector<std::string>& args, const std::string& name) {
  bool found = false;
  for (size_t i = 0; i < args.size();) {
    if (args[i] == name) {
      found = true;
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  return found;
}

void reject_leftovers(const std::vector<std::string>& args, const std::string& command) {
  if (args.empty()) return;
  const std::string& a = args.front();
  if (starts_with(a, "-")) fail("unknown option ", a, " for ", command, " (see ", command, " --help)");
  fail("unexpected argument '", a, "' for ", command, " (see ", command, " --help)");
}

ProblemOptions parse_problem_options(std::vector<std::string>& args, const ProblemOptions& defaults) {
  // Presence is needed to know what overrides what, so look before taking.
  auto present = [&args](const std::string& name) {
    const std::string eq = name + "=";
    return std::any_of(args.begin(), args.end(),
                       [&](const std::string& a) { return a == name || starts_with(a, eq); });
  };
  ProblemOptions out = defaults;
  Problem& p = out.problem;
  int base_rank = std::max(1, std::min(defaults.problem.rank, kMaxRank));

  if (present("--preset")) {
    out.preset = take_option(args, "--preset");
    const Problem pre = preset_problem(out.preset);  // throws, listing the names, if unknown
    p = pre;
    // The preset's fields replace the defaults; dtype stays as given (presets are bf16 already).
    base_rank = pre.rank;
  }
  if (present("--shape")) {
    const std::vector<int64_t> shape = parse_int_list("--shape", take_axis_option(args, "--shape"));
    if (shape.empty() || shape.size() > static_cast<size_t>(kMaxRank))
      fail("--shape: got ", shape.size(), " extents; the rank must be 1..", kMaxRank);
    const int rank = static_cast<int>(shape.size());
    p.window = refit(p.window, base_rank, rank, 1);
    p.stride = refit(p.stride, base_rank, rank, 1);
    p.dilation = refit(p.dilation, base_rank, rank, 1);
    out.q_tile = refit(out.q_tile, base_rank, rank, 0);
    out.kv_tile = refit(out.kv_tile, base_rank, rank, 0);
    const bool causal_last = p.is_causal[std::max(0, std::min(base_rank, kMaxRank) - 1)];
    for (int d = base_rank; d < kMaxRank; ++d) p.is_causal[d] = d < rank ? causal_last : false;
    p.extent = {1, 1, 1};
    for (int d = 0; d < rank; ++d) p.extent[d] = shape[d];
    p.rank = rank;
  }
  const int rank = p.rank;
  if (rank < 1 || rank > kMaxRank) fail("problem rank ", rank, " is not in 1..", kMaxRank);

  if (present("--window")) p.window = per_axis("--window", take_axis_option(args, "--window"), rank, 1);
  if (present("--stride")) p.stride = per_axis("--stride", take_axis_option(args, "--stride"), rank, 1);
  if (present("--dilation"))
    p.dilation = per_axis("--dilation", take_axis_option(args, "--dilation"), rank, 1);
  if (present("--causal")) {
    const auto c = per_axis("--causal", take_axis_option(args, "--causal"), rank, 0);
    for (int d = 0; d < kMaxRank; ++d) {
      if (c[d] != 0 && c[d] != 1) fail("--causal: value ", c[d], " on axis ", d, " must be 0 or 1");
      p.is_causal[d] = d < rank && c[d] == 1;
    }
  }
  if (present("--batch")) p.batch = parse_int("--batch", take_option(args, "--batch"));
  if (present("--heads")) {
    p.heads = parse_int("--heads", take_option(args, "--heads"));
    p.kv_heads = p.heads;  // follows --heads unless --kv-heads is given
  }
  if (present("--kv-heads")) p.kv_heads = parse_int("--kv-heads", take_option(args, "--kv-heads"));
  if (present("--dim")) {
    p.dim_qk = parse_int("--dim", take_option(args, "--dim"));
    p.dim_v = p.dim_qk;  // follows --dim unless --dim-v is given
  }
  if (present("--dim-v")) p.dim_v = parse_int("--dim-v", take_option(args, "--dim-v"));
  if (present("--extra-kv")) p.extra_kv = parse_int("--extra-kv", take_option(args, "--extra-kv"));
  if (present("--scale")) p.scale = parse_double("--scale", take_option(args, "--scale"));
  if (present("--dtype")) out.dtype = parse_dtype(take_option(args, "--dtype"));
  if (present("--backend")) {
    out.backend = take_option(args, "--backend");
    static const char* known[] = {"auto", "reference", "cpu", "sm80", "sm90"};
    if (std::find(std::begin(known), std::end(known), out.backend) == std::end(known))
      fail("--backend: '", out.backend, "' is not one of auto|reference|cpu|sm80|sm90");
  }
  if (present("--seed")) out.seed = parse_uint("--seed", take_option(args, "--seed"));
  if (present("--q-tile")) out.q_tile = per_axis("--q-tile", take_axis_option(args, "--q-tile"), rank, 0);
  if (present("--kv-tile"))
    out.kv_tile = per_axis("--kv-tile", take_axis_option(args, "--kv-tile"), rank, 0);
  return out;
}

std::string problem_options_help() {
  std::ostringstream os;
  os << "Problem options (per-axis options take one value for every axis, or one per axis as AxBxC):\n"
        "  --preset NAME        start from a named problem; explicit options override its fields\n"
        "                       (";
  size_t column = 24;
  bool first = true;
  for (const auto& pr : presets()) {
    const std::string item = std::string(first ? "" : ", ") + pr.name;
    if (column + item.size() > 100) {
      os << ",\n                        ";
      column = 24;
      os << pr.name;
      column += std::string(pr.name).size();
    } else {
      os << item;
      column += item.size();
    }
    first = false;
  }
  os << ")\n"
        "  --shape X0[xX1[xX2]] token grid; sets the rank (1..3)\n"
        "  --window K           window (kernel size) per axis, >= 2\n"
        "  --stride S           stride per axis, 1..K (default 1)\n"
        "  --dilation D         dilation per axis (default 1)\n"
        "  --causal 0|1         causal flag per axis (default 0)\n"
        "  --batch B            batch size\n"
        "  --heads H            query heads (--kv-heads follows unless given)\n"
        "  --kv-heads HKV       key/value heads, H % HKV == 0 (GQA/MQA)\n"
        "  --dim D              head dim of Q/K (--dim-v follows unless given)\n"
        "  --dim-v DV           head dim of V and O\n"
        "  --extra-kv N         additional unmasked KV tokens\n"
        "  --scale S            softmax scale (default dim ** -0.5)\n"
        "  --dtype T            fp32 | fp16 | bf16 (fp64 also accepted)\n"
        "  --backend NAME       auto | reference | cpu | sm80 | sm90 (default auto)\n"
        "  --seed N             random seed (default 0)\n"
        "  --q-tile T, --kv-tile T  per-axis tile shapes (default: the planner's choice)\n";
  return os.str();
}

}  // namespace gna::cli
