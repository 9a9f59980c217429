// PCRE2 pre-tokenizer. Two deliberate deviations from writing the HF regex verbatim:
//  * `(?i:'s|...)` becomes explicit `'[sS]|...`: PCRE2's caseless matching would also fold
//    U+017F (long s) and U+212A (Kelvin) into s/k; llama.cpp and llama3-tokenizer-js expand the
//    group to ASCII pairs the same way.
//  * `\s` becomes the Unicode White_Space set spelled out. PCRE2's UCP `\s` adds U+180E (a format
//    character since Unicode 6.3); tiktoken/HF (Rust/Oniguruma) and llama.cpp use White_Space.
// Invalid UTF-8 is handled with PCRE2_MATCH_INVALID_UTF: invalid sequences never match, and the
// bytes left between matches become pieces of their own (see split()).
#include "tokenizer/pretokenizer.h"

#include <pcre2.h>

#include "core/check.h"
#include "core/strings.h"

namespace bitnet {

namespace {

#define WS "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

constexpr const char* kLlama3Pattern =
    "'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])"
    "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
    "|\\p{N}{1,3}"
    "| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*"
    "|[" WS "]*[\\r\\n]+"
    "|[" WS "]+(?![^" WS "])"
    "|[" WS "]+";

constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+|[" WS "]+(?![^" WS "])|[" WS "]+";

#undef WS

pcre2_code* code_of(void* p) { return static_cast<pcre2_code*>(p); }

}  // namespace

Result<PreTokenizerKind> pre_tokenizer_kind(const std::string& pre) {
  if (pre.empty() || pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3" || pre == "default")
    return PreTokenizerKind::kLlama3;
  if (pre == "gpt2" || pre == "gpt-2") return PreTokenizerKind::kGpt2;
  return unsupported("byte-level BPE pre-tokenizer '" + pre +
                     "' is not supported (supported: llama-bpe/llama3, gpt2)");
}

Result<std::unique_ptr<PreTokenizer>> PreTokenizer::create(PreTokenizerKind kind) {
  const char* pattern = kind == PreTokenizerKind::kLlama3 ? kLlama3Pattern : kGpt2Pattern;
  int err = 0;
  PCRE2_SIZE err_off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_off, nullptr);
  if (!code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof buf);
    return Status(StatusCode::kInternal, strfmt("pre-tokenizer regex does not compile at %zu: %s", (size_t)err_off,
                                        reinterpret_cast<const char*>(buf)));
  }
  std::unique_ptr<PreTokenizer> p(new PreTokenizer());
  p->code_ = code;
  // JIT is optional (some platforms lack it); the interpreter gives identical results.
  p->jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return p;
}

PreTokenizer::~PreTokenizer() {
  if (code_) pcre2_code_free(code_of(code_));
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& out) const {
  if (text.empty()) return;
  pcre2_code* code = code_of(code_);
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
  BITNET_CHECK(md != nullptr);
  const auto* subj = reinterpret_cast<PCRE2_SPTR>(text.data());
  const size_t n = text.size();
  size_t pos = 0;
  while (pos < n) {
    int rc = jit_ ? pcre2_jit_match(code, subj, n, pos, 0, md, nullptr)
                  : pcre2_match(code, subj, n, pos, 0, md, nullptr);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH && jit_)  // e.g. JIT stack exhausted: retry interpreted
      rc = pcre2_match(code, subj, n, pos, 0, md, nullptr);
    if (rc < 0) {
      // No match (only invalid UTF-8 left) or a resource limit: the rest is one piece. Either
      // way every byte is still covered, so encoding stays total and decodes back exactly.
      out.emplace_back(text.substr(pos));
      break;
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    size_t ms = ov[0], me = ov[1];
    if (ms > pos) out.emplace_back(text.substr(pos, ms - pos));  // unmatched bytes before the match
    if (me <= ms) {  // empty match (not produced by our patterns): consume one byte to progress
      out.emplace_back(text.substr(ms, 1));
      pos = ms + 1;
      continue;
    }
    out.emplace_back(text.substr(ms, me - ms));
    pos = me;
  }
  pcre2_match_data_free(md);
}

}  // namespace bitnet
