// gna/error.hpp -- layer: api. The one exception type of the library.
//
// Every rejected input throws gna::Error whose message names the argument, the rule and the values,
// e.g. "axis 1: window 9 * dilation 4 = 36 exceeds extent 30". Bindings map it to ValueError.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace gna {

class Error : public std::invalid_argument {
 public:
  explicit Error(const std::string& what) : std::invalid_argument(what) {}
};

// A device/runtime failure (CUDA error, allocation failure): not the caller's input.
class RuntimeError : public std::runtime_error {
 public:
  explicit RuntimeError(const std::string& what) : std::runtime_error(what) {}
};

// Builds a message from streamable parts: fail("axis ", d, ": window ", k, " must be >= 2").
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(os.str());
}

}  // namespace gna
