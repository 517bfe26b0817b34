#include "tensor/error.h"

namespace retort {

namespace {
std::string with_location(const char* file, int line, const std::string& message) {
  std::ostringstream os;
  os << message << " [" << file << ":" << line << "]";
  return os.str();
}
}  // namespace

Error::Error(const char* file, int line, const std::string& message)
    : std::runtime_error(with_location(file, line, message)),
      message_(message),
      file_(file),
      line_(line) {}

}  // namespace retort
