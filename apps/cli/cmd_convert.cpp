// `bitnet convert`: Hugging Face BitNet checkpoint (config.json + safetensors) -> GGUF.
#include <cstdio>

#include "command.h"
#include "convert/hf_to_gguf.h"
#include "core/timer.h"
#include "formats/ggml_types.h"

namespace bitnet::cli {
namespace {

struct Opts {
  std::string hf, out, weights = "i2_s", head = "f16", scale = "auto", name;
  bool no_vocab = false;
};

BITNET_COMMAND(
    "convert", "Convert a Hugging Face BitNet checkpoint (safetensors) to GGUF", [](CLI::App& sub) {
      auto o = std::make_shared<Opts>();
      sub.add_option("--hf", o->hf,
                     "Checkpoint directory (config.json + *.safetensors [+ tokenizer.json])")
          ->required();
      sub.add_option("-o,--output", o->out, "Output GGUF path")->required();
      sub.add_option("--weights", o->weights,
                     "Ternary weight format: i2_s (default) | tq2_0 | tq1_0");
      sub.add_option("--head", o->head,
                     "token_embd / output head type: f16 (default) | f32 | q8_0");
      sub.add_option("--scale-convention", o->scale,
                     "Packed weight_scale meaning: auto (from quantization_config) | multiply "
                     "(2B4T) | divide (BitLinear)");
      sub.add_option("--name", o->name,
                     "general.name (default: from config.json or the directory name)");
      sub.add_flag("--no-vocab", o->no_vocab, "Do not convert tokenizer.json even when present");
      return [o]() -> int {
        ConvertOptions co;
        co.hf_dir = o->hf;
        co.out_path = o->out;
        co.name = o->name;
        co.vocab = !o->no_vocab;
        auto w = ggml_type_from_name(o->weights);
        if (!w || !ggml_type_is_ternary(*w))
          return fail("--weights must be i2_s, tq2_0 or tq1_0, not '" + o->weights + "'");
        co.weight_type = *w;
        auto h = ggml_type_from_name(o->head);
        if (!h || (*h != GgmlType::F16 && *h != GgmlType::F32 && *h != GgmlType::Q8_0))
          return fail("--head must be f16, f32 or q8_0, not '" + o->head + "'");
        co.head_type = *h;
        if (o->scale == "auto")
          co.scale_convention = ScaleConvention::kAuto;
        else if (o->scale == "multiply")
          co.scale_convention = ScaleConvention::kMultiply;
        else if (o->scale == "divide")
          co.scale_convention = ScaleConvention::kDivide;
        else
          return fail("--scale-convention must be auto, multiply or divide, not '" + o->scale +
                      "'");
        co.log = [](const std::string& s) { std::fprintf(stderr, "convert: %s\n", s.c_str()); };
        Timer t;
        ConvertReport rep;
        Status st = convert_hf_to_gguf(co, &rep);
        if (!st) return fail(st.to_string());
        std::fprintf(stderr,
                     "convert: wrote %s (arch %s, %s weights, %s head, %lld tensors, %lld linears "
                     "from masters, "
                     "%lld packed, %s, %.1f MiB) in %.1f s\n",
                     o->out.c_str(), rep.gguf_arch.c_str(), o->weights.c_str(), o->head.c_str(),
                     (long long)rep.n_tensors, (long long)rep.n_linears_master,
                     (long long)rep.n_linears_packed, rep.tied ? "tied head" : "untied head",
                     rep.file_bytes / 1048576.0, t.seconds());
        if (!rep.vocab_written)
          std::fprintf(stderr,
                       "convert: no vocabulary written (%s); the model runs on token ids only\n",
                       rep.vocab_note.c_str());
        return 0;
      };
    });

}  // namespace
}  // namespace bitnet::cli
