// Chat prompt formatting for BitNet models: a fixed set of known formats, selected from the
// GGUF's tokenizer.chat_template by a recognizer (no Jinja engine). Spec §6.5 and pitfall 8.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace bitnet {

struct ChatMessage {
  std::string role;     // "system" | "user" | "assistant" (others are rendered the same way)
  std::string content;
};

enum class ChatFormat {
  // The format 2B4T was trained with (HF tokenizer_config.json; MS ChatFormat):
  //   "System: ...<|eot_id|>User: ...<|eot_id|>Assistant: "
  kBitnet2B4T,
  // Llama 3 instruct: "<|start_header_id|>user<|end_header_id|>\n\n...<|eot_id|>"
  kLlama3,
};

const char* chat_format_name(ChatFormat f);
// Accepts "bitnet-2b4t" (alias "bitnet") and "llama3".
Result<ChatFormat> chat_format_from_name(std::string_view name);

// Renders messages into prompt text. BOS is NOT included: the caller encodes the result with
// add_bos = true and parse_special = true (exactly one BOS; spec §6.4).
// add_generation_prompt appends the header of the assistant's turn.
std::string format_chat(ChatFormat format, std::span<const ChatMessage> messages, bool add_generation_prompt);

struct ChatFormatChoice {
  ChatFormat format;
  std::string reason;  // one line, for logs: why this format was chosen
};

// Picks a format from the GGUF's tokenizer.chat_template (may be empty) and general.architecture.
ChatFormatChoice detect_chat_format(std::string_view chat_template, std::string_view arch);

}  // namespace bitnet
