// GGUF reader: bounds-checked cursor over the file image; see gguf.h.
#include <cstring>
#include <limits>

#include "core/strings.h"
#include "formats/gguf.h"

namespace bitnet {
namespace {

constexpr uint64_t kMaxDims = 4;  // GGML_MAX_DIMS

size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::UINT8: case GgufType::INT8: case GgufType::BOOL: return 1;
    case GgufType::UINT16: case GgufType::INT16: return 2;
    case GgufType::UINT32: case GgufType::INT32: case GgufType::FLOAT32: return 4;
    case GgufType::UINT64: case GgufType::INT64: case GgufType::FLOAT64: return 8;
    default: return 0;
  }
}

bool valid_type_id(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::FLOAT64); }

// Little-endian cursor that never reads past `end`.
class Cursor {
 public:
  Cursor(const uint8_t* p, size_t n) : base_(p), pos_(0), size_(n) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  const uint8_t* here() const { return base_ + pos_; }

  bool read(void* dst, size_t n) {
    if (n > remaining()) return false;
    std::memcpy(dst, base_ + pos_, n);
    pos_ += n;
    return true;
  }
  template <typename T>
  bool get(T* v) { return read(v, sizeof(T)); }
  bool skip(size_t n) {
    if (n > remaining()) return false;
    pos_ += n;
    return true;
  }
  bool string(std::string_view* s) {
    uint64_t len;
    if (!get(&len) || len > remaining()) return false;
    *s = std::string_view(reinterpret_cast<const char*>(here()), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return true;
  }

 private:
  const uint8_t* base_;
  size_t pos_, size_;
};

Status bad(const std::string& label, const std::string& what) {
  return corrupt("'" + label + "' is not a valid GGUF file: " + what);
}

bool read_scalar(Cursor& c, GgufType t, GgufValue* v) {
  v->type = t;
  switch (t) {
    case GgufType::UINT8: { uint8_t x; if (!c.get(&x)) return false; v->u = x; v->i = x; v->f = x; return true; }
    case GgufType::INT8: { int8_t x; if (!c.get(&x)) return false; v->i = x; v->f = x; return true; }
    case GgufType::UINT16: { uint16_t x; if (!c.get(&x)) return false; v->u = x; v->i = x; v->f = x; return true; }
    case GgufType::INT16: { int16_t x; if (!c.get(&x)) return false; v->i = x; v->f = x; return true; }
    case GgufType::UINT32: { uint32_t x; if (!c.get(&x)) return false; v->u = x; v->i = x; v->f = x; return true; }
    case GgufType::INT32: { int32_t x; if (!c.get(&x)) return false; v->i = x; v->f = x; return true; }
    case GgufType::UINT64: { uint64_t x; if (!c.get(&x)) return false; v->u = x; v->i = static_cast<int64_t>(x); v->f = static_cast<double>(x); return true; }
    case GgufType::INT64: { int64_t x; if (!c.get(&x)) return false; v->i = x; v->f = static_cast<double>(x); return true; }
    case GgufType::FLOAT32: { float x; if (!c.get(&x)) return false; v->f = x; return true; }
    case GgufType::FLOAT64: { double x; if (!c.get(&x)) return false; v->f = x; return true; }
    case GgufType::BOOL: { uint8_t x; if (!c.get(&x)) return false; v->u = x; v->i = x; return true; }
    case GgufType::STRING: return c.string(&v->s);
    default: return false;
  }
}

bool is_int_type(GgufType t) {
  switch (t) {
    case GgufType::UINT8: case GgufType::INT8: case GgufType::UINT16: case GgufType::INT16:
    case GgufType::UINT32: case GgufType::INT32: case GgufType::UINT64: case GgufType::INT64:
      return true;
    default: return false;
  }
}

}  // namespace

const char* gguf_type_name(GgufType t) {
  static const char* kNames[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                 "bool", "str", "arr", "u64", "i64", "f64"};
  auto i = static_cast<uint32_t>(t);
  return i < 13 ? kNames[i] : "?";
}

int64_t GgufTensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

Result<GgufFile> GgufFile::open(const std::string& path) {
  BITNET_ASSIGN_OR_RETURN(MappedFile m, MappedFile::open(path));
  GgufFile f;
  f.map_ = std::make_unique<MappedFile>(std::move(m));
  f.base_ = f.map_->data();
  f.size_ = f.map_->size();
  f.label_ = path;
  BITNET_RETURN_IF_ERROR(f.parse());
  return f;
}

Result<GgufFile> GgufFile::from_bytes(const uint8_t* data, size_t size, std::string label) {
  GgufFile f;
  f.owned_ = std::make_shared<std::vector<uint8_t>>(data, data + size);
  f.base_ = f.owned_->data();
  f.size_ = size;
  f.label_ = std::move(label);
  BITNET_RETURN_IF_ERROR(f.parse());
  return f;
}

Status GgufFile::parse() {
  Cursor c(base_, size_);
  char magic[4];
  if (!c.read(magic, 4)) return bad(label_, strfmt("file is %zu bytes, too short for a header", size_));
  if (std::memcmp(magic, "GGUF", 4) != 0) return bad(label_, "missing 'GGUF' magic");
  if (!c.get(&version_)) return bad(label_, "truncated header");
  if (version_ != 2 && version_ != 3)
    return unsupported("'" + label_ + "': GGUF version " + std::to_string(version_) +
                       " is not supported (need 2 or 3)");
  uint64_t n_tensors, n_kv;
  if (!c.get(&n_tensors) || !c.get(&n_kv)) return bad(label_, "truncated header");
  // Each KV needs >= 8+4 bytes and each tensor info >= 8+4+8+4+8 bytes: bound counts by file size.
  if (n_kv > c.remaining() / 12) return bad(label_, strfmt("metadata count %llu exceeds file size", (unsigned long long)n_kv));
  if (n_tensors > c.remaining() / 32) return bad(label_, strfmt("tensor count %llu exceeds file size", (unsigned long long)n_tensors));

  kv_.reserve(static_cast<size_t>(n_kv));
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string_view key;
    if (!c.string(&key)) return bad(label_, strfmt("truncated key of metadata entry %llu", (unsigned long long)k));
    uint32_t tid;
    if (!c.get(&tid)) return bad(label_, "truncated type of key '" + std::string(key) + "'");
    if (!valid_type_id(tid)) return bad(label_, strfmt("key '%.*s' has unknown value type %u", (int)key.size(), key.data(), tid));
    GgufValue v;
    auto type = static_cast<GgufType>(tid);
    if (type == GgufType::ARRAY) {
      uint32_t et;
      uint64_t count;
      if (!c.get(&et) || !c.get(&count)) return bad(label_, "truncated array header of key '" + std::string(key) + "'");
      if (!valid_type_id(et) || et == static_cast<uint32_t>(GgufType::ARRAY))
        return bad(label_, strfmt("array '%.*s' has invalid element type %u", (int)key.size(), key.data(), et));
      v.type = GgufType::ARRAY;
      v.elem_type = static_cast<GgufType>(et);
      v.count = count;
      if (v.elem_type == GgufType::STRING) {
        if (count > c.remaining() / 8) return bad(label_, "array '" + std::string(key) + "' is longer than the file");
        v.strs.resize(static_cast<size_t>(count));
        for (auto& s : v.strs)
          if (!c.string(&s)) return bad(label_, "truncated string in array '" + std::string(key) + "'");
      } else {
        size_t es = scalar_size(v.elem_type);
        if (count > c.remaining() / es) return bad(label_, "array '" + std::string(key) + "' is longer than the file");
        v.raw = c.here();
        c.skip(static_cast<size_t>(count) * es);
      }
    } else if (!read_scalar(c, type, &v)) {
      return bad(label_, "truncated value of key '" + std::string(key) + "'");
    }
    if (!kv_index_.emplace(key, kv_.size()).second) return bad(label_, "duplicate key '" + std::string(key) + "'");
    kv_.emplace_back(key, std::move(v));
  }

  if (const GgufValue* a = find("general.alignment")) {
    if (!is_int_type(a->type) || a->i <= 0 || a->i > (1 << 30) || (a->i & (a->i - 1)) != 0)
      return bad(label_, "general.alignment must be a positive power of two");
    alignment_ = static_cast<uint32_t>(a->i);
  }

  tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t t = 0; t < n_tensors; ++t) {
    GgufTensorInfo ti;
    if (!c.string(&ti.name)) return bad(label_, strfmt("truncated name of tensor %llu", (unsigned long long)t));
    const std::string nm(ti.name);
    uint32_t n_dims;
    if (!c.get(&n_dims)) return bad(label_, "truncated tensor info of '" + nm + "'");
    if (n_dims == 0 || n_dims > kMaxDims) return bad(label_, strfmt("tensor '%s' has %u dims (1..4 allowed)", nm.c_str(), n_dims));
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t x;
      if (!c.get(&x)) return bad(label_, "truncated dims of tensor '" + nm + "'");
      if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / 2)) return bad(label_, "tensor '" + nm + "' has an absurd dimension");
      ti.ne.push_back(static_cast<int64_t>(x));
    }
    uint32_t type_id;
    if (!c.get(&type_id) || !c.get(&ti.offset)) return bad(label_, "truncated tensor info of '" + nm + "'");
    auto type = ggml_type_from_id(type_id);
    if (!type)
      return unsupported(strfmt("'%s': tensor '%s' has ggml type %u, which bitnet-cxx does not support "
                                "(supported: f32, f16, bf16, q8_0, q4_k, q6_k, tq1_0, tq2_0, i2_s)", label_.c_str(), nm.c_str(), type_id));
    ti.type = *type;
    auto nb = ggml_tensor_nbytes(ti.type, ti.ne);
    if (!nb) return bad(label_, "tensor '" + nm + "' has a shape that is invalid for its type or overflows");
    ti.nbytes = *nb;
    if (!tensor_index_.emplace(ti.name, tensors_.size()).second) return bad(label_, "duplicate tensor '" + nm + "'");
    tensors_.push_back(std::move(ti));
  }

  const uint64_t a = alignment_;
  uint64_t pos = c.pos();
  data_offset_ = (pos + a - 1) / a * a;
  if (n_tensors > 0 && data_offset_ > size_) return bad(label_, "data section starts past the end of the file");
  const uint64_t data_size = size_ - std::min<uint64_t>(data_offset_, size_);
  for (auto& ti : tensors_) {
    if (ti.offset % a != 0) return bad(label_, strfmt("tensor '%.*s' offset %llu is not aligned to %llu", (int)ti.name.size(), ti.name.data(), (unsigned long long)ti.offset, (unsigned long long)a));
    if (ti.offset > data_size || ti.nbytes > data_size - ti.offset)
      return bad(label_, strfmt("tensor '%.*s' (%llu bytes at offset %llu) extends past the end of the file (truncated download?)",
                                (int)ti.name.size(), ti.name.data(), (unsigned long long)ti.nbytes, (unsigned long long)ti.offset));
    ti.data = base_ + data_offset_ + ti.offset;
  }
  return Status::ok();
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

static Status missing(const std::string& label, std::string_view key) {
  return not_found("'" + label + "': metadata key '" + std::string(key) + "' is missing");
}
static Status wrong_type(const std::string& label, std::string_view key, GgufType t, const char* want) {
  return corrupt("'" + label + "': metadata key '" + std::string(key) + "' has type " + gguf_type_name(t) + ", expected " + want);
}

Result<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing(label_, key);
  if (!is_int_type(v->type)) return wrong_type(label_, key, v->type, "an integer");
  if (v->type == GgufType::UINT64 && v->u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return corrupt("'" + label_ + "': metadata key '" + std::string(key) + "' is out of range");
  return v->i;
}

Result<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing(label_, key);
  if (v->type == GgufType::FLOAT32 || v->type == GgufType::FLOAT64 || is_int_type(v->type)) return v->f;
  return wrong_type(label_, key, v->type, "a number");
}

Result<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing(label_, key);
  if (v->type != GgufType::BOOL) return wrong_type(label_, key, v->type, "bool");
  return v->u != 0;
}

Result<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing(label_, key);
  if (v->type != GgufType::STRING) return wrong_type(label_, key, v->type, "a string");
  return std::string(v->s);
}

Result<std::vector<std::string_view>> GgufFile::get_string_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing(label_, key);
  if (v->type != GgufType::ARRAY || v->elem_type != GgufType::STRING)
    return wrong_type(label_, key, v->type, "an array of strings");
  return v->strs;
}

Result<std::vector<float>> GgufFile::get_f32_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing(label_, key);
  if (v->type != GgufType::ARRAY || v->elem_type != GgufType::FLOAT32)
    return wrong_type(label_, key, v->type, "an array of f32");
  std::vector<float> out(static_cast<size_t>(v->count));
  if (!out.empty()) std::memcpy(out.data(), v->raw, out.size() * 4);
  return out;
}

Result<std::vector<int32_t>> GgufFile::get_i32_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing(label_, key);
  if (v->type != GgufType::ARRAY || (v->elem_type != GgufType::INT32 && v->elem_type != GgufType::UINT32))
    return wrong_type(label_, key, v->type, "an array of i32");
  std::vector<int32_t> out(static_cast<size_t>(v->count));
  if (!out.empty()) std::memcpy(out.data(), v->raw, out.size() * 4);
  return out;
}

}  // namespace bitnet
