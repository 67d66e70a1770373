// tools/cli/cmd_sim.cpp -- layer: CLI. `gna sim`: the simulator and tile planner (include/gna/sim.hpp).
//
// Prints the exact tile accounting of a problem under one tiling (given with --q-tile/--kv-tile, else the
// planner's best for --arch), the predicted time, and optionally every supported tiling ranked by
// predicted time (--all-tilings) and the per-axis strides that make the problem perfectly block-sparse
// (--find-strides). --measured FILE.jsonl compares the prediction with measured kernel times (lines of a
// `gna bench --json` file matching the problem; the prediction is for the tiling each line was measured
// with). --json prints one JSON object instead of text. Nothing here computes tile math: it only formats
// what src/sim returns (and reads the flat JSON objects of a bench file).
#include <array>
#include <cctype>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "gna/error.hpp"
#include "gna/presets.hpp"
#include "gna/sim.hpp"
#include "options.hpp"

namespace gna::cli {
namespace {

const char* kSimHelp =
    "usage: gna sim [problem options] [--q-tile T --kv-tile T] [--arch NAME] [--family NAME] [--all-tilings]\n"
    "               [--find-strides] [--groups] [--measured FILE.jsonl] [--json]\n"
    "\n"
    "Exact tile accounting (no token pairs are enumerated) and the cost model's predicted time for\n"
    "one tiling: --q-tile/--kv-tile give any positive per-axis extents (1 included; one of the two\n"
    "alone sets both); without them the planner picks the fastest tiling the kernels support\n"
    "(Q and KV tiles of 64 or 128 tokens, factored over the axes as powers of two).\n"
    "\n"
    "  --arch NAME      cost-model constants: h100, h200, a100, l40, cpu (a best-class kernel with a\n"
    "                   token permutation; guesses) or h100-sm80 (calibrated), h200-sm80, a100-sm80,\n"
    "                   l40-sm80 (the compiled sm80 kernel, tiles loaded in place: no layout cost).\n"
    "                   Default: h100, or h100-sm80 / h100-sm90 with --family sm80 / sm90 (the\n"
    "                   calibrated models the compiled kernels plan with)\n"
    "  --family NAME    tile sizes to plan over: explore (default: every size a kernel could be built\n"
    "                   for), sm80 or sm90 (exactly what that compiled kernel runs for this head dim)\n"
    "  --measured FILE  a `gna bench --json` results file (JSON lines): print measured vs predicted\n"
    "                   kernel time for every line with this problem (shape, window, stride, dilation,\n"
    "                   batch, heads, dim, dtype; lines without a shape match on --preset name), each\n"
    "                   predicted for the tiles it was measured with (its \"tiles\"). --json adds\n"
    "                   measured_ms and prediction_error (predicted / measured - 1) of the last match\n"
    "  --all-tilings    also list every supported tiling, fastest predicted first\n"
    "  --find-strides   per axis, the strides that make the problem perfectly block-sparse under\n"
    "                   the tiling, nearest to the given stride first\n"
    "  --groups         print the counts of each dilation group (at most 64)\n"
    "  --json           one JSON object on stdout instead of text\n"
    "\n"
    "Counts are per batch entry and head, summed over dilation groups. Bounds: flop = N(N+Nx) /\n"
    "attended pairs; tile = dense tile pairs / visited tile pairs; pair = N(N+Nx) / computed pairs.\n"
    "\n";

std::string fixed(double v, int digits) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(digits) << v;
  return os.str();
}

std::string tile_json(const std::array<int64_t, kMaxRank>& t, int rank) {
  std::string s = "[";
  for (int d = 0; d < rank; ++d) s += (d ? "," : "") + std::to_string(t[d]);
  return s + "]";
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o;
}

// ---- --measured: the flat JSON objects of a `gna bench --json` file ----------------------------------

// One JSON line as key -> raw value text (strings unquoted and unescaped; numbers, booleans, arrays and
// nested objects as written). Throws gna::Error naming the file and line on malformed input.
using JsonObject = std::vector<std::pair<std::string, std::string>>;

JsonObject parse_json_line(const std::string& s, const std::string& where) {
  JsonObject obj;
  size_t i = 0;
  auto bad = [&](const char* what) { fail("--measured: ", where, ": ", what, " at column ", i + 1); };
  auto ws = [&] {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  };
  auto string_at = [&] {
    if (i >= s.size() || s[i] != '"') bad("expected a string");
    std::string out;
    for (++i; i < s.size() && s[i] != '"'; ++i) {
      if (s[i] == '\\' && i + 1 < s.size()) ++i;
      out += s[i];
    }
    if (i >= s.size()) bad("unterminated string");
    ++i;
    return out;
  };
  ws();
  if (i >= s.size() || s[i] != '{') bad("expected '{'");
  ++i;
  ws();
  if (i < s.size() && s[i] == '}') return obj;
  while (true) {
    ws();
    std::string key = string_at();
    ws();
    if (i >= s.size() || s[i] != ':') bad("expected ':'");
    ++i;
    ws();
    std::string value;
    if (i < s.size() && s[i] == '"') {
      value = string_at();
    } else {
      const size_t start = i;
      int depth = 0;
      for (; i < s.size(); ++i) {
        if (s[i] == '[' || s[i] == '{') ++depth;
        if (s[i] == ']' || s[i] == '}') {
          if (depth == 0) break;
          --depth;
        }
        if (s[i] == ',' && depth == 0) break;
      }
      value = s.substr(start, i - start);
      while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
      if (value.empty()) bad("expected a value");
    }
    obj.emplace_back(std::move(key), std::move(value));
    ws();
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    if (i < s.size() && s[i] == '}') break;
    bad("expected ',' or '}'");
  }
  return obj;
}

const std::string* json_get(const JsonObject& o, const std::string& key) {
  for (const auto& kv : o)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

double json_number(const std::string& v, const std::string& what) {
  try {
    size_t used = 0;
    const double d = std::stod(v, &used);
    if (used == v.size()) return d;
  } catch (const std::exception&) {
  }
  fail("--measured: ", what, " is not a number ('", v, "')");
}

// "[1, 2, 3]" (numbers or booleans) -> values; booleans as 0/1.
std::vector<int64_t> json_int_array(const std::string& v, const std::string& what) {
  if (v.size() < 2 || v.front() != '[' || v.back() != ']') fail("--measured: ", what, " is not an array ('", v, "')");
  std::vector<int64_t> out;
  std::stringstream ss(v.substr(1, v.size() - 2));
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    if (a == std::string::npos) continue;
    item = item.substr(a, b - a + 1);
    if (item == "true" || item == "false") {
      out.push_back(item == "true" ? 1 : 0);
      continue;
    }
    const double d = json_number(item, what);
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

// "16x8/8x8" -> Tiling of rank `rank`; throws unless both sides have `rank` positive extents.
sim::Tiling parse_tiles(const std::string& v, int rank, const std::string& where) {
  const size_t slash = v.find('/');
  if (slash == std::string::npos) fail("--measured: ", where, ": tiles '", v, "' is not Q/KV (e.g. 16x8/8x8)");
  sim::Tiling t;
  t.rank = rank;
  auto side = [&](const std::string& part, std::array<int64_t, kMaxRank>& out) {
    std::stringstream ss(part);
    std::string x;
    int d = 0;
    while (std::getline(ss, x, 'x')) {
      if (d >= rank) fail("--measured: ", where, ": tiles '", v, "' has more than ", rank, " extents per side");
      out[d++] = static_cast<int64_t>(json_number(x, where + " tiles"));
    }
    if (d != rank) fail("--measured: ", where, ": tiles '", v, "' must have ", rank, " extents per side");
  };
  side(v.substr(0, slash), t.q_tile);
  side(v.substr(slash + 1), t.kv_tile);
  return t;
}

// One measured line that matches the problem, and the prediction for the tiles it ran.
struct Measured {
  int64_t line = 0;
  std::string device, backend, date, tiling;
  double measured_ms = 0, predicted_ms = 0;
};

// Whether line `o` describes problem `p` (in dtype `dtype`): every problem field the line records must
// equal the problem's; a line that records no shape matches on the preset name instead.
bool line_matches(const JsonObject& o, const Problem& p, DType dtype, const std::string& preset,
                  const std::string& where) {
  const std::string* shape = json_get(o, "shape");
  if (!shape) {
    const std::string* name = json_get(o, "preset");
    return name && !preset.empty() && *name == preset;
  }
  auto axes_equal = [&](const char* key, const std::array<int64_t, kMaxRank>& want) {
    const std::string* v = json_get(o, key);
    if (!v) return true;
    const std::vector<int64_t> got = json_int_array(*v, where + " " + key);
    if (static_cast<int>(got.size()) != p.rank) return false;
    for (int d = 0; d < p.rank; ++d)
      if (got[d] != want[d]) return false;
    return true;
  };
  std::array<int64_t, kMaxRank> causal{};
  for (int d = 0; d < p.rank; ++d) causal[d] = p.is_causal[d] ? 1 : 0;
  if (!axes_equal("shape", p.extent) || !axes_equal("window", p.window) || !axes_equal("stride", p.stride) ||
      !axes_equal("dilation", p.dilation) || !axes_equal("causal", causal))
    return false;
  auto scalar_equal = [&](const char* key, int64_t want) {
    const std::string* v = json_get(o, key);
    return !v || static_cast<int64_t>(json_number(*v, where + " " + key)) == want;
  };
  if (!scalar_equal("batch", p.batch) || !scalar_equal("heads", p.heads) || !scalar_equal("dim", p.dim_qk) ||
      !scalar_equal("dim_v", p.dim_v))
    return false;
  const std::string* dt = json_get(o, "dtype");
  return !dt || *dt == dtype_name(dtype);
}

// Every line of `path` with a kernel_ms that matches the problem, predicted under `arch` for its tiles
// (or for `fallback` when the line records none). Throws when the file cannot be read or nothing matches.
std::vector<Measured> read_measured(const std::string& path, const Problem& p, DType dtype,
                                    const std::string& preset, const sim::Tiling& fallback,
                                    const sim::ArchModel& arch) {
  std::ifstream f(path);
  if (!f) fail("--measured: cannot open '", path, "'");
  std::vector<Measured> out;
  std::string text;
  int64_t n = 0, timed = 0;
  while (std::getline(f, text)) {
    ++n;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + " line " + std::to_string(n);
    const JsonObject o = parse_json_line(text, where);
    const std::string* ms = json_get(o, "kernel_ms");
    if (!ms) continue;  // e.g. a peers file: no kernel time of ours
    ++timed;
    if (!line_matches(o, p, dtype, preset, where)) continue;
    Measured m;
    m.line = n;
    m.measured_ms = json_number(*ms, where + " kernel_ms");
    if (!(m.measured_ms > 0)) fail("--measured: ", where, ": kernel_ms must be > 0, got ", *ms);
    if (const std::string* v = json_get(o, "device")) m.device = *v;
    if (const std::string* v = json_get(o, "backend")) m.backend = *v;
    if (const std::string* v = json_get(o, "date")) m.date = *v;
    const std::string* tiles = json_get(o, "tiles");
    sim::PlanEntry e;
    e.tiling = tiles ? parse_tiles(*tiles, p.rank, where) : fallback;
    e.accounting = sim::account(p, e.tiling, dtype);
    m.predicted_ms = sim::predict(p, e.accounting, arch).kernel_ms;
    m.tiling = e.tiling.str();
    out.push_back(m);
  }
  if (out.empty())
    fail("--measured: none of the ", timed, " timed lines of '", path, "' matches ", p.describe(),
         preset.empty() ? std::string() : " (preset " + preset + ")", " in ", dtype_name(dtype));
  return out;
}

// One tiling's accounting and prediction as JSON members (no braces).
std::string entry_json(const Problem& p, const sim::PlanEntry& e) {
  const sim::Accounting& a = e.accounting;
  const sim::Prediction& r = e.prediction;
  std::ostringstream os;
  os << "\"tiling\": \"" << e.tiling.str() << "\", \"q_tile\": " << tile_json(e.tiling.q_tile, p.rank)
     << ", \"kv_tile\": " << tile_json(e.tiling.kv_tile, p.rank) << ", \"tokens\": " << a.tokens
     << ", \"dilation_groups\": " << a.groups << ", \"q_tiles\": " << a.q_tiles
     << ", \"visited_tiles\": " << a.visited_tiles << ", \"full_tiles\": " << a.full_tiles
     << ", \"partial_tiles\": " << a.partial_tiles << ", \"extra_kv_tiles_per_q_tile\": " << a.extra_kv_tiles
     << ", \"dense_tiles\": " << a.dense_tiles << ", \"attended_pairs\": " << a.attended_pairs
     << ", \"computed_pairs\": " << a.computed_pairs << ", \"q_padding\": " << a.q_padding
     << ", \"kv_padding\": " << a.kv_padding << ", \"flop_speedup_bound\": " << fixed(a.flop_speedup_bound, 6)
     << ", \"tile_speedup_bound\": " << fixed(a.tile_speedup_bound, 6)
     << ", \"pair_speedup_bound\": " << fixed(a.pair_speedup_bound, 6)
     << ", \"full_share\": " << fixed(a.full_share, 6)
     << ", \"perfectly_block_sparse\": " << (a.perfectly_block_sparse ? "true" : "false")
     << ", \"q_needs_copy\": " << (a.q_needs_copy ? "true" : "false")
     << ", \"kv_needs_copy\": " << (a.kv_needs_copy ? "true" : "false")
     << ", \"permute_bytes\": " << a.permute_bytes << ", \"predicted_ms\": " << fixed(r.total_ms, 6)
     << ", \"kernel_ms\": " << fixed(r.kernel_ms, 6) << ", \"layout_ms\": " << fixed(r.layout_ms, 6)
     << ", \"waves\": " << r.waves << ", \"predicted_eff_tflops\": "
     << fixed(r.total_ms > 0 ? p.forward_flops() / (r.total_ms * 1e9) : 0.0, 3);
  return os.str();
}

void print_entry(const Problem& p, const sim::PlanEntry& e, const std::string& how, const sim::ArchModel& m) {
  const sim::Accounting& a = e.accounting;
  const sim::Prediction& r = e.prediction;
  auto pct = [](int64_t x, int64_t of) { return of > 0 ? fixed(100.0 * x / of, 1) + "%" : std::string("-"); };
  std::cout << "tiling: " << e.tiling.str() << " (Q " << e.tiling.q_tokens() << " tokens, KV "
            << e.tiling.kv_tokens() << " tokens; " << how << ")\n"
            << "  counts per batch entry and head" << (a.groups > 1 ? ", summed over " : "")
            << (a.groups > 1 ? std::to_string(a.groups) + " dilation groups" : std::string()) << "\n"
            << "  Q tiles                " << a.q_tiles << "\n"
            << "  visited KV tiles       " << a.visited_tiles << "  (full " << a.full_tiles << " = "
            << pct(a.full_tiles, a.visited_tiles) << ", partial " << a.partial_tiles << ")\n";
  if (a.extra_kv_tiles > 0) std::cout << "  extra-KV tiles         " << a.extra_kv_tiles << " per Q tile\n";
  std::cout << "  dense tile pairs       " << a.dense_tiles << "\n"
            << "  attended pairs         " << a.attended_pairs << "\n"
            << "  computed pairs         " << a.computed_pairs << "  (" << pct(a.attended_pairs, a.computed_pairs)
            << " useful)\n"
            << "  padding slots          Q " << a.q_padding << ", KV " << a.kv_padding << "\n"
            << "  speedup bounds         flop " << fixed(a.flop_speedup_bound, 2) << "x, tile "
            << fixed(a.tile_speedup_bound, 2) << "x, pair " << fixed(a.pair_speedup_bound, 2) << "x\n"
            << "  perfectly block-sparse " << (a.perfectly_block_sparse ? "yes" : "no") << "\n"
            << "  token permutation      Q/O " << (a.q_needs_copy ? "copy" : "none") << ", K/V "
            << (a.kv_needs_copy ? "copy" : "none") << ", " << fixed(a.permute_bytes / 1e6, 1)
            << " MB for a permuting kernel" << (m.loads_in_place ? "; " + std::string(m.name) +
                                                         " loads tiles in place (no copy, layout 0)" : std::string())
            << "\n"
            << "predicted on " << m.name << ": " << fixed(r.total_ms, 3) << " ms (kernel " << fixed(r.kernel_ms, 3)
            << " + layout " << fixed(r.layout_ms, 3) << "; " << r.waves << " waves of " << m.sms << "), "
            << fixed(r.total_ms > 0 ? p.forward_flops() / (r.total_ms * 1e9) : 0.0, 0) << " eff TFLOP/s\n";
}

}  // namespace

int cmd_sim(std::vector<std::string> args) {
  if (take_flag(args, "--help") || take_flag(args, "-h")) {
    std::cout << kSimHelp << problem_options_help();
    return 0;
  }
  ProblemOptions defaults;
  defaults.problem = make_problem({64, 64}, {13, 13});
  defaults.problem.heads = defaults.problem.kv_heads = 8;
  defaults.problem.dim_qk = defaults.problem.dim_v = 64;
  const ProblemOptions o = parse_problem_options(args, defaults);
  const std::string family_name = take_option(args, "--family", "explore");
  const std::string arch_name =
      take_option(args, "--arch", family_name == "explore" ? "h100" : family_name == "sm90" ? "h100-sm90" : "h100-sm80");
  const std::string measured_path = take_option(args, "--measured");
  if (family_name != "explore" && family_name != "sm80" && family_name != "sm90")
    fail("--family: '", family_name, "' is not one of explore, sm80, sm90");
  const na::KernelFamily family = family_name == "sm80"   ? na::KernelFamily::sm80
                                  : family_name == "sm90" ? na::KernelFamily::sm90
                                                          : na::KernelFamily::explore;
  const bool all = take_flag(args, "--all-tilings");
  const bool strides = take_flag(args, "--find-strides");
  const bool groups = take_flag(args, "--groups");
  const bool json = take_flag(args, "--json");
  reject_leftovers(args, "gna sim");

  const Problem& p = o.problem;
  p.validate();
  const sim::ArchModel& arch = sim::arch_model(arch_name);

  // Tiling: given (one of the two alone sets both), else the planner's choice.
  auto given = [&](const std::array<int64_t, kMaxRank>& t) {
    for (int d = 0; d < p.rank; ++d)
      if (t[d] != 0) return true;
    return false;
  };
  const bool q_given = given(o.q_tile), kv_given = given(o.kv_tile);
  std::vector<sim::PlanEntry> ranked;
  if (all || (!q_given && !kv_given)) ranked = sim::evaluate_tilings(p, arch, o.dtype, family);
  sim::PlanEntry chosen;
  std::string how;
  if (q_given || kv_given) {
    chosen.tiling.rank = p.rank;
    for (int d = 0; d < p.rank; ++d) {
      chosen.tiling.q_tile[d] = q_given ? o.q_tile[d] : o.kv_tile[d];
      chosen.tiling.kv_tile[d] = kv_given ? o.kv_tile[d] : o.q_tile[d];
    }
    chosen.accounting = sim::account(p, chosen.tiling, o.dtype);
    chosen.prediction = sim::predict(p, chosen.accounting, arch);
    how = "given";
  } else {
    chosen = ranked.front();
    how = "planner's choice of " + std::to_string(ranked.size()) + " supported tilings";
  }
  std::vector<std::vector<int64_t>> stride_lists;
  if (strides) stride_lists = sim::find_strides(p, chosen.tiling);
  std::vector<sim::GroupAccounting> group_list;
  if (groups) group_list = sim::account_groups(p, chosen.tiling, 64);
  std::vector<Measured> measured;
  if (!measured_path.empty()) measured = read_measured(measured_path, p, o.dtype, o.preset, chosen.tiling, arch);

  if (json) {
    std::ostringstream os;
    os << "{\"problem\": \"" << json_escape(p.describe()) << "\", \"preset\": \"" << json_escape(o.preset)
       << "\", \"arch\": \"" << arch.name << "\", \"calibrated\": " << (arch.calibrated ? "true" : "false")
       << ", \"loads_in_place\": " << (arch.loads_in_place ? "true" : "false") << ", \"chosen_by\": \"" << (q_given || kv_given ? "given" : "planner")
       << "\", " << entry_json(p, chosen);
    if (strides) {
      os << ", \"strides\": [";
      for (size_t d = 0; d < stride_lists.size(); ++d) {
        os << (d ? ", " : "") << "[";
        for (size_t i = 0; i < stride_lists[d].size(); ++i) os << (i ? ", " : "") << stride_lists[d][i];
        os << "]";
      }
      os << "]";
    }
    if (groups) {
      os << ", \"groups\": [";
      for (size_t i = 0; i < group_list.size(); ++i) {
        const auto& g = group_list[i];
        os << (i ? ", " : "") << "{\"group\": " << tile_json(g.group, p.rank)
           << ", \"extent\": " << tile_json(g.extent, p.rank) << ", \"tokens\": " << g.tokens
           << ", \"q_tiles\": " << g.q_tiles << ", \"visited_tiles\": " << g.visited_tiles
           << ", \"full_tiles\": " << g.full_tiles << ", \"attended_pairs\": " << g.attended_pairs << "}";
      }
      os << "]";
    }
    if (!measured.empty()) {
      const Measured& last = measured.back();
      os << ", \"measured_file\": \"" << json_escape(measured_path) << "\", \"measured_ms\": "
         << fixed(last.measured_ms, 6) << ", \"measured_tiling\": \"" << last.tiling
         << "\", \"measured_predicted_ms\": " << fixed(last.predicted_ms, 6)
         << ", \"prediction_ratio\": " << fixed(last.predicted_ms / last.measured_ms, 6)
         << ", \"prediction_error\": " << fixed(last.predicted_ms / last.measured_ms - 1.0, 6) << ", \"measured\": [";
      for (size_t i = 0; i < measured.size(); ++i) {
        const Measured& m = measured[i];
        os << (i ? ", " : "") << "{\"line\": " << m.line << ", \"device\": \"" << json_escape(m.device)
           << "\", \"backend\": \"" << json_escape(m.backend) << "\", \"date\": \"" << json_escape(m.date)
           << "\", \"tiling\": \"" << m.tiling << "\", \"measured_ms\": " << fixed(m.measured_ms, 6)
           << ", \"predicted_ms\": " << fixed(m.predicted_ms, 6)
           << ", \"prediction_error\": " << fixed(m.predicted_ms / m.measured_ms - 1.0, 6) << "}";
      }
      os << "]";
    }
    if (all) {
      os << ", \"tilings\": [";
      for (size_t i = 0; i < ranked.size(); ++i) os << (i ? ", " : "") << "{" << entry_json(p, ranked[i]) << "}";
      os << "]";
    }
    os << "}\n";
    std::cout << os.str();
    return 0;
  }

  std::cout << "problem: " << p.describe() << (o.preset.empty() ? "" : " (preset " + o.preset + ")") << "\n"
            << "arch: " << arch.name << " -- " << arch.description << " (cost constants: "
            << (arch.calibrated ? "calibrated" : "not calibrated") << ")\n";
  print_entry(p, chosen, how, arch);
  if (!measured.empty()) {
    std::cout << "measured (" << measured_path << "), kernel time, predicted on " << arch.name
              << " for the tiles each line ran:\n";
    for (const Measured& m : measured) {
      std::cout << "  line " << m.line << " (" << (m.device.empty() ? "?" : m.device)
                << (m.backend.empty() ? "" : ", " + m.backend) << (m.date.empty() ? "" : ", " + m.date) << ", tiles "
                << m.tiling << "): measured " << fixed(m.measured_ms, 3) << " ms, predicted "
                << fixed(m.predicted_ms, 3) << " ms, predicted/measured " << fixed(m.predicted_ms / m.measured_ms, 3)
                << " (" << (m.predicted_ms >= m.measured_ms ? "+" : "")
                << fixed(100.0 * (m.predicted_ms / m.measured_ms - 1.0), 1) << "%)"
                << (m.tiling != chosen.tiling.str() ? "  [differs from " + chosen.tiling.str() + " above]" : "")
                << "\n";
    }
  }
  if (groups) {
    std::cout << "dilation groups (group: extent, Q tiles, visited, full, attended pairs):\n";
    for (const auto& g : group_list) {
      std::cout << "  " << tile_json(g.group, p.rank) << ": " << tile_json(g.extent, p.rank) << ", " << g.q_tiles
                << ", " << g.visited_tiles << ", " << g.full_tiles << ", " << g.attended_pairs << "\n";
    }
  }
  if (strides) {
    std::cout << "strides making the problem perfectly block-sparse under " << chosen.tiling.str()
              << " (nearest to the given stride first):\n";
    bool any_missing = false;
    for (size_t d = 0; d < stride_lists.size(); ++d) {
      std::cout << "  axis " << d << " (stride " << p.stride[d] << "):";
      if (stride_lists[d].empty()) {
        std::cout << " none";
        any_missing = true;
      }
      for (int64_t s : stride_lists[d]) std::cout << " " << s;
      std::cout << "\n";
    }
    if (p.extra_kv % chosen.tiling.kv_tokens() != 0)
      std::cout << "  (extra KV " << p.extra_kv << " is not a multiple of " << chosen.tiling.kv_tokens()
                << " KV-tile tokens: its last tile is always partial)\n";
    if (!any_missing) {
      std::cout << "  nearest:";
      for (const auto& l : stride_lists) std::cout << " " << l.front();
      std::cout << "\n";
    }
  }
  if (all) {
    std::cout << "\nall supported tilings, fastest predicted first:\n"
              << "  rank  tiling              pred_ms  kernel_ms  layout_ms  tile_x  pair_x  full   perfect\n";
    for (size_t i = 0; i < ranked.size(); ++i) {
      const auto& e = ranked[i];
      char line[200];
      std::snprintf(line, sizeof line, "  %4zu  %-18s %8.3f %10.3f %10.3f %7.2f %7.2f %5.2f   %s\n", i + 1,
                    e.tiling.str().c_str(), e.prediction.total_ms, e.prediction.kernel_ms, e.prediction.layout_ms,
                    e.accounting.tile_speedup_bound, e.accounting.pair_speedup_bound, e.accounting.full_share,
                    e.accounting.perfectly_block_sparse ? "yes" : "no");
      std::cout << line;
    }
  }
  return 0;
}

}  // namespace gna::cli
