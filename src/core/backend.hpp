// src/core/backend.hpp -- layer: backend contract (internal). What every backend implements.
//
// api.cpp validates the problem and the tensors once, then hands validated inputs to a Backend. A
// backend only answers "can I run this?" (empty string = yes, else the reason) and runs it; it never
// re-validates user input. Backends register themselves in registry.cpp, in preference order.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gna/api.hpp"

namespace gna::detail {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual BackendInfo info() const = 0;
  // Empty when this backend can run the forward call; otherwise one sentence saying why not.
  virtual std::string forward_unsupported(const Problem& p, const ForwardTensors& t,
                                          const Options& o) const = 0;
  virtual void forward(const Problem& p, const ForwardTensors& t, const Options& o) const = 0;
  virtual std::string backward_unsupported(const Problem& p, const BackwardTensors& t,
                                           const Options& o) const = 0;
  virtual void backward(const Problem& p, const BackwardTensors& t, const Options& o) const = 0;
};

// All compiled-in backends, most preferred first (sm90, sm80, cpu, reference).
const std::vector<const Backend*>& backends();

}  // namespace gna::detail
