// retort::Error and the checks that throw it. The library never aborts or exits:
// bad input becomes an Error naming what was expected and what was found.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace retort {

class Error : public std::runtime_error {
 public:
  Error(const char* file, int line, const std::string& message);
  // The message without the source location, for one-line user reports.
  const std::string& message() const { return message_; }
  const char* file() const { return file_; }
  int line() const { return line_; }

 private:
  std::string message_;
  const char* file_;
  int line_;
};

}  // namespace retort

// RETORT_CHECK(cond, "conv2d: expected ..., found " << x.shape());
// The second argument is a stream expression, evaluated only on failure.
#define RETORT_CHECK(cond, msg)                                        \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::ostringstream retort_check_os_;                             \
      retort_check_os_ << msg;                                         \
      throw ::retort::Error(__FILE__, __LINE__, retort_check_os_.str()); \
    }                                                                  \
  } while (0)

#define RETORT_FAIL(msg) RETORT_CHECK(false, msg)
