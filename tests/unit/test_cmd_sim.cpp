// tests/unit/test_cmd_sim.cpp -- layer: tests. `gna sim` (tools/cli/cmd_sim.cpp) end to end, in process:
// JSON keys and values for the published cases, --all-tilings / --find-strides, --measured against a small
// bench JSONL written here, and input errors.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "commands.hpp"
#include "gna/error.hpp"

namespace {

std::string run_sim(std::vector<std::string> args, int* rc = nullptr) {
  testing::internal::CaptureStdout();
  int code = -1;
  try {
    code = gna::cli::cmd_sim(std::move(args));
  } catch (...) {
    testing::internal::GetCapturedStdout();
    throw;
  }
  if (rc) *rc = code;
  return testing::internal::GetCapturedStdout();
}

// The value text of "key": in a flat JSON object (numbers, booleans, strings).
std::string json_value(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\": ";
  const size_t at = json.find(k);
  if (at == std::string::npos) return "<missing " + key + ">";
  size_t s = at + k.size(), e = s;
  if (json[s] == '"') {
    e = json.find('"', s + 1);
    return json.substr(s + 1, e - s - 1);
  }
  while (e < json.size() && json[e] != ',' && json[e] != '}') ++e;
  return json.substr(s, e - s);
}

}  // namespace

TEST(CmdSim, JsonFluxGna) {
  int rc = -1;
  const std::string j = run_sim({"--preset", "flux-gna", "--q-tile", "16x8", "--kv-tile", "16x8", "--json"}, &rc);
  EXPECT_EQ(rc, 0);
  for (const char* key : {"flop_speedup_bound", "tile_speedup_bound", "perfectly_block_sparse", "q_tiles",
                          "visited_tiles", "full_tiles", "partial_tiles", "dense_tiles", "attended_pairs",
                          "predicted_ms"})
    EXPECT_EQ(j.find(std::string("\"") + key + "\""), j.find(std::string("\"") + key + "\": ")) << key;
  EXPECT_EQ(json_value(j, "tiling"), "16x8/16x8");
  EXPECT_NEAR(std::stod(json_value(j, "tile_speedup_bound")), 10.24, 1e-6);
  EXPECT_EQ(json_value(j, "perfectly_block_sparse"), "true");
  EXPECT_EQ(json_value(j, "q_tiles"), "512");
  EXPECT_EQ(json_value(j, "visited_tiles"), "25600");
  EXPECT_EQ(json_value(j, "partial_tiles"), "0");
  EXPECT_EQ(json_value(j, "dense_tiles"), "262144");
  EXPECT_GT(std::stod(json_value(j, "predicted_ms")), 0.0);
}

TEST(CmdSim, JsonHunyuanAndOneD) {
  const std::string h = run_sim({"--preset", "hunyuan-gna", "--q-tile", "2x8x8", "--json"});
  EXPECT_NEAR(std::stod(json_value(h, "tile_speedup_bound")), 11.11, 0.005);
  EXPECT_EQ(json_value(h, "perfectly_block_sparse"), "true");
  EXPECT_EQ(json_value(h, "tiling"), "2x8x8/2x8x8");  // --q-tile alone sets both
  const std::string o =
      run_sim({"--shape", "32768", "--window", "2048", "--stride", "256", "--q-tile", "128", "--kv-tile", "128",
               "--json"});
  EXPECT_NEAR(std::stod(json_value(o, "tile_speedup_bound")), 16.0, 1e-9);
  EXPECT_EQ(json_value(o, "perfectly_block_sparse"), "true");
  EXPECT_EQ(json_value(o, "permute_bytes"), "0");
  const std::string n = run_sim({"--preset", "hunyuan-na", "--q-tile", "2x8x8", "--json"});
  EXPECT_NEAR(std::stod(json_value(n, "tile_speedup_bound")), 5.44, 0.005);
  EXPECT_EQ(json_value(n, "perfectly_block_sparse"), "false");
}

TEST(CmdSim, PlannerAllTilingsAndStrides) {
  const std::string j = run_sim({"--preset", "flux-na", "--all-tilings", "--json", "--find-strides"});
  EXPECT_EQ(json_value(j, "chosen_by"), "planner");
  EXPECT_NE(j.find("\"tilings\": ["), std::string::npos);
  EXPECT_NE(j.find("\"strides\": [["), std::string::npos);
  const std::string t = run_sim({"--preset", "flux-gna", "--q-tile", "16x8", "--find-strides"});
  EXPECT_NE(t.find("axis 0 (stride 16): 16 48 80"), std::string::npos) << t;
  EXPECT_NE(t.find("perfectly block-sparse yes"), std::string::npos);
  const std::string a = run_sim({"--preset", "cosmos-na", "--all-tilings", "--arch", "a100"});
  EXPECT_NE(a.find("fastest predicted first"), std::string::npos);
  EXPECT_NE(a.find("4096"), std::string::npos);  // 64 x 64 supported 3-D tilings
}

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

// --measured: matching on the problem fields (not just the name), skipping untimed lines, predicting for
// the tiles each line ran, the last match on top, and the ratio/error arithmetic.
TEST(CmdSim, MeasuredJsonl) {
  const std::string path = write_file(
      "gna_cmd_sim_measured.jsonl",
      // a peers line: no kernel_ms, skipped
      "{\"preset\": \"flux-gna\", \"shape\": [256, 256], \"window\": [80, 80], \"stride\": [16, 16], "
      "\"sdpa-cudnn_ms\": 81.3}\n"
      "\n"
      // flux-gna by shape, at the tiles it ran
      "{\"preset\": \"flux-gna\", \"backend\": \"sm80\", \"device\": \"NVIDIA H100 80GB HBM3\", \"dtype\": "
      "\"bf16\", \"shape\": [256, 256], \"window\": [80, 80], \"stride\": [16, 16], \"dilation\": [1, 1], "
      "\"batch\": 1, \"heads\": 24, \"dim\": 128, \"kernel_ms\": 14.6337, \"tiles\": \"16x8/16x4\", "
      "\"date\": \"2026-11-26\"}\n"
      // same name, other heads: not this problem
      "{\"preset\": \"flux-gna\", \"shape\": [256, 256], \"window\": [80, 80], \"stride\": [16, 16], "
      "\"dilation\": [1, 1], \"batch\": 1, \"heads\": 12, \"dim\": 128, \"kernel_ms\": 9.5, "
      "\"tiles\": \"16x8/16x4\"}\n"
      // another problem
      "{\"preset\": \"flux-na\", \"shape\": [256, 256], \"window\": [80, 80], \"stride\": [1, 1], "
      "\"heads\": 24, \"dim\": 128, \"kernel_ms\": 23.2944, \"tiles\": \"16x8/8x8\"}\n"
      // no shape: matched on the preset name; no tiles: predicted for the chosen tiling; last match wins
      "{\"preset\": \"flux-gna\", \"kernel_ms\": 20.0, \"device\": \"other\"}\n");
  const std::string j = run_sim({"--preset", "flux-gna", "--family", "sm80", "--measured", path, "--json"});
  EXPECT_EQ(json_value(j, "arch"), "h100-sm80");  // the sm80 family's default
  EXPECT_EQ(json_value(j, "loads_in_place"), "true");
  EXPECT_EQ(json_value(j, "tiling"), "16x8/16x4");
  // two matches (lines 3 and 6); the top-level fields are the last one's
  EXPECT_NE(j.find("\"line\": 3,"), std::string::npos) << j;
  EXPECT_NE(j.find("\"line\": 6,"), std::string::npos) << j;
  EXPECT_EQ(j.find("\"line\": 4,"), std::string::npos) << j;
  EXPECT_EQ(j.find("\"line\": 5,"), std::string::npos) << j;
  EXPECT_NEAR(std::stod(json_value(j, "measured_ms")), 20.0, 1e-9);
  const double pred = std::stod(json_value(j, "measured_predicted_ms"));
  EXPECT_NEAR(pred, std::stod(json_value(j, "kernel_ms")), 1e-6);  // no tiles: the chosen tiling
  EXPECT_NEAR(std::stod(json_value(j, "prediction_error")), pred / 20.0 - 1.0, 1e-5);
  EXPECT_NEAR(std::stod(json_value(j, "prediction_ratio")), pred / 20.0, 1e-5);

  // Only line 3 for a file without the name-only line; its tiles 16x8/16x4 are predicted even when the
  // shown tiling is another one, and equal `gna sim` at those tiles.
  const std::string one = write_file("gna_cmd_sim_measured_one.jsonl", [&] {
    std::ifstream f(path);
    std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return all.substr(0, all.rfind("{\"preset\": \"flux-gna\", \"kernel_ms\""));
  }());
  const std::string k = run_sim({"--preset", "flux-gna", "--q-tile", "16x8", "--arch", "h100-sm80", "--measured", one,
                                 "--json"});
  EXPECT_EQ(json_value(k, "tiling"), "16x8/16x8");
  EXPECT_EQ(json_value(k, "measured_tiling"), "16x8/16x4");
  const std::string at = run_sim({"--preset", "flux-gna", "--q-tile", "16x8", "--kv-tile", "16x4", "--arch",
                                  "h100-sm80", "--json"});
  const double p3 = std::stod(json_value(at, "kernel_ms"));
  EXPECT_NEAR(std::stod(json_value(k, "measured_predicted_ms")), p3, 1e-6);
  EXPECT_NEAR(std::stod(json_value(k, "measured_ms")), 14.6337, 1e-9);
  EXPECT_NEAR(std::stod(json_value(k, "prediction_error")), p3 / 14.6337 - 1.0, 1e-5);
  EXPECT_LT(std::abs(p3 / 14.6337 - 1.0), 0.05);  // the calibrated entry predicts its own data
  // text form
  const std::string t = run_sim({"--preset", "flux-gna", "--family", "sm80", "--measured", one});
  EXPECT_NE(t.find("line 3 (NVIDIA H100 80GB HBM3, sm80, 2026-11-26, tiles 16x8/16x4): measured 14.634 ms"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("predicted/measured"), std::string::npos);
  EXPECT_NE(t.find("cost constants: calibrated"), std::string::npos);

  // errors: nothing matches, missing file, malformed line, tiles of the wrong rank
  EXPECT_THROW(run_sim({"--preset", "hunyuan-gna", "--measured", path}), gna::Error);
  EXPECT_THROW(run_sim({"--preset", "flux-gna", "--measured", testing::TempDir() + "no_such_gna_file.jsonl"}),
               gna::Error);
  const std::string bad = write_file("gna_cmd_sim_bad.jsonl", "{\"preset\": \"flux-gna\", \"kernel_ms\" 3}\n");
  EXPECT_THROW(run_sim({"--preset", "flux-gna", "--measured", bad}), gna::Error);
  const std::string rank = write_file("gna_cmd_sim_rank.jsonl",
                                      "{\"preset\": \"flux-gna\", \"kernel_ms\": 3, \"tiles\": \"128/64\"}\n");
  EXPECT_THROW(run_sim({"--preset", "flux-gna", "--measured", rank}), gna::Error);
}

TEST(CmdSim, Errors) {
  EXPECT_THROW(run_sim({"--preset", "flux-gna", "--arch", "v100"}), gna::Error);
  EXPECT_THROW(run_sim({"--preset", "flux-gna", "--q-tile", "0x8"}), gna::Error);
  EXPECT_THROW(run_sim({"--preset", "flux-gna", "--bogus"}), gna::Error);
  EXPECT_THROW(run_sim({"--shape", "10", "--window", "11"}), gna::Error);
  int rc = -1;
  const std::string help = run_sim({"--help"}, &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(help.find("usage: gna sim"), std::string::npos);
}
