// Layout bodies shared by both backends: where element j of a concatenation
// piece or of a channel-shuffled row comes from.
#pragma once
#include <cstdint>

#include "tensor/kernels/hd.h"

namespace retort {

// Element j of a piece [outer, n_i, inner] sits in the whole [outer, n_total,
// inner] at this offset when the piece starts at position `at` of the middle axis.
RETORT_HD int64_t slab_offset(int64_t j, int64_t n_i, int64_t n_total, int64_t at, int64_t inner) {
  const int64_t run = n_i * inner;
  const int64_t o = j / run;
  return (o * n_total + at) * inner + (j - o * run);
}

// Channel shuffle of a row of C = groups*per channels: output channel
// j*groups + i takes input channel i*per + j. Returns the input channel of output channel k.
RETORT_HD int64_t channel_shuffle_source(int64_t k, int64_t C, int64_t groups) {
  const int64_t per = C / groups;
  const int64_t j = k / groups, i = k - j * groups;
  return i * per + j;
}

}  // namespace retort
