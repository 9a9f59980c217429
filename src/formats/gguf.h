// GGUF v2/v3 container: a validating, zero-copy reader (mmap) and a writer.
// Layout facts: shared/reference/bitnet-model-spec.md §3.1. Every count, length, dim, offset and
// size read from a file is checked before use; a bad file yields a kCorrupt/kUnsupported Status
// naming the offending key or tensor, never a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/mmap.h"
#include "core/status.h"
#include "formats/ggml_types.h"

namespace bitnet {

enum class GgufType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
  BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
const char* gguf_type_name(GgufType t);

// One metadata value. Scalars are widened on read; arrays keep a pointer to their raw
// little-endian payload (numeric) or views of their strings, both into the file's memory.
struct GgufValue {
  GgufType type = GgufType::UINT8;
  GgufType elem_type = GgufType::UINT8;  // arrays only
  uint64_t u = 0;                        // unsigned ints, bool
  int64_t i = 0;                         // signed ints
  double f = 0;                          // floats
  std::string_view s;                    // STRING
  uint64_t count = 0;                    // arrays: element count
  const uint8_t* raw = nullptr;          // numeric arrays: payload
  std::vector<std::string_view> strs;    // string arrays
};

struct GgufTensorInfo {
  std::string_view name;
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> ne;   // ne[0] = row length (fastest varying)
  uint64_t offset = 0;       // relative to the data section
  uint64_t nbytes = 0;       // exact size (I2_S: ne0*ne1/4 + 32)
  const uint8_t* data = nullptr;
  int64_t n_elements() const;
};

class GgufFile {
 public:
  static Result<GgufFile> open(const std::string& path);
  // Parse an in-memory image (tests, fuzzing). The bytes are copied and owned.
  static Result<GgufFile> from_bytes(const uint8_t* data, size_t size, std::string label = "<memory>");

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  const std::string& path() const { return label_; }
  const uint8_t* base() const { return base_; }
  size_t size() const { return size_; }
  const MappedFile* mapping() const { return map_.get(); }

  // Metadata in file order.
  const std::vector<std::pair<std::string_view, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;

  // Typed getters: error if missing or of an incompatible type / out of range.
  Result<int64_t> get_int(std::string_view key) const;
  Result<double> get_float(std::string_view key) const;  // accepts ints too
  Result<bool> get_bool(std::string_view key) const;
  Result<std::string> get_string(std::string_view key) const;
  Result<std::vector<std::string_view>> get_string_array(std::string_view key) const;
  Result<std::vector<float>> get_f32_array(std::string_view key) const;
  Result<std::vector<int32_t>> get_i32_array(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;

 private:
  Status parse();

  std::unique_ptr<MappedFile> map_;
  std::shared_ptr<std::vector<uint8_t>> owned_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  std::string label_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string_view, GgufValue>> kv_;
  std::unordered_map<std::string_view, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string_view, size_t> tensor_index_;
};

// Builds a GGUF v3 file. Tensors are laid out in insertion order, each padded to the alignment.
class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = 32) : alignment_(alignment) {}

  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_u64(const std::string& key, uint64_t v);
  void set_f32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_string(const std::string& key, const std::string& v);
  void set_string_array(const std::string& key, const std::vector<std::string>& v);
  void set_f32_array(const std::string& key, const std::vector<float>& v);
  void set_i32_array(const std::string& key, const std::vector<int32_t>& v);
  // Escape hatch for tests: a value of any scalar type, given as raw little-endian bytes.
  void set_raw(const std::string& key, GgufType type, std::vector<uint8_t> payload);

  // `bytes` must be exactly ggml_tensor_nbytes(type, ne) long (checked).
  Status add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> ne,
                    std::vector<uint8_t> bytes);

  std::vector<uint8_t> to_bytes() const;
  Status write(const std::string& path) const;

 private:
  struct KV {
    std::string key;
    GgufType type;
    std::vector<uint8_t> payload;  // encoded value (after the type id)
  };
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> bytes;
  };
  void put(const std::string& key, GgufType type, std::vector<uint8_t> payload);
  void write_header(std::vector<uint8_t>& out) const;

  uint32_t alignment_;
  std::vector<KV> kvs_;
  std::vector<Tensor> tensors_;
};

}  // namespace bitnet
