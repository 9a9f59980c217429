// Chat formats: exact prompt strings, template detection (spec §6.5, pitfall 8), and the HF
// transformers ground truth for the 2B4T format encoded with the Llama-3 vocabulary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "formats/gguf.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace bitnet {
namespace {

const std::vector<ChatMessage> kConversation = {
    {"system", "You are a helpful AI assistant."},
    {"user", "How are you?"},
    {"assistant", "  I'm fine, thanks.\n"},
    {"user", "\tTell me a joke. \u3000"},
};

TEST(ChatFormat, Bitnet2B4TExactString) {
  EXPECT_EQ(format_chat(ChatFormat::kBitnet2B4T, kConversation, true),
            "System: You are a helpful AI assistant.<|eot_id|>User: How are you?<|eot_id|>"
            "Assistant: I'm fine, thanks.<|eot_id|>User: Tell me a joke.<|eot_id|>Assistant: ");
  EXPECT_EQ(format_chat(ChatFormat::kBitnet2B4T, std::vector<ChatMessage>{{"user", "Hi"}}, false), "User: Hi<|eot_id|>");
  EXPECT_EQ(format_chat(ChatFormat::kBitnet2B4T, {}, true), "Assistant: ");
  // Jinja `capitalize`: first letter upper, the rest lower.
  EXPECT_EQ(format_chat(ChatFormat::kBitnet2B4T, std::vector<ChatMessage>{{"USER", "x"}, {"tool", "y"}}, false),
            "User: x<|eot_id|>Tool: y<|eot_id|>");
  // Whitespace-only content trims to nothing.
  EXPECT_EQ(format_chat(ChatFormat::kBitnet2B4T, std::vector<ChatMessage>{{"user", " \n\t "}}, false),
            "User: <|eot_id|>");
}

TEST(ChatFormat, Llama3ExactString) {
  EXPECT_EQ(format_chat(ChatFormat::kLlama3, kConversation, true),
            "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful AI assistant.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nI'm fine, thanks.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(format_chat(ChatFormat::kLlama3, std::vector<ChatMessage>{{"user", "Hi"}}, false),
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
}

TEST(ChatFormat, Names) {
  EXPECT_EQ(*chat_format_from_name("llama3"), ChatFormat::kLlama3);
  EXPECT_EQ(*chat_format_from_name("bitnet-2b4t"), ChatFormat::kBitnet2B4T);
  EXPECT_EQ(*chat_format_from_name("bitnet"), ChatFormat::kBitnet2B4T);
  EXPECT_FALSE(chat_format_from_name("chatml").is_ok());
  EXPECT_STREQ(chat_format_name(ChatFormat::kLlama3), "llama3");
  EXPECT_STREQ(chat_format_name(ChatFormat::kBitnet2B4T), "bitnet-2b4t");
}

TEST(ChatFormat, DetectionFromTemplate) {
  // What bitnet.cpp's converter embeds in the official 2B4T GGUF (spec §6.5 item 2): NOT the
  // trained format, so it must map to the 2B4T trained format.
  const char* gguf_2b4t =
      "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}"
      "{% if message['role'] == 'user' %}{{ 'Human: ' + message['content'] + '\\n\\nBITNETAssistant: ' + eos_token }}"
      "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}";
  auto c = detect_chat_format(gguf_2b4t, "bitnet-b1.58");
  EXPECT_EQ(c.format, ChatFormat::kBitnet2B4T);
  EXPECT_NE(c.reason.find("BITNETAssistant"), std::string::npos);
  EXPECT_EQ(detect_chat_format(gguf_2b4t, "llama").format, ChatFormat::kBitnet2B4T);

  // HF tokenizer_config.json style 2B4T template.
  const char* hf_2b4t =
      "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}{{ message['role'] | capitalize + ': ' + "
      "message['content'] | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}";
  EXPECT_EQ(detect_chat_format(hf_2b4t, "").format, ChatFormat::kBitnet2B4T);

  const char* llama3 =
      "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
      "message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{{ content }}{% endfor %}";
  EXPECT_EQ(detect_chat_format(llama3, "bitnet-b1.58").format, ChatFormat::kLlama3);

  // No template: 2B4T archs use the trained format; unknown templates fall back to it too.
  EXPECT_EQ(detect_chat_format("", "bitnet-b1.58").format, ChatFormat::kBitnet2B4T);
  EXPECT_EQ(detect_chat_format("", "bitnet-25").format, ChatFormat::kBitnet2B4T);
  auto unk = detect_chat_format("{{ '<|im_start|>' }}", "bitnet");
  EXPECT_EQ(unk.format, ChatFormat::kBitnet2B4T);
  EXPECT_NE(unk.reason.find("unrecognized"), std::string::npos);
}

// ---- with the real Llama-3 vocabulary (made by tools/tokenizer/prepare.sh) ----

std::string vocab_path() {
  const char* e = std::getenv("BITNET_TOKENIZER_DATA");
  return (e ? std::string(e) : std::string(BITNET_SOURCE_DIR) + "/build/vocab") + "/llama3-vocab.gguf";
}

std::unique_ptr<Tokenizer> llama3_tokenizer() {
  const std::string p = vocab_path();
  if (!std::ifstream(p).good()) {
    ADD_FAILURE() << "tokenizer reference data missing: '" << p
                  << "'. Generate it with `tools/tokenizer/prepare.sh build/vocab` (needs node + npm) or point "
                     "BITNET_TOKENIZER_DATA at a prepared directory.";
    return nullptr;
  }
  auto f = GgufFile::open(p);
  if (!f.is_ok()) { ADD_FAILURE() << f.status().to_string(); return nullptr; }
  auto v = vocab_from_gguf(*f);
  if (!v.is_ok()) { ADD_FAILURE() << v.status().to_string(); return nullptr; }
  auto t = Tokenizer::create(*v);
  if (!t.is_ok()) { ADD_FAILURE() << t.status().to_string(); return nullptr; }
  return std::move(t).value();
}

TEST(ChatFormat, HfTransformersExampleEncodes) {
  auto tok = llama3_tokenizer();
  ASSERT_NE(tok, nullptr);
  const std::string prompt = format_chat(ChatFormat::kBitnet2B4T, std::vector<ChatMessage>{{"user", "How are you?"}}, true);
  EXPECT_EQ(prompt, "User: How are you?<|eot_id|>Assistant: ");
  // transformers' test_modeling_bitnet has [128000, 128000, ...]: its template adds a BOS and so
  // does encode(). We add exactly one (spec §6.4).
  EXPECT_EQ(tok->encode(prompt, tok->add_bos_default(), true),
            (std::vector<int32_t>{128000, 1502, 25, 2650, 527, 499, 30, 128009, 72803, 25, 220}));
  // With special parsing off, the same text is plain text: no 128009.
  auto plain = tok->encode(prompt, true, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 128009), 0);
  EXPECT_EQ(tok->decode(plain), "<|begin_of_text|>" + prompt);
}

TEST(ChatFormat, Llama3PromptEncodesHeadersAsSingleTokens) {
  auto tok = llama3_tokenizer();
  ASSERT_NE(tok, nullptr);
  auto ids = tok->encode(format_chat(ChatFormat::kLlama3, std::vector<ChatMessage>{{"user", "Hi"}}, true), true, true);
  // <|begin_of_text|> <|start_header_id|> user <|end_header_id|> \n\n Hi <|eot_id|> <|start_header_id|> assistant <|end_header_id|> \n\n
  EXPECT_EQ(ids, (std::vector<int32_t>{128000, 128006, 882, 128007, 271, 13347, 128009, 128006, 78191, 128007, 271}));
}

}  // namespace
}  // namespace bitnet
