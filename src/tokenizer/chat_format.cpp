// Chat formats and the template recognizer.
//
// Which format and why (spec §6.5, §9 pitfall 8):
//  * Llama-3 header markers in the template -> kLlama3 (a Llama-3-style fine-tune says so itself).
//  * The official 2B4T GGUF embeds a template rendering "Human: ...\n\nBITNETAssistant: " + EOS.
//    That template was written by bitnet.cpp's converter for any "bitnet" arch; it is NOT the
//    format the model was trained on, and the model answers poorly with it (ik_llama.cpp issue
//    339). We therefore map it to kBitnet2B4T, the trained format from HF tokenizer_config.json.
//  * The HF 2B4T template itself ("Role: content<|eot_id|>", capitalized roles) -> kBitnet2B4T.
//  * No template / unknown template: archs bitnet-b1.58 and bitnet-25 (2B4T) -> kBitnet2B4T;
//    anything else also falls back to kBitnet2B4T, the project default, and the reason says so.
#include "tokenizer/chat_format.h"

#include <cctype>

namespace bitnet {

namespace {

bool contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

// Python str.strip() (what Jinja's `trim` does): ASCII whitespace incl. \x1c-\x1f, plus the
// Unicode White_Space characters, from both ends.
size_t space_len_at(std::string_view s, size_t i) {
  const auto c = uint8_t(s[i]);
  if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return 1;
  auto at = [&](std::string_view seq) { return s.substr(i, seq.size()) == seq ? seq.size() : 0; };
  static constexpr std::string_view kMulti[] = {
      "\xC2\x85", "\xC2\xA0", "\xE1\x9A\x80", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\xAF",
      "\xE2\x81\x9F", "\xE3\x80\x80"};
  for (auto seq : kMulti)
    if (size_t n = at(seq)) return n;
  if (c == 0xE2 && i + 2 < s.size() && uint8_t(s[i + 1]) == 0x80 && uint8_t(s[i + 2]) >= 0x80 &&
      uint8_t(s[i + 2]) <= 0x8A)
    return 3;  // U+2000..U+200A
  return 0;
}

std::string_view python_strip(std::string_view s) {
  size_t b = 0;
  while (b < s.size()) {
    size_t n = space_len_at(s, b);
    if (!n) break;
    b += n;
  }
  size_t e = s.size();
  while (e > b) {
    // Find the start of the last code point, then test it.
    size_t k = e - 1;
    while (k > b && (uint8_t(s[k]) & 0xC0) == 0x80 && e - k < 4) --k;
    size_t n = space_len_at(s, k);
    if (n != e - k) break;
    e = k;
  }
  return s.substr(b, e - b);
}

// Jinja `capitalize` (Python str.capitalize) for ASCII: first letter upper, the rest lower.
std::string capitalize(std::string_view s) {
  std::string out(s);
  for (size_t i = 0; i < out.size(); ++i) {
    auto c = static_cast<unsigned char>(out[i]);
    if (c >= 0x80) continue;
    out[i] = char(i == 0 ? std::toupper(c) : std::tolower(c));
  }
  return out;
}

}  // namespace

const char* chat_format_name(ChatFormat f) {
  switch (f) {
    case ChatFormat::kBitnet2B4T: return "bitnet-2b4t";
    case ChatFormat::kLlama3: return "llama3";
  }
  return "?";
}

Result<ChatFormat> chat_format_from_name(std::string_view name) {
  if (name == "bitnet-2b4t" || name == "bitnet") return ChatFormat::kBitnet2B4T;
  if (name == "llama3" || name == "llama-3") return ChatFormat::kLlama3;
  return invalid_argument("unknown chat format '" + std::string(name) + "' (known: bitnet-2b4t, llama3)");
}

std::string format_chat(ChatFormat format, std::span<const ChatMessage> messages, bool add_generation_prompt) {
  std::string out;
  for (const ChatMessage& m : messages) {
    std::string_view content = python_strip(m.content);
    if (format == ChatFormat::kLlama3) {
      out += "<|start_header_id|>";
      out += m.role;
      out += "<|end_header_id|>\n\n";
      out += content;
      out += "<|eot_id|>";
    } else {
      out += capitalize(m.role);
      out += ": ";
      out += content;
      out += "<|eot_id|>";
    }
  }
  if (add_generation_prompt)
    out += format == ChatFormat::kLlama3 ? "<|start_header_id|>assistant<|end_header_id|>\n\n" : "Assistant: ";
  return out;
}

ChatFormatChoice detect_chat_format(std::string_view tmpl, std::string_view arch) {
  if (contains(tmpl, "<|start_header_id|>") && contains(tmpl, "<|end_header_id|>"))
    return {ChatFormat::kLlama3, "chat template uses Llama-3 header tokens"};
  if (contains(tmpl, "BITNETAssistant"))
    return {ChatFormat::kBitnet2B4T,
            "GGUF carries bitnet.cpp's Human:/BITNETAssistant: template, which is not the trained "
            "format; using the 2B4T trained format (spec 6.5)"};
  if (contains(tmpl, "<|eot_id|>") && contains(tmpl, "Assistant: "))
    return {ChatFormat::kBitnet2B4T, "chat template is the 2B4T 'Role: content<|eot_id|>' format"};
  const bool b2b4t = arch == "bitnet-b1.58" || arch == "bitnet-25";
  if (tmpl.empty())
    return {ChatFormat::kBitnet2B4T, b2b4t ? "no chat template; arch " + std::string(arch) + " uses the 2B4T format"
                                           : "no chat template; defaulting to the 2B4T format"};
  return {ChatFormat::kBitnet2B4T, b2b4t ? "unrecognized chat template; arch " + std::string(arch) +
                                               " uses the 2B4T format"
                                         : "unrecognized chat template; defaulting to the 2B4T format"};
}

}  // namespace bitnet
