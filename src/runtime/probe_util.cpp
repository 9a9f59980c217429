// Helpers shared by the device probes: /proc and /sys parsing, cgroup memory limits, and the
// small name/bandwidth tables for Arm and Apple CPUs (kept here, not in the macOS-only file, so
// they are compiled and tested everywhere).
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "runtime/probe_internal.h"

namespace bitnet::probe_detail {

std::string read_text_file(const char* path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return "";
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

uint64_t parse_size_suffix(std::string_view s) {
  std::string t = trim(s);
  if (t.empty() || !std::isdigit(static_cast<unsigned char>(t[0]))) return 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(t.c_str(), &end, 10);
  uint64_t mul = 1;
  switch (end ? *end : '\0') {
    case 'K':
    case 'k':
      mul = 1ull << 10;
      break;
    case 'M':
    case 'm':
      mul = 1ull << 20;
      break;
    case 'G':
    case 'g':
      mul = 1ull << 30;
      break;
    case '\0':
      break;
    default:
      return 0;
  }
  return static_cast<uint64_t>(v) * mul;
}

std::vector<int> parse_cpu_list(std::string_view s) {
  std::vector<int> out;
  std::string t = trim(s);
  size_t i = 0;
  while (i < t.size()) {
    size_t j = t.find(',', i);
    if (j == std::string::npos) j = t.size();
    const std::string part = t.substr(i, j - i);
    const size_t dash = part.find('-');
    char* end = nullptr;
    if (!part.empty()) {
      const long a = std::strtol(part.c_str(), &end, 10);
      long b = a;
      if (dash != std::string::npos) b = std::strtol(part.c_str() + dash + 1, &end, 10);
      if (a >= 0 && b >= a && b - a < 65536)
        for (long c = a; c <= b; ++c) out.push_back(static_cast<int>(c));
    }
    i = j + 1;
  }
  return out;
}

uint64_t meminfo_bytes(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      const std::string v = trim(line.substr(key.size() + 1));
      return std::strtoull(v.c_str(), nullptr, 10) * 1024;  // values are in kB
    }
    pos = eol + 1;
  }
  return 0;
}

namespace {

// "key value" line of a cgroup memory.stat file.
uint64_t stat_value(const std::string& text, std::string_view key) {
  std::istringstream in(text);
  std::string k;
  uint64_t v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

uint64_t read_u64_file(const std::string& path, bool* ok) {
  const std::string t = trim(read_text_file(path.c_str()));
  *ok = !t.empty() && std::isdigit(static_cast<unsigned char>(t[0]));
  return *ok ? std::strtoull(t.c_str(), nullptr, 10) : 0;
}

// Walks `dir` and its parents up to `root`, returning the smallest headroom of any limited level.
uint64_t headroom_in_hierarchy(const std::string& root, std::string rel, bool v2) {
  uint64_t best = std::numeric_limits<uint64_t>::max();
  for (;;) {
    const std::string dir = root + rel;
    bool ok_limit = false, ok_usage = false;
    const uint64_t limit =
        read_u64_file(dir + (v2 ? "/memory.max" : "/memory.limit_in_bytes"), &ok_limit);
    // v1 reports "no limit" as a huge page-rounded number.
    if (ok_limit && limit < (1ull << 62)) {
      const uint64_t usage =
          read_u64_file(dir + (v2 ? "/memory.current" : "/memory.usage_in_bytes"), &ok_usage);
      // File cache counted in usage can be reclaimed; docker/k8s subtract inactive_file too.
      const uint64_t inactive = stat_value(read_text_file((dir + "/memory.stat").c_str()),
                                           v2 ? "inactive_file" : "total_inactive_file");
      const uint64_t used = usage > inactive ? usage - inactive : 0;
      best = std::min(best, limit > used ? limit - used : 0);
    }
    if (rel.empty() || rel == "/") break;
    const size_t slash = rel.find_last_of('/');
    rel = slash == 0 || slash == std::string::npos ? "" : rel.substr(0, slash);
  }
  return best;
}

}  // namespace

uint64_t cgroup_memory_headroom() {
  const std::string cg = read_text_file("/proc/self/cgroup");
  uint64_t best = std::numeric_limits<uint64_t>::max();
  std::istringstream in(cg);
  std::string line;
  while (std::getline(in, line)) {
    // "<id>:<controllers>:<path>"
    const size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const std::string path = line.substr(b + 1);
    if (controllers.empty()) {  // cgroup v2 unified hierarchy
      best = std::min(best, headroom_in_hierarchy("/sys/fs/cgroup", path, true));
      best = std::min(best, headroom_in_hierarchy("/sys/fs/cgroup/unified", path, true));
    } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
      best = std::min(best, headroom_in_hierarchy("/sys/fs/cgroup/memory", path, false));
    }
  }
  return best;
}

std::string arm_vendor_name(unsigned implementer) {
  switch (implementer) {
    case 0x41:
      return "ARM";
    case 0x42:
      return "Broadcom";
    case 0x43:
      return "Cavium";
    case 0x48:
      return "HiSilicon";
    case 0x4e:
      return "NVIDIA";
    case 0x51:
      return "Qualcomm";
    case 0x61:
      return "Apple";
    case 0x6d:
      return "Microsoft";
    case 0xc0:
      return "Ampere";
  }
  return "";
}

std::string arm_cpu_name(unsigned implementer, unsigned part) {
  struct Part {
    unsigned impl, part;
    const char* name;
  };
  // Cores seen in servers, SBCs and phones that people run LLMs on (MIDR part numbers from the
  // Arm technical reference manuals). Graviton2 = N1, Graviton3 = V1, Graviton4 / Grace = V2.
  static constexpr Part kParts[] = {
      {0x41, 0xd03, "Cortex-A53"},  {0x41, 0xd05, "Cortex-A55"},  {0x41, 0xd07, "Cortex-A57"},
      {0x41, 0xd08, "Cortex-A72"},  {0x41, 0xd09, "Cortex-A73"},  {0x41, 0xd0a, "Cortex-A75"},
      {0x41, 0xd0b, "Cortex-A76"},  {0x41, 0xd0c, "Neoverse-N1"}, {0x41, 0xd0d, "Cortex-A77"},
      {0x41, 0xd40, "Neoverse-V1"}, {0x41, 0xd41, "Cortex-A78"},  {0x41, 0xd44, "Cortex-X1"},
      {0x41, 0xd46, "Cortex-A510"}, {0x41, 0xd47, "Cortex-A710"}, {0x41, 0xd48, "Cortex-X2"},
      {0x41, 0xd49, "Neoverse-N2"}, {0x41, 0xd4d, "Cortex-A715"}, {0x41, 0xd4e, "Cortex-X3"},
      {0x41, 0xd4f, "Neoverse-V2"}, {0x41, 0xd80, "Cortex-A520"}, {0x41, 0xd81, "Cortex-A720"},
      {0x41, 0xd82, "Cortex-X4"},   {0x41, 0xd84, "Neoverse-V3"}, {0x41, 0xd8e, "Neoverse-N3"},
      {0xc0, 0xac3, "Ampere-1"},    {0xc0, 0xac4, "Ampere-1a"},   {0x48, 0xd01, "TaiShan-v110"},
  };
  for (const Part& p : kParts)
    if (p.impl == implementer && p.part == part) return p.name;
  return "";
}

double apple_chip_bandwidth_gbps(std::string_view chip_name) {
  std::string n = trim(chip_name);
  if (n.rfind("Apple ", 0) == 0) n = n.substr(6);
  // Apple's published unified-memory bandwidth. Chips sold with two bandwidths (M3 Max 300/400,
  // M4 Max 410/546) are left out: the name alone cannot tell which one this is.
  struct Chip {
    const char* name;
    double gbps;
  };
  static constexpr Chip kChips[] = {
      {"M1", 68.25},   {"M1 Pro", 200}, {"M1 Max", 400},   {"M1 Ultra", 800},
      {"M2", 100},     {"M2 Pro", 200}, {"M2 Max", 400},   {"M2 Ultra", 800},
      {"M3", 100},     {"M3 Pro", 150}, {"M3 Ultra", 819}, {"M4", 120},
      {"M4 Pro", 273}, {"M5", 153},     {"M5 Pro", 307},   {"M5 Max", 614},
  };
  for (const Chip& c : kChips)
    if (n == c.name) return c.gbps;
  return 0;
}

}  // namespace bitnet::probe_detail
