// `bitnet tokenize`, `bitnet detokenize`, `bitnet export-vocab`: the tokenizer on its own, for
// checking token ids against other implementations and for making vocab-only GGUFs.
// MODEL may be a GGUF (vocab-only or a full model), a tokenizer.json, or an HF directory.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "core/strings.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace bitnet::cli {
namespace {

Result<std::unique_ptr<Tokenizer>> open_tokenizer(const std::string& path) {
  BITNET_ASSIGN_OR_RETURN(Vocab v, load_vocab(path));
  return Tokenizer::create(std::move(v));
}

// Length of the valid UTF-8 sequence starting at s[i] (0 if invalid or truncated).
size_t valid_utf8_len(const std::string& s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) len = 2;
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
  else return 0;
  if (i + len > s.size()) return 0;
  const auto c1 = static_cast<unsigned char>(s[i + 1]);
  if (c1 < lo || c1 > hi) return 0;
  for (size_t k = 2; k < len; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return len;
}

// A token's bytes as a JSON-style quoted string: valid UTF-8 is kept, control characters and
// bytes of incomplete/invalid sequences are escaped (\n, \t, \u00XX, \xNN).
std::string quote_piece(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
      ++i;
    } else if (c == '\n') { out += "\\n"; ++i; }
    else if (c == '\t') { out += "\\t"; ++i; }
    else if (c == '\r') { out += "\\r"; ++i; }
    else if (c < 0x20 || c == 0x7F) { out += strfmt("\\u%04X", c); ++i; }
    else if (c < 0x80) { out += char(c); ++i; }
    else {
      const size_t len = valid_utf8_len(s, i);
      if (len) {
        out.append(s, i, len);
        i += len;
      } else {
        out += strfmt("\\x%02X", c);
        ++i;
      }
    }
  }
  return out + "\"";
}

struct TokenizeOpts {
  std::string model, prompt;
  bool ids_only = false, no_bos = false, no_special = false;
};

int run_tokenize(const TokenizeOpts& o) {
  auto tok = open_tokenizer(o.model);
  if (!tok) return fail(tok.status().message());
  const Tokenizer& t = **tok;
  std::vector<int32_t> ids = t.encode(o.prompt, t.add_bos_default() && !o.no_bos, !o.no_special);
  std::string line = "[";
  for (size_t i = 0; i < ids.size(); ++i) line += (i ? ", " : "") + std::to_string(ids[i]);
  line += "]\n";
  std::fputs(line.c_str(), stdout);
  if (!o.ids_only)
    for (int32_t id : ids) std::printf("%8d -> %s\n", id, quote_piece(t.token_to_piece(id)).c_str());
  return 0;
}

// "[1, 2, 3]", "1,2,3" or "1 2 3".
Result<std::vector<int64_t>> parse_ids(const std::string& s) {
  std::vector<int64_t> ids;
  size_t i = 0, n = s.size();
  auto skip_ws = [&] { while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i; };
  skip_ws();
  const bool bracket = i < n && s[i] == '[';
  if (bracket) ++i;
  bool need_value = false;
  for (;;) {
    skip_ws();
    if (i >= n || s[i] == ']') break;
    size_t start = i;
    if (s[i] == '-' || s[i] == '+') ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start || (i == start + 1 && (s[start] == '-' || s[start] == '+')) || i - start > 12)
      return invalid_argument("--ids: expected a token id at '" + s.substr(start, 16) + "'");
    ids.push_back(std::stoll(s.substr(start, i - start)));
    need_value = false;
    skip_ws();
    if (i < n && s[i] == ',') {
      ++i;
      need_value = true;
    }
  }
  if (need_value) return invalid_argument("--ids: trailing comma");
  if (bracket) {
    if (i >= n || s[i] != ']') return invalid_argument("--ids: missing ']'");
    ++i;
  } else if (i < n) {
    return invalid_argument("--ids: unexpected ']'");
  }
  skip_ws();
  if (i != n) return invalid_argument("--ids: unexpected text after the list");
  return ids;
}

struct DetokenizeOpts {
  std::string model, ids;
  bool no_special = false;
};

int run_detokenize(const DetokenizeOpts& o) {
  auto parsed = parse_ids(o.ids);
  if (!parsed) return fail(parsed.status().message());
  auto tok = open_tokenizer(o.model);
  if (!tok) return fail(tok.status().message());
  const Tokenizer& t = **tok;
  std::vector<int32_t> ids;
  for (int64_t id : *parsed) {
    if (id < 0 || id >= t.n_vocab())
      return fail(strfmt("token id %lld is out of range (the vocabulary has %d tokens)", (long long)id, t.n_vocab()));
    ids.push_back(static_cast<int32_t>(id));
  }
  std::string text = t.decode(ids, !o.no_special);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

struct ExportOpts {
  std::string model, out;
};

int run_export(const ExportOpts& o) {
  auto v = load_vocab(o.model);
  if (!v) return fail(v.status().message());
  // Building a tokenizer validates what encoding needs (byte tokens, merges, pre-tokenizer).
  if (auto t = Tokenizer::create(*v); !t) return fail(t.status().message());
  if (Status st = write_vocab_gguf(*v, o.out); !st) return fail(st.message());
  std::fprintf(stderr, "wrote %s: %d tokens, %zu merges, model %s\n", o.out.c_str(), v->size(), v->merges.size(),
               v->model.c_str());
  return 0;
}

BITNET_COMMAND("tokenize", "Print the token ids of a text (JSON array), then id -> piece lines", [](CLI::App& sub) {
  auto o = std::make_shared<TokenizeOpts>();
  sub.add_option("-m,--model", o->model, "GGUF model or vocab, tokenizer.json, or HF directory")->required();
  sub.add_option("-p,--prompt", o->prompt, "Text to tokenize")->required();
  sub.add_flag("--ids-only", o->ids_only, "Print only the JSON array of ids");
  sub.add_flag("--no-bos", o->no_bos, "Do not prepend BOS");
  sub.add_flag("--no-special", o->no_special, "Treat special-token text such as <|eot_id|> as plain text");
  return [o]() { return run_tokenize(*o); };
});

BITNET_COMMAND("detokenize", "Print the text of a list of token ids", [](CLI::App& sub) {
  auto o = std::make_shared<DetokenizeOpts>();
  sub.add_option("-m,--model", o->model, "GGUF model or vocab, tokenizer.json, or HF directory")->required();
  sub.add_option("--ids", o->ids, "Token ids: \"[1, 2, 3]\", \"1,2,3\" or \"1 2 3\"")->required();
  sub.add_flag("--no-special", o->no_special, "Leave out control tokens such as <|begin_of_text|>");
  return [o]() { return run_detokenize(*o); };
});

BITNET_COMMAND("export-vocab", "Write the vocabulary of a GGUF / tokenizer.json as a vocab-only GGUF",
               [](CLI::App& sub) {
  auto o = std::make_shared<ExportOpts>();
  sub.add_option("-m,--model", o->model, "GGUF, tokenizer.json, or HF directory")->required();
  sub.add_option("-o,--output", o->out, "Output GGUF path")->required();
  return [o]() { return run_export(*o); };
});

}  // namespace
}  // namespace bitnet::cli
