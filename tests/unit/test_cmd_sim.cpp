// tests/unit/test_cmd_sim.cpp -- layer: tests. `gna sim` (tools/cli/cmd_sim.cpp) end to end, in process:
// JSON keys and values for the published cases, --all-tilings / --find-strides, and input errors.
#include <gtest/gtest.h>

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
