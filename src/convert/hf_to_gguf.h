// Hugging Face BitNet checkpoint (config.json + *.safetensors) -> GGUF in the layout of the
// official microsoft/bitnet-b1.58-2B-4T-gguf file (spec §3.3, §3.4).
//
// Accepted linear weights (q/k/v/o/gate/up/down):
//  * full-precision masters (F32 / BF16 / F16 [out, in]; 2B4T-bf16, 1bitLLM): ternarized per tensor
//    with absmean (spec §2.1); a float tensor that is already {-a, 0, +a} keeps a as its scale;
//  * the packed deployment format (U8 [out/4, in] + weight_scale, spec §5.1), with the scale
//    convention from quantization_config.linear_class (autobitlinear: W = s*T, bitlinear: W = T/s)
//    or ConvertOptions::scale_convention.
// Output: token_embd (and output.weight when untied) in the head type, F32 norms, ternary linears
// with ne = [in, out], no q/k permutation (the bitnet archs use NeoX RoPE on HF row order).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "convert/hf_config.h"
#include "core/status.h"
#include "formats/ggml_types.h"

namespace bitnet {

struct ConvertOptions {
  std::string hf_dir;                     // directory with config.json and *.safetensors
  std::string out_path;                   // GGUF to write (replaced atomically)
  GgmlType weight_type = GgmlType::I2_S;  // I2_S | TQ2_0 | TQ1_0
  GgmlType head_type = GgmlType::F16;     // token_embd / output: F16 | F32 | Q8_0
  ScaleConvention scale_convention = ScaleConvention::kAuto;  // packed weight_scale meaning
  std::string name;                             // general.name; default: config or directory name
  bool vocab = true;                            // convert tokenizer.json when present
  std::function<void(const std::string&)> log;  // progress / notes; null = silent
};

struct ConvertReport {
  std::string gguf_arch;
  int64_t n_tensors = 0;
  int64_t n_linears_packed = 0;  // from U8 + weight_scale
  int64_t n_linears_master = 0;  // ternarized from float masters
  bool tied = true;
  bool vocab_written = false;
  std::string vocab_note;  // why no vocabulary was written, when none was
  uint64_t file_bytes = 0;
};

Status convert_hf_to_gguf(const ConvertOptions& opts, ConvertReport* report = nullptr);

}  // namespace bitnet
