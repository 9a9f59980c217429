// `bitnet inspect MODEL`: print GGUF metadata and the tensor table.
#include <cstdio>
#include <map>

#include "command.h"
#include "formats/gguf.h"

namespace bitnet::cli {
namespace {

std::string value_to_string(const GgufValue& v) {
  switch (v.type) {
    case GgufType::STRING: {
      std::string s(v.s.substr(0, 80));
      for (char& c : s) if (c == '\n') c = ' ';
      return "\"" + s + (v.s.size() > 80 ? "...\"" : "\"");
    }
    case GgufType::FLOAT32: case GgufType::FLOAT64: {
      char b[32];
      std::snprintf(b, sizeof b, "%g", v.f);
      return b;
    }
    case GgufType::BOOL: return v.u ? "true" : "false";
    case GgufType::INT8: case GgufType::INT16: case GgufType::INT32: case GgufType::INT64: return std::to_string(v.i);
    case GgufType::ARRAY: {
      std::string s = std::string("[") + gguf_type_name(v.elem_type) + " x " + std::to_string(v.count) + "]";
      if (v.elem_type == GgufType::STRING && !v.strs.empty()) {
        s += " ";
        for (size_t i = 0; i < v.strs.size() && i < 4; ++i) s += (i ? ", " : "") + std::string("\"") + std::string(v.strs[i]) + "\"";
        if (v.strs.size() > 4) s += ", ...";
      }
      return s;
    }
    default: return std::to_string(v.u);
  }
}

BITNET_COMMAND("inspect", "Print a GGUF file's metadata and tensor table", [](CLI::App& sub) {
  auto path = std::make_shared<std::string>();
  auto tensors_only = std::make_shared<bool>(false);
  sub.add_option("model", *path, "GGUF file")->required();
  sub.add_flag("--tensors", *tensors_only, "Only print the tensor table");
  return [path, tensors_only]() -> int {
    auto f = GgufFile::open(*path);
    if (!f) return fail(f.status().to_string());
    std::printf("file: %s\nversion: %u  alignment: %u  metadata: %zu  tensors: %zu  size: %zu bytes\n",
                path->c_str(), f->version(), f->alignment(), f->metadata().size(), f->tensors().size(), f->size());
    if (!*tensors_only) {
      std::printf("\nmetadata:\n");
      for (const auto& [k, v] : f->metadata())
        std::printf("  %-48.*s %-4s %s\n", (int)k.size(), k.data(),
                    v.type == GgufType::ARRAY ? "arr" : gguf_type_name(v.type), value_to_string(v).c_str());
    }
    std::printf("\ntensors:\n");
    std::map<std::string, std::pair<size_t, uint64_t>> by_type;
    for (const auto& t : f->tensors()) {
      std::string dims;
      for (size_t i = 0; i < t.ne.size(); ++i) dims += (i ? ", " : "") + std::to_string(t.ne[i]);
      const std::string ty = ggml_type_name(static_cast<uint32_t>(t.type)).value_or("?");
      std::printf("  %-32.*s %-6s [%s] %llu bytes @ %llu\n", (int)t.name.size(), t.name.data(), ty.c_str(),
                  dims.c_str(), (unsigned long long)t.nbytes, (unsigned long long)t.offset);
      by_type[ty].first++;
      by_type[ty].second += t.nbytes;
    }
    std::printf("\nby type:\n");
    for (const auto& [ty, cnt] : by_type)
      std::printf("  %-6s %4zu tensors %12llu bytes\n", ty.c_str(), cnt.first, (unsigned long long)cnt.second);
    return 0;
  };
});

}  // namespace
}  // namespace bitnet::cli
