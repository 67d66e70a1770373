// gna/na/layout.hpp -- layer: na (the one home of the neighborhood math), host and device.
//
// Owns the token permutation of spec/semantics.md s8: each axis is padded to a multiple of tile*dilation,
// a coordinate splits as x = (r*T + t)*D + g (tile r, offset t inside the tile, dilation group g), the
// dilation groups are folded into the batch and the tokens are laid out tile-major, so that every
// multi-dimensional tile is one contiguous run of prod(T) tokens. The permute / unpermute kernels
// (src/cuda/tokperm) and the simulator's byte count use these maps; nothing else may re-derive them.
//
// Invariants (tests/unit): to_permuted / from_permuted are mutually inverse on real tokens; the map is a
// bijection from real tokens onto the non-padding permuted slots; the group-local index x / D equals
// r*T + t, i.e. the tile coordinates here are exactly the group-local tiles of na/tiles.hpp.
#pragma once

#include <cstdint>

#include "gna/na/window.hpp"

namespace gna {
namespace na {

// Per-axis extent, tile and dilation of one permuted tensor (Q uses the Q tile, K/V the KV tile).
struct TokenLayout {
  int rank = 1;
  int64_t extent[kMaxRank] = {1, 1, 1};
  int64_t tile[kMaxRank] = {1, 1, 1};
  int64_t dilation[kMaxRank] = {1, 1, 1};

  // Tiles per axis in every dilation group: ceil(L / (T*D)) (= ceil(ceil(L/D) / T)).
  GNA_HD int64_t tiles(int d) const { return ceil_div(extent[d], tile[d] * dilation[d]); }
  // The axis extent after padding to a multiple of T*D.
  GNA_HD int64_t padded_extent(int d) const { return tiles(d) * tile[d] * dilation[d]; }
  // Group-local padded extent of an axis (the same for every group).
  GNA_HD int64_t group_padded_extent(int d) const { return tiles(d) * tile[d]; }
  // Number of dilation groups, prod(D): each folds into the batch.
  GNA_HD int64_t groups() const {
    int64_t n = 1;
    for (int d = 0; d < rank; ++d) n *= dilation[d];
    return n;
  }
  // Tokens per tile, prod(T).
  GNA_HD int64_t tile_tokens() const {
    int64_t n = 1;
    for (int d = 0; d < rank; ++d) n *= tile[d];
    return n;
  }
  // Permuted slots per folded batch entry (real tokens and padding): prod over axes of tiles*T.
  GNA_HD int64_t group_tokens() const {
    int64_t n = 1;
    for (int d = 0; d < rank; ++d) n *= group_padded_extent(d);
    return n;
  }
  // Permuted slots per original batch entry: prod(padded extents).
  GNA_HD int64_t padded_tokens() const { return group_tokens() * groups(); }
  // Real tokens per batch entry: prod(L).
  GNA_HD int64_t tokens() const {
    int64_t n = 1;
    for (int d = 0; d < rank; ++d) n *= extent[d];
    return n;
  }
};

// Where a token lives after the permutation.
struct PermutedIndex {
  int64_t batch;  // folded batch: batch * prod(D) + row-major linear index of the dilation group
  int64_t index;  // tile-major slot: tile_linear * prod(T) + row-major offset inside the tile
};

// (batch, coordinate) -> (folded batch, tile-major slot).
GNA_HD PermutedIndex to_permuted(const TokenLayout& l, int64_t batch, const int64_t* coord) {
  int64_t group = 0, tile_lin = 0, offset = 0;
  for (int d = 0; d < l.rank; ++d) {
    const int64_t D = l.dilation[d], T = l.tile[d];
    const int64_t g = coord[d] % D;
    const int64_t i = coord[d] / D;  // group-local index = r*T + t
    group = group * D + g;
    tile_lin = tile_lin * l.tiles(d) + i / T;
    offset = offset * T + i % T;
  }
  return PermutedIndex{batch * l.groups() + group, tile_lin * l.tile_tokens() + offset};
}

// (folded batch, slot) -> (batch, coordinate). Returns false when the slot is padding (some coordinate
// falls outside [0, L)); coord is filled either way (possibly with out-of-range values).
GNA_HD bool from_permuted(const TokenLayout& l, PermutedIndex p, int64_t* batch, int64_t* coord) {
  const int64_t G = l.groups();
  *batch = p.batch / G;
  int64_t group = p.batch % G;
  int64_t tile_lin = p.index / l.tile_tokens();
  int64_t offset = p.index % l.tile_tokens();
  bool real = true;
  for (int d = l.rank - 1; d >= 0; --d) {
    const int64_t D = l.dilation[d], T = l.tile[d];
    const int64_t g = group % D, r = tile_lin % l.tiles(d), t = offset % T;
    group /= D;
    tile_lin /= l.tiles(d);
    offset /= T;
    coord[d] = (r * T + t) * D + g;
    if (coord[d] >= l.extent[d]) real = false;
  }
  return real;
}

// Does the permuted layout differ from the user's row-major layout? No copy is needed when there is no
// dilation and every axis after the first is covered by one tile (T_d == L_d for d >= 1): then tiles are
// contiguous runs of the row-major order and the only padding is past the end of the token range, which
// the kernel masks. In particular a rank-1 problem without dilation never needs a copy.
GNA_HD bool needs_copy(const TokenLayout& l) {
  for (int d = 0; d < l.rank; ++d)
    if (l.dilation[d] != 1) return true;
  for (int d = 1; d < l.rank; ++d)
    if (l.tile[d] != l.extent[d]) return true;
  return false;
}

}  // namespace na
}  // namespace gna
