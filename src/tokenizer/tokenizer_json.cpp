// Hugging Face tokenizer.json (+ tokenizer_config.json) -> Vocab, so an HF model directory works
// without a GGUF. Only byte-level BPE is accepted (Llama 3 / 2B4T); anything else is a clear
// kUnsupported error rather than a silently different tokenization.
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "core/strings.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/vocab.h"

namespace bitnet {

namespace {

using nlohmann::json;

Result<json> read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("'" + path + "': cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const json::exception& e) {
    return corrupt("'" + path + "': invalid JSON: " + e.what());
  }
}

// "bos_token": "<s>" or {"content": "<s>", ...}; null/absent -> "".
std::string token_content(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
  return {};
}

// Which pre-tokenizer does the tokenizer.json describe? Returns a Vocab::pre name.
Result<std::string> detect_pre(const json& pt, const std::string& path) {
  if (pt.is_null()) return unsupported("'" + path + "': no pre_tokenizer; only byte-level BPE is supported");
  std::vector<const json*> items;
  if (pt.value("type", "") == "Sequence" && pt.contains("pretokenizers") && pt["pretokenizers"].is_array()) {
    for (const auto& p : pt["pretokenizers"]) items.push_back(&p);
  } else {
    items.push_back(&pt);
  }
  bool byte_level = false, byte_level_regex = false;
  std::string split_regex;
  for (const json* p : items) {
    if (!p->is_object()) continue;
    std::string type = p->value("type", "");
    if (type == "ByteLevel") {
      byte_level = true;
      byte_level_regex = p->value("use_regex", true);
    } else if (type == "Split") {
      if (p->contains("pattern") && (*p)["pattern"].is_object() && (*p)["pattern"].contains("Regex"))
        split_regex = (*p)["pattern"]["Regex"].get<std::string>();
      else
        return unsupported("'" + path + "': Split pre-tokenizer without a regex is not supported");
    } else {
      return unsupported("'" + path + "': pre-tokenizer '" + type + "' is not supported");
    }
  }
  if (!byte_level) return unsupported("'" + path + "': not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer)");
  if (!split_regex.empty()) {
    if (split_regex == kLlama3SplitRegexHf) return std::string("llama-bpe");
    return unsupported("'" + path + "': unknown pre-tokenizer split regex '" + split_regex.substr(0, 80) + "'");
  }
  if (byte_level_regex) return std::string("gpt2");
  return unsupported("'" + path + "': ByteLevel pre-tokenizer without a split regex is not supported");
}

Status parse_tokenizer_json(const json& j, const std::string& path, Vocab* v) {
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
    return corrupt("'" + path + "': no \"model\" object (not a tokenizer.json?)");
  const json& m = j["model"];
  std::string type = m.value("type", "");
  if (type != "BPE") return unsupported("'" + path + "': tokenizer model type '" + type + "' is not supported (need BPE)");
  if (m.value("byte_fallback", false))
    return unsupported("'" + path + "': BPE with byte_fallback (SentencePiece-style) is not supported; use a GGUF");
  if (!m.contains("vocab") || !m["vocab"].is_object()) return corrupt("'" + path + "': model.vocab is not an object");
  if (!m.contains("merges") || !m["merges"].is_array()) return corrupt("'" + path + "': model.merges is not an array");
  BITNET_ASSIGN_OR_RETURN(v->pre, detect_pre(j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json(), path));
  v->model = "gpt2";

  // Collect (id, content, type) from the vocab and added_tokens; ids decide positions.
  struct Entry { std::string text; int32_t type = -1; };
  std::vector<Entry> by_id;
  auto put = [&](int64_t id, const std::string& text, TokenType t) -> Status {
    if (id < 0 || id > (1 << 24)) return corrupt(strfmt("'%s': token id %lld is out of range", path.c_str(), (long long)id));
    if (static_cast<size_t>(id) >= by_id.size()) by_id.resize(static_cast<size_t>(id) + 1);
    by_id[static_cast<size_t>(id)] = {text, static_cast<int32_t>(t)};
    return Status::ok();
  };
  for (const auto& [text, idj] : m["vocab"].items()) {
    if (!idj.is_number_integer()) return corrupt("'" + path + "': model.vocab[\"" + text + "\"] is not an integer");
    BITNET_RETURN_IF_ERROR(put(idj.get<int64_t>(), text, TokenType::kNormal));
  }
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const auto& a : j["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
          !a["content"].is_string())
        return corrupt("'" + path + "': malformed entry in added_tokens");
      bool special = a.value("special", false);
      BITNET_RETURN_IF_ERROR(put(a["id"].get<int64_t>(), a["content"].get<std::string>(),
                                 special ? TokenType::kControl : TokenType::kUserDefined));
    }
  }
  const size_t n = by_id.size();
  v->tokens.resize(n);
  v->token_types.resize(n);
  v->scores.assign(n, 0.0f);
  for (size_t i = 0; i < n; ++i) {
    if (by_id[i].type < 0) {  // a hole in the id space: an unused placeholder, as llama.cpp's converter does
      v->tokens[i] = strfmt("[PAD%zu]", i);
      v->token_types[i] = static_cast<int32_t>(TokenType::kUnused);
    } else {
      v->tokens[i] = std::move(by_id[i].text);
      v->token_types[i] = by_id[i].type;
    }
  }

  // Merges: "a b" strings (classic) or ["a", "b"] pairs (tokenizers >= 0.20).
  v->merges.reserve(m["merges"].size());
  for (const auto& me : m["merges"]) {
    if (me.is_string()) {
      v->merges.push_back(me.get<std::string>());
    } else if (me.is_array() && me.size() == 2 && me[0].is_string() && me[1].is_string()) {
      v->merges.push_back(me[0].get<std::string>() + " " + me[1].get<std::string>());
    } else {
      return corrupt("'" + path + "': malformed entry in model.merges");
    }
  }
  return Status::ok();
}

int32_t find_token(const Vocab& v, const std::string& text) {
  if (text.empty()) return -1;
  for (int32_t i = v.size() - 1; i >= 0; --i)  // added tokens live at the end
    if (v.tokens[static_cast<size_t>(i)] == text) return i;
  return -1;
}

}  // namespace

Result<Vocab> vocab_from_tokenizer_json(const std::string& path, const std::string& config_path) {
  BITNET_ASSIGN_OR_RETURN(json j, read_json(path));
  Vocab v;
  BITNET_RETURN_IF_ERROR(parse_tokenizer_json(j, path, &v));

  // Defaults from the tokenizer.json itself: Llama-3 names and the TemplateProcessing post-processor.
  v.bos_id = find_token(v, "<|begin_of_text|>");
  v.eos_id = find_token(v, "<|end_of_text|>");
  v.add_bos = false;
  if (j.contains("post_processor") && j["post_processor"].is_object()) {
    // The template may sit inside a Sequence; a leading SpecialToken in "single" means add BOS.
    std::vector<const json*> procs = {&j["post_processor"]};
    if (j["post_processor"].contains("processors") && j["post_processor"]["processors"].is_array())
      for (const auto& p : j["post_processor"]["processors"]) procs.push_back(&p);
    for (const json* p : procs) {
      if (!p->is_object() || p->value("type", "") != "TemplateProcessing") continue;
      if (p->contains("single") && (*p)["single"].is_array() && !(*p)["single"].empty()) {
        const json& first = (*p)["single"][0];
        if (first.is_object() && first.contains("SpecialToken")) {
          int32_t id = find_token(v, first["SpecialToken"].value("id", ""));
          if (id >= 0) {
            v.bos_id = id;
            v.add_bos = true;
          }
        }
      }
    }
  }

  std::string cfg = config_path;
  if (cfg.empty()) {
    auto slash = path.find_last_of('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    struct stat sb;
    if (::stat((dir + "/tokenizer_config.json").c_str(), &sb) == 0) cfg = dir + "/tokenizer_config.json";
  }
  if (!cfg.empty()) {
    BITNET_ASSIGN_OR_RETURN(json c, read_json(cfg));
    if (!c.is_object()) return corrupt("'" + cfg + "': expected a JSON object");
    if (c.contains("bos_token")) {
      std::string s = token_content(c["bos_token"]);
      if (!s.empty()) {
        v.bos_id = find_token(v, s);
        if (v.bos_id < 0) return corrupt("'" + cfg + "': bos_token '" + s + "' is not in the vocabulary");
      }
    }
    if (c.contains("eos_token")) {
      std::string s = token_content(c["eos_token"]);
      if (!s.empty()) {
        v.eos_id = find_token(v, s);
        if (v.eos_id < 0) return corrupt("'" + cfg + "': eos_token '" + s + "' is not in the vocabulary");
      }
    }
    if (c.contains("pad_token")) v.pad_id = find_token(v, token_content(c["pad_token"]));
    if (c.contains("add_bos_token") && c["add_bos_token"].is_boolean()) v.add_bos = c["add_bos_token"].get<bool>();
    if (c.contains("add_eos_token") && c["add_eos_token"].is_boolean()) v.add_eos = c["add_eos_token"].get<bool>();
    if (c.contains("chat_template")) {
      const json& t = c["chat_template"];
      if (t.is_string()) {
        v.chat_template = t.get<std::string>();
      } else if (t.is_array()) {  // [{"name": "default", "template": "..."}, ...]
        for (const auto& e : t)
          if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string())
            v.chat_template = e["template"].get<std::string>();
      }
    }
  }
  if (v.add_bos && v.bos_id < 0) v.add_bos = false;
  BITNET_RETURN_IF_ERROR(v.validate());
  return v;
}

}  // namespace bitnet
