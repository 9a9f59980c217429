// Vocab <-> GGUF (tokenizer.ggml.* keys, spec §3.3 / §6.3) and the format-sniffing loader.
#include "tokenizer/vocab.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include "core/strings.h"
#include "formats/gguf.h"

namespace bitnet {

namespace {

constexpr const char* kModel = "tokenizer.ggml.model";
constexpr const char* kPre = "tokenizer.ggml.pre";
constexpr const char* kTokens = "tokenizer.ggml.tokens";
constexpr const char* kTypes = "tokenizer.ggml.token_type";
constexpr const char* kScores = "tokenizer.ggml.scores";
constexpr const char* kMerges = "tokenizer.ggml.merges";
constexpr const char* kBos = "tokenizer.ggml.bos_token_id";
constexpr const char* kEos = "tokenizer.ggml.eos_token_id";
constexpr const char* kEot = "tokenizer.ggml.eot_token_id";
constexpr const char* kPad = "tokenizer.ggml.padding_token_id";
constexpr const char* kUnk = "tokenizer.ggml.unknown_token_id";
constexpr const char* kAddBos = "tokenizer.ggml.add_bos_token";
constexpr const char* kAddEos = "tokenizer.ggml.add_eos_token";
constexpr const char* kAddSpacePrefix = "tokenizer.ggml.add_space_prefix";
constexpr const char* kChatTemplate = "tokenizer.chat_template";

Status prefixed(const std::string& label, const Status& st) {
  return {st.code(), "tokenizer in '" + label + "': " + st.message()};
}

// Optional special-token id. Absent, negative or 0xFFFFFFFF (u32 -1) = none; else must be < n.
Status read_id(const GgufFile& f, const char* key, int64_t n, int32_t* out) {
  *out = -1;
  if (!f.find(key)) return Status::ok();
  auto v = f.get_int(key);
  if (!v.is_ok()) return v.status();
  int64_t id = *v;
  if (id < 0 || id == 0xFFFFFFFFll) return Status::ok();
  if (id >= n)
    return corrupt(strfmt("%s = %lld is out of range (vocabulary has %lld tokens)", key,
                          (long long)id, (long long)n));
  *out = static_cast<int32_t>(id);
  return Status::ok();
}

Status read_bool(const GgufFile& f, const char* key, bool* out) {
  if (!f.find(key)) return Status::ok();  // keep default
  BITNET_ASSIGN_OR_RETURN(*out, f.get_bool(key));
  return Status::ok();
}

Status vocab_from_gguf_impl(const GgufFile& f, Vocab* v) {
  BITNET_ASSIGN_OR_RETURN(v->model, f.get_string(kModel));
  if (v->model != "gpt2" && v->model != "llama")
    return unsupported("tokenizer model '" + v->model +
                       "' is not supported (supported: gpt2 = byte-level BPE, llama = SentencePiece)");
  if (f.find(kPre)) {
    BITNET_ASSIGN_OR_RETURN(v->pre, f.get_string(kPre));
  }

  BITNET_ASSIGN_OR_RETURN(auto toks, f.get_string_array(kTokens));
  if (toks.empty()) return corrupt(std::string(kTokens) + " is empty");
  if (toks.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    return corrupt(std::string(kTokens) + " has too many entries");
  const int64_t n = static_cast<int64_t>(toks.size());
  v->tokens.assign(toks.begin(), toks.end());

  if (f.find(kTypes)) {
    BITNET_ASSIGN_OR_RETURN(v->token_types, f.get_i32_array(kTypes));
    if (static_cast<int64_t>(v->token_types.size()) != n)
      return corrupt(strfmt("%s has %zu entries but %s has %lld", kTypes, v->token_types.size(),
                            kTokens, (long long)n));
  } else {
    v->token_types.assign(static_cast<size_t>(n), static_cast<int32_t>(TokenType::kNormal));
  }
  if (f.find(kScores)) {
    BITNET_ASSIGN_OR_RETURN(v->scores, f.get_f32_array(kScores));
    if (static_cast<int64_t>(v->scores.size()) != n)
      return corrupt(strfmt("%s has %zu entries but %s has %lld", kScores, v->scores.size(),
                            kTokens, (long long)n));
  } else {
    v->scores.assign(static_cast<size_t>(n), 0.0f);
  }
  if (f.find(kMerges)) {
    BITNET_ASSIGN_OR_RETURN(auto m, f.get_string_array(kMerges));
    v->merges.assign(m.begin(), m.end());
  } else if (v->model == "gpt2") {
    return not_found(std::string(kMerges) + " is missing (required for byte-level BPE)");
  }

  BITNET_RETURN_IF_ERROR(read_id(f, kBos, n, &v->bos_id));
  BITNET_RETURN_IF_ERROR(read_id(f, kEos, n, &v->eos_id));
  BITNET_RETURN_IF_ERROR(read_id(f, kEot, n, &v->eot_id));
  BITNET_RETURN_IF_ERROR(read_id(f, kPad, n, &v->pad_id));
  BITNET_RETURN_IF_ERROR(read_id(f, kUnk, n, &v->unk_id));
  BITNET_RETURN_IF_ERROR(read_bool(f, kAddBos, &v->add_bos));
  BITNET_RETURN_IF_ERROR(read_bool(f, kAddEos, &v->add_eos));
  BITNET_RETURN_IF_ERROR(read_bool(f, kAddSpacePrefix, &v->add_space_prefix));
  if (f.find(kChatTemplate)) {
    BITNET_ASSIGN_OR_RETURN(v->chat_template, f.get_string(kChatTemplate));
  }
  return v->validate();
}

}  // namespace

Status Vocab::validate() const {
  if (model != "gpt2" && model != "llama")
    return unsupported("tokenizer model '" + model + "' is not supported (supported: gpt2, llama)");
  const size_t n = tokens.size();
  if (n == 0) return corrupt("vocabulary is empty");
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max())) return corrupt("vocabulary too large");
  if (token_types.size() != n)
    return corrupt(strfmt("token_type has %zu entries but there are %zu tokens", token_types.size(), n));
  if (scores.size() != n)
    return corrupt(strfmt("scores has %zu entries but there are %zu tokens", scores.size(), n));
  for (size_t i = 0; i < n; ++i)
    if (token_types[i] < 0 || token_types[i] > 6)
      return corrupt(strfmt("token %zu has invalid token type %d (expected 0..6)", i, token_types[i]));
  const struct { const char* name; int32_t id; } ids[] = {
      {"bos", bos_id}, {"eos", eos_id}, {"eot", eot_id}, {"padding", pad_id}, {"unknown", unk_id}};
  for (const auto& x : ids)
    if (x.id < -1 || x.id >= static_cast<int32_t>(n))
      return corrupt(strfmt("%s token id %d is out of range (vocabulary has %zu tokens)", x.name, x.id, n));
  return Status::ok();
}

Result<Vocab> vocab_from_gguf(const GgufFile& file) {
  Vocab v;
  Status st = vocab_from_gguf_impl(file, &v);
  if (!st.is_ok()) return prefixed(file.path(), st);
  return v;
}

void vocab_to_gguf(const Vocab& v, GgufWriter& w) {
  w.set_string(kModel, v.model);
  if (!v.pre.empty()) w.set_string(kPre, v.pre);
  w.set_string_array(kTokens, v.tokens);
  w.set_f32_array(kScores, v.scores);
  w.set_i32_array(kTypes, v.token_types);
  if (!v.merges.empty() || v.model == "gpt2") w.set_string_array(kMerges, v.merges);
  // Ids as u32, as llama.cpp's converters write them.
  if (v.bos_id >= 0) w.set_u32(kBos, static_cast<uint32_t>(v.bos_id));
  if (v.eos_id >= 0) w.set_u32(kEos, static_cast<uint32_t>(v.eos_id));
  if (v.eot_id >= 0) w.set_u32(kEot, static_cast<uint32_t>(v.eot_id));
  if (v.pad_id >= 0) w.set_u32(kPad, static_cast<uint32_t>(v.pad_id));
  if (v.unk_id >= 0) w.set_u32(kUnk, static_cast<uint32_t>(v.unk_id));
  w.set_bool(kAddBos, v.add_bos);
  w.set_bool(kAddEos, v.add_eos);
  if (v.model == "llama") w.set_bool(kAddSpacePrefix, v.add_space_prefix);
  if (!v.chat_template.empty()) w.set_string(kChatTemplate, v.chat_template);
}

Status write_vocab_gguf(const Vocab& vocab, const std::string& path) {
  BITNET_RETURN_IF_ERROR(vocab.validate());
  GgufWriter w;
  vocab_to_gguf(vocab, w);
  return w.write(path);
}

Result<Vocab> load_vocab(const std::string& path) {
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0) return not_found("'" + path + "': no such file or directory");
  if (S_ISDIR(sb.st_mode)) {
    std::string p = path + "/tokenizer.json";
    if (::stat(p.c_str(), &sb) != 0)
      return not_found("directory '" + path + "' has no tokenizer.json");
    return vocab_from_tokenizer_json(p);
  }
  char magic[4] = {};
  FILE* fp = std::fopen(path.c_str(), "rb");
  if (!fp) return io_error("'" + path + "': cannot open: " + std::strerror(errno));
  size_t got = std::fread(magic, 1, 4, fp);
  std::fclose(fp);
  if (got == 4 && std::memcmp(magic, "GGUF", 4) == 0) {
    BITNET_ASSIGN_OR_RETURN(GgufFile f, GgufFile::open(path));
    return vocab_from_gguf(f);
  }
  return vocab_from_tokenizer_json(path);
}

}  // namespace bitnet
