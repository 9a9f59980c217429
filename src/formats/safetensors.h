// safetensors: a validating, zero-copy reader (mmap) for single files and for models sharded with
// model.safetensors.index.json (Hugging Face checkpoints, input of `bitnet convert`).
//
// File layout: u64 little-endian header length N, N bytes of UTF-8 JSON
//   {"<name>": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"<key>": "<string>", ...}}
// then the data section; offsets are relative to its start, shapes are row-major (d0 slowest, the
// PyTorch order). The checks follow the reference implementation (the `safetensors` Rust crate):
// header inside the file and at most 100 MB, known dtype, no negative/overflowing dims, end - begin
// equal to numel * dtype size, tensors tiling the data section without holes or overlaps, no
// duplicate keys. A bad file yields a kCorrupt / kUnsupported Status naming the tensor, never a
// crash.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/mmap.h"
#include "core/status.h"

namespace bitnet {

enum class StDtype : uint8_t {
  BOOL,
  U8,
  I8,
  F8_E5M2,
  F8_E4M3,
  I16,
  U16,
  F16,
  BF16,
  I32,
  U32,
  F32,
  F64,
  I64,
  U64,
};
const char* st_dtype_name(StDtype d);
size_t st_dtype_size(StDtype d);  // bytes per element

struct StTensor {
  std::string name;
  StDtype dtype = StDtype::F32;
  std::vector<int64_t> shape;  // row-major, shape[0] slowest (PyTorch order); [] = scalar
  uint64_t begin = 0;          // offsets relative to the data section
  uint64_t nbytes = 0;
  const uint8_t* data = nullptr;  // into the mapping; may be unaligned (read with memcpy)
  int64_t numel() const;
  std::string shape_str() const;  // "[640, 2560]"
};

class SafetensorsFile {
 public:
  static Result<SafetensorsFile> open(const std::string& path);
  // Parse an in-memory image (tests, fuzzing). The bytes are copied and owned.
  static Result<SafetensorsFile> from_bytes(const uint8_t* data, size_t size,
                                            std::string label = "<memory>");

  const std::string& path() const { return label_; }
  // Tensors in data-offset order.
  const std::vector<StTensor>& tensors() const { return tensors_; }
  const StTensor* find(std::string_view name) const;
  // The optional "__metadata__" string map.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  Status parse();

  std::unique_ptr<MappedFile> map_;
  std::shared_ptr<std::vector<uint8_t>> owned_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  std::string label_;
  std::vector<StTensor> tensors_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a checkpoint directory, from model.safetensors.index.json when present
// (its weight_map names the shard of every tensor; shard names must be plain file names inside
// the directory), else from model.safetensors, else from every *.safetensors in the directory
// (a name present in two files is an error).
class SafetensorsModel {
 public:
  static Result<SafetensorsModel> open_dir(const std::string& dir);
  // A single file (no index).
  static Result<SafetensorsModel> open_file(const std::string& path);

  const StTensor* find(std::string_view name) const;
  // Every tensor name, sorted.
  std::vector<std::string> names() const;
  size_t n_files() const { return files_.size(); }
  const std::vector<SafetensorsFile>& files() const { return files_; }

 private:
  std::vector<SafetensorsFile> files_;
  std::map<std::string, const StTensor*, std::less<>> by_name_;
};

// Element values of a floating-point tensor (F32, F16, BF16, F64) widened to f32; other dtypes
// are an error (kUnsupported) naming the tensor.
Result<std::vector<float>> st_read_f32(const StTensor& t);

}  // namespace bitnet
