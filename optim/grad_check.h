// The per-step gradient guard of the trainer: which parameters' gradients
// hold a NaN or an infinity.
#pragma once
#include "optim/optimizer.h"

namespace retort {
namespace optim {

struct NonFiniteGrads {
  int count = 0;    // parameters whose gradient holds a NaN or an infinity
  int origin = -1;  // the last of them in `params` order: for a model (state_dict
                    // order, input to output) the one nearest the loss, where
                    // backward met the NaN/Inf first; every parameter before it
                    // on the path to the input inherits it
};

// One read of every gradient (ops::count_nonfinite); undefined gradients are skipped.
NonFiniteGrads find_nonfinite_grads(const NamedParams& params);

}  // namespace optim
}  // namespace retort
