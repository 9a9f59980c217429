// GGUF v3 writer; see gguf.h. Used by tests, `bitnet synth` and fixture tools.
#include <cstdio>
#include <cstring>

#include "core/check.h"
#include "core/strings.h"
#include "formats/gguf.h"

namespace bitnet {
namespace {

template <typename T>
void append(std::vector<uint8_t>& out, const T& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}
void append_str(std::vector<uint8_t>& out, const std::string& s) {
  append<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

}  // namespace

void GgufWriter::put(const std::string& key, GgufType type, std::vector<uint8_t> payload) {
  for (auto& kv : kvs_) {
    if (kv.key == key) {
      kv.type = type;
      kv.payload = std::move(payload);
      return;
    }
  }
  kvs_.push_back({key, type, std::move(payload)});
}

void GgufWriter::set_u32(const std::string& k, uint32_t v) { std::vector<uint8_t> p; append(p, v); put(k, GgufType::UINT32, p); }
void GgufWriter::set_i32(const std::string& k, int32_t v) { std::vector<uint8_t> p; append(p, v); put(k, GgufType::INT32, p); }
void GgufWriter::set_u64(const std::string& k, uint64_t v) { std::vector<uint8_t> p; append(p, v); put(k, GgufType::UINT64, p); }
void GgufWriter::set_f32(const std::string& k, float v) { std::vector<uint8_t> p; append(p, v); put(k, GgufType::FLOAT32, p); }
void GgufWriter::set_bool(const std::string& k, bool v) { std::vector<uint8_t> p{static_cast<uint8_t>(v ? 1 : 0)}; put(k, GgufType::BOOL, p); }
void GgufWriter::set_string(const std::string& k, const std::string& v) { std::vector<uint8_t> p; append_str(p, v); put(k, GgufType::STRING, p); }
void GgufWriter::set_raw(const std::string& k, GgufType t, std::vector<uint8_t> payload) { put(k, t, std::move(payload)); }

void GgufWriter::set_string_array(const std::string& k, const std::vector<std::string>& v) {
  std::vector<uint8_t> p;
  append<uint32_t>(p, static_cast<uint32_t>(GgufType::STRING));
  append<uint64_t>(p, v.size());
  for (const auto& s : v) append_str(p, s);
  put(k, GgufType::ARRAY, std::move(p));
}

void GgufWriter::set_f32_array(const std::string& k, const std::vector<float>& v) {
  std::vector<uint8_t> p;
  append<uint32_t>(p, static_cast<uint32_t>(GgufType::FLOAT32));
  append<uint64_t>(p, v.size());
  for (float x : v) append(p, x);
  put(k, GgufType::ARRAY, std::move(p));
}

void GgufWriter::set_i32_array(const std::string& k, const std::vector<int32_t>& v) {
  std::vector<uint8_t> p;
  append<uint32_t>(p, static_cast<uint32_t>(GgufType::INT32));
  append<uint64_t>(p, v.size());
  for (int32_t x : v) append(p, x);
  put(k, GgufType::ARRAY, std::move(p));
}

Status GgufWriter::add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> ne,
                              std::vector<uint8_t> bytes) {
  auto nb = ggml_tensor_nbytes(type, ne);
  if (!nb) return invalid_argument("tensor '" + name + "': shape is invalid for its type");
  if (*nb != bytes.size())
    return invalid_argument(strfmt("tensor '%s': %zu bytes given, %llu expected", name.c_str(),
                                   bytes.size(), (unsigned long long)*nb));
  for (const auto& t : tensors_)
    if (t.name == name) return invalid_argument("duplicate tensor '" + name + "'");
  tensors_.push_back({name, type, std::move(ne), std::move(bytes)});
  return Status::ok();
}

void GgufWriter::write_header(std::vector<uint8_t>& out) const {
  out.insert(out.end(), {'G', 'G', 'U', 'F'});
  append<uint32_t>(out, 3);
  append<uint64_t>(out, tensors_.size());
  const bool add_align = alignment_ != 32;
  append<uint64_t>(out, kvs_.size() + (add_align ? 1 : 0));
  if (add_align) {
    append_str(out, "general.alignment");
    append<uint32_t>(out, static_cast<uint32_t>(GgufType::UINT32));
    append<uint32_t>(out, alignment_);
  }
  for (const auto& kv : kvs_) {
    append_str(out, kv.key);
    append<uint32_t>(out, static_cast<uint32_t>(kv.type));
    out.insert(out.end(), kv.payload.begin(), kv.payload.end());
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    append_str(out, t.name);
    append<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) append<uint64_t>(out, static_cast<uint64_t>(d));
    append<uint32_t>(out, static_cast<uint32_t>(t.type));
    append<uint64_t>(out, offset);
    offset += (t.bytes.size() + alignment_ - 1) / alignment_ * alignment_;
  }
  out.resize((out.size() + alignment_ - 1) / alignment_ * alignment_, 0);
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
  std::vector<uint8_t> out;
  write_header(out);
  for (const auto& t : tensors_) {
    out.insert(out.end(), t.bytes.begin(), t.bytes.end());
    out.resize((out.size() + alignment_ - 1) / alignment_ * alignment_, 0);
  }
  return out;
}

Status GgufWriter::write(const std::string& path) const {
  std::vector<uint8_t> header;
  write_header(header);
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return io_error("cannot create '" + path + "': " + std::strerror(errno));
  bool ok = std::fwrite(header.data(), 1, header.size(), f) == header.size();
  static const uint8_t kZeros[64] = {};
  for (const auto& t : tensors_) {
    if (!ok) break;
    ok = std::fwrite(t.bytes.data(), 1, t.bytes.size(), f) == t.bytes.size();
    size_t pad = (alignment_ - t.bytes.size() % alignment_) % alignment_;
    while (ok && pad > 0) {
      size_t n = pad < sizeof(kZeros) ? pad : sizeof(kZeros);
      ok = std::fwrite(kZeros, 1, n, f) == n;
      pad -= n;
    }
  }
  if (std::fclose(f) != 0) ok = false;
  if (!ok) return io_error("failed writing '" + path + "' (disk full?)");
  return Status::ok();
}

}  // namespace bitnet
