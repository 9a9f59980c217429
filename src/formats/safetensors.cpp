// safetensors reader; see safetensors.h for the layout and the checks.
#include "formats/safetensors.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/fp16.h"
#include "core/strings.h"

namespace bitnet {
namespace {

using json = nlohmann::json;

// The Rust crate's MAX_HEADER_SIZE: a header larger than this is refused before parsing.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// Legit headers nest 3 deep: top object > tensor entry > shape / data_offsets array.
constexpr int kMaxJsonDepth = 3;
constexpr size_t kMaxDims = 16;

struct DtypeInfo {
  const char* name;
  StDtype dtype;
  size_t size;
};
constexpr DtypeInfo kDtypes[] = {
    {"BOOL", StDtype::BOOL, 1},       {"U8", StDtype::U8, 1},           {"I8", StDtype::I8, 1},
    {"F8_E5M2", StDtype::F8_E5M2, 1}, {"F8_E4M3", StDtype::F8_E4M3, 1}, {"I16", StDtype::I16, 2},
    {"U16", StDtype::U16, 2},         {"F16", StDtype::F16, 2},         {"BF16", StDtype::BF16, 2},
    {"I32", StDtype::I32, 4},         {"U32", StDtype::U32, 4},         {"F32", StDtype::F32, 4},
    {"F64", StDtype::F64, 8},         {"I64", StDtype::I64, 8},         {"U64", StDtype::U64, 8},
};

Status bad(const std::string& label, const std::string& what) {
  return corrupt("'" + label + "' is not a valid safetensors file: " + what);
}

// Maximum {/[ nesting outside strings; -1 if the text is unbalanced in an obvious way.
int json_depth(const char* p, size_t n) {
  int depth = 0, max_depth = 0;
  bool in_str = false, esc = false;
  for (size_t i = 0; i < n; ++i) {
    const char c = p[i];
    if (in_str) {
      if (esc)
        esc = false;
      else if (c == '\\')
        esc = true;
      else if (c == '"')
        in_str = false;
      continue;
    }
    if (c == '"')
      in_str = true;
    else if (c == '{' || c == '[')
      max_depth = std::max(max_depth, ++depth);
    else if (c == '}' || c == ']') {
      if (--depth < 0) return -1;
    }
  }
  return max_depth;
}

// A JSON number that is a non-negative integer fitting in uint64.
bool get_u64(const json& j, uint64_t* out) {
  if (j.is_number_unsigned()) {
    *out = j.get<uint64_t>();
    return true;
  }
  if (j.is_number_integer()) {
    const int64_t v = j.get<int64_t>();
    if (v < 0) return false;
    *out = static_cast<uint64_t>(v);
    return true;
  }
  return false;
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return true;
  *out = a * b;
  return false;
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

const char* st_dtype_name(StDtype d) {
  for (const auto& x : kDtypes)
    if (x.dtype == d) return x.name;
  return "?";
}

size_t st_dtype_size(StDtype d) {
  for (const auto& x : kDtypes)
    if (x.dtype == d) return x.size;
  return 0;
}

int64_t StTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // validated not to overflow at parse time
  return n;
}

std::string StTensor::shape_str() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  BITNET_ASSIGN_OR_RETURN(MappedFile m, MappedFile::open(path));
  SafetensorsFile f;
  f.map_ = std::make_unique<MappedFile>(std::move(m));
  f.base_ = f.map_->data();
  f.size_ = f.map_->size();
  f.label_ = path;
  BITNET_RETURN_IF_ERROR(f.parse());
  return f;
}

Result<SafetensorsFile> SafetensorsFile::from_bytes(const uint8_t* data, size_t size,
                                                    std::string label) {
  SafetensorsFile f;
  f.owned_ = std::make_shared<std::vector<uint8_t>>(data, data + size);
  f.base_ = f.owned_->data();
  f.size_ = size;
  f.label_ = std::move(label);
  BITNET_RETURN_IF_ERROR(f.parse());
  return f;
}

const StTensor* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Status SafetensorsFile::parse() {
  if (size_ < 8)
    return bad(label_, strfmt("file is %zu bytes, shorter than the 8-byte header length", size_));
  uint64_t n;
  std::memcpy(&n, base_, 8);  // little-endian hosts only (as everywhere in bitnet-cxx)
  if (n > kMaxHeaderBytes)
    return bad(label_,
               strfmt("header length %llu exceeds the 100 MB limit", (unsigned long long)n));
  if (n > size_ - 8)
    return bad(label_, strfmt("header length %llu runs past the end of the %zu-byte file",
                              (unsigned long long)n, size_));
  const char* hdr = reinterpret_cast<const char*>(base_ + 8);
  if (n < 2 || hdr[0] != '{') return bad(label_, "header is not a JSON object");
  const int depth = json_depth(hdr, static_cast<size_t>(n));
  if (depth < 0 || depth > kMaxJsonDepth)
    return bad(label_, strfmt("header JSON nests deeper than %d levels", kMaxJsonDepth));

  // Duplicate keys would make the header ambiguous (nlohmann keeps the last): reject them.
  std::vector<std::set<std::string>> keys;
  std::string dup;
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start)
      keys.emplace_back();
    else if (ev == json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (ev == json::parse_event_t::key && !keys.empty() && parsed.is_string()) {
      if (!keys.back().insert(parsed.get<std::string>()).second && dup.empty())
        dup = parsed.get<std::string>();
    }
    return true;
  };
  // Trailing spaces are allowed (writers pad the header to 8 bytes).
  json h = json::parse(hdr, hdr + n, cb, /*allow_exceptions=*/false);
  if (h.is_discarded() || !h.is_object()) return bad(label_, "header is not valid JSON");
  if (!dup.empty()) return bad(label_, "duplicate key '" + dup + "' in the header");

  const uint64_t data_size = size_ - 8 - n;
  const uint8_t* data = base_ + 8 + n;
  tensors_.clear();
  tensors_.reserve(h.size());
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) return bad(label_, "__metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          return bad(label_, "__metadata__ value of '" + m.key() + "' is not a string");
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!v.is_object()) return bad(label_, where + ": entry is not an object");
    auto dt = v.find("dtype");
    auto sh = v.find("shape");
    auto off = v.find("data_offsets");
    if (dt == v.end() || !dt->is_string())
      return bad(label_, where + ": missing or non-string dtype");
    if (sh == v.end() || !sh->is_array())
      return bad(label_, where + ": missing or non-array shape");
    if (off == v.end() || !off->is_array() || off->size() != 2)
      return bad(label_, where + ": data_offsets must be [begin, end]");

    StTensor t;
    t.name = name;
    const std::string dname = dt->get<std::string>();
    const DtypeInfo* info = nullptr;
    for (const auto& x : kDtypes)
      if (dname == x.name) info = &x;
    if (!info)
      return unsupported(
          "'" + label_ + "': " + where + " has dtype '" + dname +
          "', which is not supported (supported: BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, "
          "F16, BF16, I32, U32, F32, F64, I64, U64)");
    t.dtype = info->dtype;
    if (sh->size() > kMaxDims)
      return bad(label_, where + strfmt(": more than %zu dimensions", kMaxDims));
    uint64_t numel = 1;
    for (const auto& d : *sh) {
      uint64_t x;
      if (!get_u64(d, &x) || x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return bad(label_, where + ": shape entries must be non-negative integers");
      if (mul_overflows(numel, x, &numel) ||
          numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return bad(label_, where + ": element count overflows");
      t.shape.push_back(static_cast<int64_t>(x));
    }
    uint64_t nbytes;
    if (mul_overflows(numel, info->size, &nbytes))
      return bad(label_, where + ": byte size overflows");
    uint64_t b, e;
    if (!get_u64((*off)[0], &b) || !get_u64((*off)[1], &e))
      return bad(label_, where + ": data_offsets must be non-negative integers");
    if (b > e)
      return bad(label_, where + strfmt(": data_offsets [%llu, %llu] are reversed",
                                        (unsigned long long)b, (unsigned long long)e));
    if (e - b != nbytes)
      return bad(label_, where + strfmt(": data_offsets span %llu bytes but %s %s needs %llu",
                                        (unsigned long long)(e - b), dname.c_str(),
                                        t.shape_str().c_str(), (unsigned long long)nbytes));
    if (e > data_size)
      return bad(
          label_,
          where + strfmt(": data ends at byte %llu of a %llu-byte data section (truncated file?)",
                         (unsigned long long)e, (unsigned long long)data_size));
    t.begin = b;
    t.nbytes = nbytes;
    t.data = data + b;
    tensors_.push_back(std::move(t));
  }

  // The tensors must tile the data section exactly, as the reference implementation requires.
  std::sort(tensors_.begin(), tensors_.end(), [](const StTensor& a, const StTensor& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.nbytes < b.nbytes;
  });
  uint64_t expect = 0;
  for (const auto& t : tensors_) {
    if (t.begin != expect)
      return bad(label_,
                 strfmt("tensor '%s' starts at data byte %llu, expected %llu (overlap or hole)",
                        t.name.c_str(), (unsigned long long)t.begin, (unsigned long long)expect));
    expect = t.begin + t.nbytes;
  }
  if (expect != data_size)
    return bad(label_, strfmt("tensors cover %llu bytes of a %llu-byte data section",
                              (unsigned long long)expect, (unsigned long long)data_size));
  index_.clear();
  for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
  return Status::ok();
}

// ---- SafetensorsModel ---------------------------------------------------------------------------

Result<SafetensorsModel> SafetensorsModel::open_file(const std::string& path) {
  BITNET_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::open(path));
  SafetensorsModel m;
  m.files_.push_back(std::move(f));
  for (const auto& t : m.files_.back().tensors()) m.by_name_.emplace(t.name, &t);
  return m;
}

Result<SafetensorsModel> SafetensorsModel::open_dir(const std::string& dir) {
  SafetensorsModel m;
  const std::string index_path = join_path(dir, "model.safetensors.index.json");
  auto index_map = MappedFile::open(index_path);
  if (index_map.is_ok()) {
    const auto* p = reinterpret_cast<const char*>(index_map->data());
    json idx = json::parse(p, p + index_map->size(), nullptr, /*allow_exceptions=*/false);
    auto bad_index = [&](const std::string& what) {
      return corrupt("'" + index_path + "' is not a valid safetensors index: " + what);
    };
    if (idx.is_discarded() || !idx.is_object()) return bad_index("not a JSON object");
    auto wm = idx.find("weight_map");
    if (wm == idx.end() || !wm->is_object() || wm->empty())
      return bad_index("missing or empty weight_map");
    std::map<std::string, size_t> shard_index;
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it.value().is_string())
        return bad_index("weight_map value of '" + it.key() + "' is not a string");
      const std::string shard = it.value().get<std::string>();
      // Shards live next to the index: refuse paths that would escape the directory.
      if (shard.empty() || shard.find('/') != std::string::npos ||
          shard.find('\\') != std::string::npos || shard == "." || shard == "..")
        return bad_index("shard name '" + shard + "' is not a plain file name");
      if (!shard_index.count(shard)) {
        BITNET_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::open(join_path(dir, shard)));
        shard_index[shard] = m.files_.size();
        m.files_.push_back(std::move(f));
      }
    }
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      const SafetensorsFile& f = m.files_[shard_index[it.value().get<std::string>()]];
      const StTensor* t = f.find(it.key());
      if (!t)
        return corrupt("tensor '" + it.key() + "' is listed in '" + index_path +
                       "' but missing from '" + f.path() + "'");
      m.by_name_.emplace(it.key(), t);
    }
    return m;
  }
  if (index_map.status().code() != StatusCode::kNotFound) return index_map.status();

  const std::string single = join_path(dir, "model.safetensors");
  if (file_exists(single)) return open_file(single);

  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.size() > 12 && n.compare(n.size() - 12, 12, ".safetensors") == 0) names.push_back(n);
    }
    closedir(d);
  } else {
    return not_found("cannot open directory '" + dir + "'");
  }
  if (names.empty()) return not_found("no *.safetensors files in '" + dir + "'");
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    BITNET_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::open(join_path(dir, n)));
    m.files_.push_back(std::move(f));
  }
  for (const auto& f : m.files_)
    for (const auto& t : f.tensors())
      if (!m.by_name_.emplace(t.name, &t).second)
        return corrupt("tensor '" + t.name + "' appears in more than one file in '" + dir +
                       "' and there is no model.safetensors.index.json to choose");
  return m;
}

const StTensor* SafetensorsModel::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<std::string> SafetensorsModel::names() const {
  std::vector<std::string> out;
  out.reserve(by_name_.size());
  for (const auto& [n, t] : by_name_) out.push_back(n);
  return out;
}

Result<std::vector<float>> st_read_f32(const StTensor& t) {
  const size_t n = static_cast<size_t>(t.numel());
  std::vector<float> out(n);
  const uint8_t* p = t.data;
  switch (t.dtype) {
    case StDtype::F32:
      if (n) std::memcpy(out.data(), p, n * 4);
      break;
    case StDtype::F16:
    case StDtype::BF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = t.dtype == StDtype::F16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      break;
    case StDtype::F64:
      for (size_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, p + 8 * i, 8);
        out[i] = static_cast<float>(d);
      }
      break;
    default:
      return unsupported("tensor '" + t.name + "' has dtype " + st_dtype_name(t.dtype) +
                         "; a floating-point tensor (F32, F16, BF16, F64) is needed here");
  }
  return out;
}

}  // namespace bitnet
