#include "tensor/safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "tensor/file_io.h"
#include "tensor/json.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors I/O copies little-endian data as it is; a big-endian host needs byte swapping here"
#endif

namespace retort {
namespace safetensors {

namespace {

// ---------------------------------------------------------------- dtypes

enum class FileDType { F32, I64, U8, F16, BF16 };

struct FileDTypeInfo {
  const char* name;
  FileDType file;
  DType memory;  // what retort holds it as
  size_t itemsize;
};

constexpr FileDTypeInfo kFileDTypes[] = {
    {"F32", FileDType::F32, DType::F32, 4}, {"I64", FileDType::I64, DType::I64, 8},
    {"U8", FileDType::U8, DType::U8, 1},    {"F16", FileDType::F16, DType::F32, 2},
    {"BF16", FileDType::BF16, DType::F32, 2},
};

const FileDTypeInfo* find_file_dtype(const std::string& name) {
  for (const FileDTypeInfo& d : kFileDTypes)
    if (name == d.name) return &d;
  return nullptr;
}

const char* file_dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::I64: return "I64";
    case DType::U8: return "U8";
  }
  return "?";
}

float bits_to_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// IEEE half -> single, exact for every value including subnormals, infinities and NaN.
float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1F;
  const uint32_t mantissa = h & 0x3FF;
  if (exponent == 0x1F) return bits_to_float(sign | 0x7F800000u | (mantissa << 13));
  if (exponent != 0) return bits_to_float(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
  const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);  // subnormal or zero
  return sign ? -magnitude : magnitude;
}

// bfloat16 is the top half of a float.
float bf16_to_f32(uint16_t h) { return bits_to_float(static_cast<uint32_t>(h) << 16); }

// ---------------------------------------------------------------- header validation

// A short rendering of a JSON value for messages.
std::string describe(const json::Value& v) {
  std::string text = json::dump(v);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return std::string(json::type_name(v.type())) + " " + text;
}

bool is_non_negative_integer(const json::Value& v) {
  return v.type() == json::Value::Type::UInt || (v.type() == json::Value::Type::Int && v.as_int64() >= 0);
}

// Extents must fit int64 (Shape's type), so UInt is out.
bool is_extent(const json::Value& v) { return v.type() == json::Value::Type::Int && v.as_int64() >= 0; }

std::string shape_text(const std::vector<int64_t>& dims) { return Shape(dims).str(); }

// One header entry after validation, before its bytes are read.
struct Entry {
  std::string name;
  const FileDTypeInfo* dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

class HeaderReader {
 public:
  HeaderReader(const std::string& source, uint64_t buffer_size) : source_(source), buffer_size_(buffer_size) {}

  Entry read_entry(const std::string& name, const json::Value& v) const {
    RETORT_CHECK(v.is_object(), source_ << ": tensor '" << name
                                        << "' must be an object with dtype, shape and data_offsets, found "
                                        << describe(v));
    check_fields(name, v);
    Entry e{name, read_dtype(name, v.at("dtype")), read_shape(name, v.at("shape")), 0, 0};
    read_offsets(name, v.at("data_offsets"), &e);
    check_byte_count(e);
    return e;
  }

  Metadata read_metadata(const json::Value& v) const {
    RETORT_CHECK(v.is_object(), source_ << ": __metadata__ must be an object of strings, found " << describe(v));
    Metadata out;
    for (const json::Value::Member& m : v.members()) {
      RETORT_CHECK(m.second.is_string(), source_ << ": __metadata__ key '" << m.first
                                                 << "' must map to a string, found " << describe(m.second));
      out.emplace_back(m.first, m.second.as_string());
    }
    return out;
  }

 private:
  void check_fields(const std::string& name, const json::Value& v) const {
    for (const char* field : {"dtype", "shape", "data_offsets"})
      RETORT_CHECK(v.find(field) != nullptr, source_ << ": tensor '" << name << "' has no \"" << field << "\" field");
    for (const json::Value::Member& m : v.members()) {
      const bool known = m.first == "dtype" || m.first == "shape" || m.first == "data_offsets";
      RETORT_CHECK(known, source_ << ": tensor '" << name << "' has an unexpected field \"" << m.first
                                  << "\" (expected only dtype, shape and data_offsets)");
    }
  }

  const FileDTypeInfo* read_dtype(const std::string& name, const json::Value& v) const {
    RETORT_CHECK(v.is_string(), source_ << ": tensor '" << name << "' dtype must be a string, found " << describe(v));
    const FileDTypeInfo* d = find_file_dtype(v.as_string());
    RETORT_CHECK(d != nullptr, source_ << ": tensor '" << name << "' has dtype " << v.as_string()
                                       << ", which retort cannot read (supported: F32, I64, U8, F16, BF16)");
    return d;
  }

  std::vector<int64_t> read_shape(const std::string& name, const json::Value& v) const {
    bool valid = v.is_array() && v.size() <= static_cast<size_t>(kMaxDims);
    if (valid) valid = std::all_of(v.items().begin(), v.items().end(), is_extent);
    RETORT_CHECK(valid, source_ << ": tensor '" << name << "' shape must be an array of at most " << kMaxDims
                                << " non-negative integers, found " << describe(v));
    std::vector<int64_t> dims;
    for (const json::Value& x : v.items()) dims.push_back(x.as_int64());
    return dims;
  }

  void read_offsets(const std::string& name, const json::Value& v, Entry* e) const {
    const bool pair = v.is_array() && v.size() == 2 && is_non_negative_integer(v[0]) && is_non_negative_integer(v[1]);
    RETORT_CHECK(pair, source_ << ": tensor '" << name
                               << "' data_offsets must be two non-negative integers [begin, end], found "
                               << describe(v));
    e->begin = v[0].as_uint64();
    e->end = v[1].as_uint64();
    RETORT_CHECK(e->begin <= e->end && e->end <= buffer_size_,
                 source_ << ": tensor '" << name << "' data_offsets [" << e->begin << ", " << e->end
                         << "] must satisfy begin <= end <= " << buffer_size_ << " (the data buffer's size)");
  }

  void check_byte_count(const Entry& e) const {
    // numel * itemsize, refusing products beyond int64 rather than wrapping.
    // Zero extents are skipped in the product (so the other extents must fit
    // too, as Shape multiplies them) and make the byte count zero.
    int64_t bytes = static_cast<int64_t>(e.dtype->itemsize);
    bool overflow = false, empty = false;
    for (int64_t d : e.shape) {
      if (d == 0) {
        empty = true;
      } else if (bytes > std::numeric_limits<int64_t>::max() / d) {
        overflow = true;
      } else {
        bytes *= d;
      }
    }
    if (empty) bytes = 0;
    RETORT_CHECK(!overflow, source_ << ": tensor '" << e.name << "' declares shape " << shape_text(e.shape)
                                    << " whose byte size as " << e.dtype->name << " overflows int64");
    const uint64_t span = e.end - e.begin;
    RETORT_CHECK(static_cast<uint64_t>(bytes) == span,
                 source_ << ": tensor '" << e.name << "' declares shape " << shape_text(e.shape) << " (" << bytes
                         << " bytes as " << e.dtype->name << ") but data_offsets span " << span << " bytes");
  }

  const std::string& source_;
  uint64_t buffer_size_;
};

// Tensors may share no byte. Empty ones occupy none, so they never overlap.
void check_no_overlap(std::vector<const Entry*> entries, const std::string& source) {
  entries.erase(std::remove_if(entries.begin(), entries.end(), [](const Entry* e) { return e->begin == e->end; }),
                entries.end());
  std::sort(entries.begin(), entries.end(), [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < entries.size(); ++i) {
    const Entry& prev = *entries[i - 1];
    const Entry& cur = *entries[i];
    RETORT_CHECK(cur.begin >= prev.end, source << ": tensors '" << prev.name << "' [" << prev.begin << ", "
                                               << prev.end << ") and '" << cur.name << "' [" << cur.begin << ", "
                                               << cur.end << ") overlap in the data buffer");
  }
}

Tensor read_tensor(const Entry& e, const uint8_t* bytes) {
  Tensor t = empty(Shape(e.shape), e.dtype->memory);
  const size_t n = static_cast<size_t>(t.numel());
  if (n == 0) return t;
  if (e.dtype->file == FileDType::F16 || e.dtype->file == FileDType::BF16) {
    float* out = t.data<float>();
    const bool half = e.dtype->file == FileDType::F16;
    for (size_t i = 0; i < n; ++i) {
      const uint16_t h = static_cast<uint16_t>(bytes[2 * i] | (bytes[2 * i + 1] << 8));
      out[i] = half ? f16_to_f32(h) : bf16_to_f32(h);
    }
  } else {
    std::memcpy(t.raw(), bytes, t.nbytes());  // memcpy: the file gives no alignment
  }
  return t;
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

const Tensor* Contents::find(const std::string& name) const {
  for (const NamedTensor& t : tensors)
    if (t.name == name) return &t.tensor;
  return nullptr;
}

Contents parse(const uint8_t* data, size_t size, const std::string& source_name) {
  const std::string& src = source_name;
  RETORT_CHECK(size >= 8, src << ": expected at least 8 bytes (the safetensors header length), found " << size);
  const uint64_t header_size = read_u64_le(data);
  RETORT_CHECK(header_size <= kMaxHeaderBytes,
               src << ": header length " << header_size << " exceeds the limit of " << kMaxHeaderBytes << " bytes");
  RETORT_CHECK(header_size <= size - 8, src << ": header length " << header_size << " exceeds the "
                                            << size - 8 << " bytes that follow it in the file");
  const std::string_view header_text(reinterpret_cast<const char*>(data + 8), header_size);
  json::Value header;
  try {
    header = json::parse(header_text);
  } catch (const Error& e) {
    RETORT_FAIL(src << ": header is not valid JSON: " << e.message());
  }
  RETORT_CHECK(header.is_object(), src << ": header must be a JSON object, found " << describe(header));

  const uint8_t* buffer = data + 8 + header_size;
  const uint64_t buffer_size = size - 8 - header_size;
  const HeaderReader reader(src, buffer_size);
  Contents out;
  std::vector<Entry> entries;
  for (const json::Value::Member& m : header.members()) {
    if (m.first == "__metadata__") out.metadata = reader.read_metadata(m.second);
    else entries.push_back(reader.read_entry(m.first, m.second));
  }
  std::vector<const Entry*> pointers;
  for (const Entry& e : entries) pointers.push_back(&e);
  check_no_overlap(pointers, src);

  for (const Entry& e : entries) {
    out.tensors.push_back({e.name, read_tensor(e, buffer + e.begin)});
    if (e.dtype->memory == DType::F32 && e.dtype->file != FileDType::F32) out.upcast.push_back(e.name);
  }
  return out;
}

Contents load(const std::string& path) {
  const std::string bytes = read_file(path);
  return parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

std::string serialize(const std::vector<NamedTensor>& tensors, const Metadata& metadata) {
  json::Value header = json::Value::object();
  if (!metadata.empty()) {
    json::Value meta = json::Value::object();
    for (const auto& [key, value] : metadata) {
      RETORT_CHECK(meta.find(key) == nullptr, "safetensors: duplicate metadata key '" << key << "'");
      meta.set(key, value);
    }
    header.set("__metadata__", std::move(meta));
  }
  std::vector<Tensor> host;  // contiguous CPU copies, in order
  uint64_t offset = 0;
  for (const NamedTensor& nt : tensors) {
    RETORT_CHECK(nt.tensor.defined(), "safetensors: tensor '" << nt.name << "' is undefined");
    RETORT_CHECK(nt.name != "__metadata__", "safetensors: '__metadata__' is reserved and cannot name a tensor");
    RETORT_CHECK(header.find(nt.name) == nullptr, "safetensors: duplicate tensor name '" << nt.name << "'");
    host.push_back(nt.tensor.to(Device::cpu()).contiguous());
    json::Value shape = json::Value::array();
    for (int64_t d : nt.tensor.shape()) shape.push_back(d);
    const uint64_t end = offset + host.back().nbytes();
    header.set(nt.name, json::Value::object()
                            .set("dtype", file_dtype_name(nt.tensor.dtype()))
                            .set("shape", std::move(shape))
                            .set("data_offsets", json::Value::array().push_back(offset).push_back(end)));
    offset = end;
  }
  std::string header_text = json::dump(header);
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // the buffer starts 8-byte aligned

  std::string out;
  out.reserve(8 + header_text.size() + offset);
  for (int i = 0; i < 8; ++i) out += static_cast<char>((header_text.size() >> (8 * i)) & 0xFF);
  out += header_text;
  for (const Tensor& t : host)
    if (t.nbytes() > 0) out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

void save(const std::string& path, const std::vector<NamedTensor>& tensors, const Metadata& metadata) {
  write_file_atomic(path, serialize(tensors, metadata));
}

}  // namespace safetensors
}  // namespace retort
