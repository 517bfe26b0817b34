#include "data/image.h"

#include <sstream>

#include "tensor/error.h"

namespace retort {
namespace data {

std::string ImageShape::str() const {
  std::ostringstream os;
  if (fixed()) os << height << "x" << width << "x" << channels;
  else os << "?x?x" << channels;
  return os.str();
}

Tensor to_tensor(const Image& image) {
  return from_vector<uint8_t>(image.pixels, Shape{image.height, image.width, image.channels});
}

Image from_tensor(const Tensor& t) {
  t.check_dtype(DType::U8, "data::from_tensor");
  t.check_cpu("data::from_tensor");
  RETORT_CHECK(t.ndim() == 2 || t.ndim() == 3, "data::from_tensor: expected a u8 image [H, W, C] or [H, W], found shape "
                                                   << t.shape());
  Image img;
  img.reshape(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), t.ndim() == 3 ? static_cast<int>(t.size(2)) : 1);
  img.pixels = t.contiguous().to_vector<uint8_t>();
  return img;
}

}  // namespace data
}  // namespace retort
