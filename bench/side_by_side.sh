#!/usr/bin/env bash
# Side-by-side benchmark of `bitnet bench` against peer engines' `llama-bench` (llama.cpp,
# ik_llama.cpp, ...), same machine, same run, interleaved. Builds nothing: pass binaries and models.
#
# Usage:
#   bench/side_by_side.sh [-p 128] [-n 64] [-r 3] [-t 2] [--rounds 2] [--raw DIR] [--report-only] CASE...
#
#   --raw DIR      keep every run's JSON/log there (default: a new /tmp/side_by_side.* folder)
#   --report-only  run nothing; print the table again from an earlier --raw DIR (same CASEs)
#
#   CASE = "LABEL|ENGINE|BINARY|MODEL[|EXTRA ARGS[|VS]]"
#     LABEL   row name (unique), e.g. "ours I2_S+F16" or "ik IQ2_BN+F16 -rtr 1"
#     ENGINE  bitnet       -> BINARY bench -m MODEL -p P -n N -r R -t T --json EXTRA
#             llama-bench  -> BINARY -m MODEL -p P -n N -r R -t T -o json EXTRA
#     EXTRA   extra arguments for that binary (word-split), e.g. "-rtr 1" or "--head q8_0"
#     VS      LABEL of the row this one is compared with: the table's ratio columns are
#             tok/s(VS) / tok/s(this row), i.e. "ours/peer" when VS names one of our rows.
#
# Every round runs every case once (each with -r R repetitions after the engine's own warm-up);
# odd rounds go through the cases in the given order, even rounds in reverse, so slow drifts of
# the shared machine hit all engines alike. Per row the table gives the median [min–max] over all
# rounds × repetitions (the median resists bursts of other load). `uptime` is printed before every
# round and the load average before every case (stderr; also in RAW/meta.txt).
#
# Bytes/token: bitnet rows print the engine's own figure (weights as held in memory, i.e. after any
# load-time repack); llama-bench rows: the tensor bytes in the GGUF (every tensor is read per token
# when token_embd is the tied output head; with a separate output.weight, token_embd is left out).
#
# Example:
#   bench/side_by_side.sh --rounds 2 \
#     "ours I2_S+F16|bitnet|build/release/bin/bitnet|m/2b4t-i2s-f16.gguf" \
#     "ik IQ2_BN+F16|llama-bench|/opt/ik/llama-bench|m/ik-iq2bn-f16.gguf||ours I2_S+F16" \
#     "ik IQ2_BN+F16 rtr|llama-bench|/opt/ik/llama-bench|m/ik-iq2bn-f16.gguf|-rtr 1|ours I2_S+F16"
set -euo pipefail

P=128 N=64 R=3 T=2 ROUNDS=2 RAW="" REPORT_ONLY=0
CASES=()
while (($#)); do
  case "$1" in
    -p) P=$2; shift 2 ;;
    -n) N=$2; shift 2 ;;
    -r) R=$2; shift 2 ;;
    -t) T=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --raw) RAW=$2; shift 2 ;;
    --report-only) REPORT_ONLY=1; shift ;;
    -h|--help) sed -n '2,37p' "$0"; exit 0 ;;
    *) CASES+=("$1"); shift ;;
  esac
done
((${#CASES[@]})) || { echo "no cases; see --help" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 2; }

if [[ -z "$RAW" ]]; then RAW=$(mktemp -d /tmp/side_by_side.XXXXXX); fi
mkdir -p "$RAW"
echo "raw outputs: $RAW" >&2

# Validate cases up front.
for i in "${!CASES[@]}"; do
  IFS='|' read -r label engine bin model extra vs <<<"${CASES[$i]}"
  [[ -n "$label" && -n "$engine" && -n "$bin" && -n "$model" ]] || { echo "bad case: ${CASES[$i]}" >&2; exit 2; }
  [[ "$engine" == bitnet || "$engine" == llama-bench ]] || { echo "unknown engine '$engine'" >&2; exit 2; }
  [[ -x "$bin" ]] || { echo "not executable: $bin" >&2; exit 2; }
  [[ -f "$model" ]] || { echo "no such model: $model" >&2; exit 2; }
done

((REPORT_ONLY)) || {
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) hardware threads"
  echo "settings: -p $P -n $N -r $R -t $T, $ROUNDS rounds"
} | tee "$RAW/meta.txt" >&2
((REPORT_ONLY)) && cat "$RAW/meta.txt" >&2

order=()
((REPORT_ONLY)) && ROUNDS_TO_RUN=0 || ROUNDS_TO_RUN=$ROUNDS
for round in $(seq 1 "$ROUNDS_TO_RUN"); do
  if ((round % 2)); then order=($(seq 0 $((${#CASES[@]} - 1))))
  else order=($(seq $((${#CASES[@]} - 1)) -1 0)); fi
  echo "round $round: $(uptime)" | tee -a "$RAW/meta.txt" >&2
  for i in "${order[@]}"; do
    IFS='|' read -r label engine bin model extra vs <<<"${CASES[$i]}"
    out="$RAW/case$i.round$round.json"
    echo "  [$label] $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    # shellcheck disable=SC2086
    if [[ "$engine" == bitnet ]]; then
      cmd=("$bin" bench -m "$model" -p "$P" -n "$N" -r "$R" -t "$T" --json $extra)
    else
      cmd=("$bin" -m "$model" -p "$P" -n "$N" -r "$R" -t "$T" -o json $extra)
    fi
    echo "${cmd[*]}" >"$out.cmd"
    if ! "${cmd[@]}" >"$out" 2>"$out.log"; then
      echo "  FAILED (rc $?): ${cmd[*]} -- see $out.log" >&2
      tail -5 "$out.log" >&2
      : >"$out"
    fi
  done
done
((REPORT_ONLY)) || echo "end: $(uptime)" | tee -a "$RAW/meta.txt" >&2

python3 - "$RAW" "$P" "$N" "$ROUNDS" "${CASES[@]}" <<'PY'
import json, math, os, struct, sys

raw, P, N, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cases = [c.split('|') + [''] * (6 - len(c.split('|'))) for c in sys.argv[5:]]

def gguf_tensor_bytes(path):
    """(total tensor bytes, token_embd bytes, has output.weight) from the GGUF header."""
    with open(path, 'rb') as f:
        if f.read(4) != b'GGUF':
            return None
        ver, = struct.unpack('<I', f.read(4))
        n_t, n_kv = struct.unpack('<qq', f.read(16))
        def rd(fmt):
            return struct.unpack('<' + fmt, f.read(struct.calcsize('<' + fmt)))[0]
        def rstr():
            return f.read(rd('Q')).decode('utf-8', 'replace')
        sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
        align = 32
        def skip(t):
            if t == 8:
                f.seek(rd('Q'), 1)
            elif t == 9:
                et, n = rd('I'), rd('Q')
                if et == 8:
                    for _ in range(n):
                        f.seek(rd('Q'), 1)
                else:
                    f.seek(sizes[et] * n, 1)
            else:
                f.seek(sizes[t], 1)
        for _ in range(n_kv):
            k, t = rstr(), rd('I')
            if k == 'general.alignment' and t == 4:
                align = rd('I')
            else:
                skip(t)
        infos = []
        for _ in range(n_t):
            name = rstr()
            nd = rd('I')
            f.seek(8 * nd + 4, 1)
            infos.append((rd('Q'), name))
        data_start = (f.tell() + align - 1) // align * align
    data_size = os.path.getsize(path) - data_start
    infos.sort()
    by_name = {}
    for j, (off, name) in enumerate(infos):
        end = infos[j + 1][0] if j + 1 < len(infos) else data_size
        by_name[name] = end - off
    return sum(by_name.values()), by_name.get('token_embd.weight', 0), 'output.weight' in by_name

def stats(xs):
    """(median, min, max, n): the median resists the bursts of other load a shared machine has."""
    if not xs:
        return None
    ys = sorted(xs)
    n = len(ys)
    med = ys[n // 2] if n % 2 else 0.5 * (ys[n // 2 - 1] + ys[n // 2])
    return med, ys[0], ys[-1], n

rows = {}
for i, (label, engine, binary, model, extra, vs) in enumerate(cases):
    pp, tg, bpt, hashes = [], [], None, set()
    for r in range(1, rounds + 1):
        p = os.path.join(raw, f'case{i}.round{r}.json')
        try:
            txt = open(p).read()
            recs = json.loads(txt) if txt.strip() else []
        except (OSError, ValueError):
            recs = []
        for rec in recs:
            if engine == 'bitnet':
                ts = rec.get('samples', [])
                bpt = rec.get('bytes_per_token', bpt)
                is_pp, is_tg = rec.get('test') == f'pp{P}', rec.get('test') == f'tg{N}'
            else:
                ts = rec.get('samples_ts', [])
                is_pp = rec.get('n_prompt') == P and rec.get('n_gen') == 0
                is_tg = rec.get('n_gen') == N and rec.get('n_prompt') == 0
            (pp if is_pp else tg if is_tg else []).extend(ts)
    if engine != 'bitnet':
        g = gguf_tensor_bytes(model)
        if g:
            total, embd, has_out = g
            bpt = total - embd if has_out else total
    rows[label] = dict(engine=engine, model=os.path.basename(model), extra=extra, vs=vs,
                       bpt=bpt, pp=stats(pp), tg=stats(tg))

def fmt(s):
    return f'{s[0]:.1f} [{s[1]:.1f}–{s[2]:.1f}]' if s else 'failed'

def ratio(a, b):
    return f'{a[0] / b[0]:.2f}' if a and b else '-'

print()
print(f'| engine / format | model file | args | GB/token | pp{P} tok/s | tg{N} tok/s | compared with | pp ours/peer | tg ours/peer |')
print('|---|---|---|---:|---:|---:|---|---:|---:|')
for label, r in rows.items():
    ref = rows.get(r['vs']) if r['vs'] else None
    gb = f"{r['bpt'] / 1e9:.3f}" if r['bpt'] else '?'
    pr = ratio(ref['pp'], r['pp']) if ref else ''
    tr = ratio(ref['tg'], r['tg']) if ref else ''
    vs = r['vs'] if ref else ''
    print(f"| {label} | {r['model']} | {r['extra'] or ''} | {gb} | {fmt(r['pp'])} | {fmt(r['tg'])} | {vs} | {pr} | {tr} |")
print()
n = next((r['pp'][3] for r in rows.values() if r['pp']), 0)
print(f'tok/s: median [min–max] of {n} runs per row ({rounds} interleaved rounds × repetitions); '
      'ratios are medians of ours / medians of the peer: > 1 means ours is faster.')
PY
