"""The HF transformers peer of `trtllm benchmark` (#6), run on the GPU machine in the same device call:

  python3 scripts/bench/hf_peer.py WORK_DIR OUT_JSON --models gpt2,gpt2-medium [--batch-sizes 1,8,64]
        [--input-len 128] [--output-len 128] [--runs 3] [--modes eager,compiled]
        [--sampling temperature=0.8,top_k=50,top_p=0.9] [--num-beams 4]

For each model shape (random weights: torch.manual_seed(0), GPT2LMHeadModel(GPT2Config(...)) or
GPTBigCodeForCausalLM(GPTBigCodeConfig(...)) for the santacoder shape), fp16 on CUDA:
  - saves the model with save_pretrained to WORK_DIR/<name>/hf, so the benchmark converts and runs
    the same weights (`trtllm benchmark --model <name>=WORK_DIR/<name>/hf`);
  - per batch size, greedy `generate` of input-len random prompt ids with
    min_new_tokens = max_new_tokens = output-len (no early stop), timed with torch.cuda.synchronize:
    eager (the default dynamic cache) and compiled (cache_implementation="static": generate() then
    compiles the forward with torch.compile, fullgraph, mode "reduce-overhead" — HF's documented fast path).
    TTFT = the same generate with one new token; ms per step = (total − TTFT) / (output-len − 1);
    tokens/s = batch · output-len / total. Medians of --runs after warm-up (compilation) runs.
Decoding: a mode named with '-sampled' (eager-sampled, compiled-sampled) samples with --sampling's
settings (do_sample=True; the benchmark's --sampling takes the same string); '-beams' runs beam search
with --num-beams beams (num_beams, length_penalty 1, no early stopping: every step runs). The modes
default to eager,compiled, plus their -sampled and -beams forms when --sampling / --num-beams are given.
A mode that fails (e.g. a model class without static-cache support) is recorded with its error.
"""
import argparse, json, statistics, sys, time, traceback
import torch, transformers
from transformers import GPT2Config, GPT2LMHeadModel, GPTBigCodeConfig, GPTBigCodeForCausalLM

SHAPES = {
    'gpt2': dict(n_layer=12, n_embd=768, n_head=12, vocab_size=50257, n_positions=1024),
    'gpt2-medium': dict(n_layer=24, n_embd=1024, n_head=16, vocab_size=50257, n_positions=1024),
    'gpt2-xl': dict(n_layer=48, n_embd=1600, n_head=25, vocab_size=50257, n_positions=1024),
    'santacoder': dict(n_layer=24, n_embd=2048, n_head=16, vocab_size=49280, n_positions=2048, multi_query=True),
    # GPT-Next 2B (NeMo GPT-2B-001: RoPE on half of each head, SwiGLU MLP 5440, no bias, bf16) has no HF
    # class; its closest is GPT-NeoX with rotary_pct 0.5 and sequential residuals, whose MLP is one
    # non-gated GELU of 8160 (2 GEMMs of 2048·8160 ≈ SwiGLU's 3 of 2048·5440) and which has biases. Not
    # saved: our side builds the GPT-Next shape with random weights (trtllm build --hidden_act swiglu …).
    'gpt-next-2b': dict(n_layer=24, n_embd=2048, n_head=16, vocab_size=256000, n_positions=4096, neox=True),
}

p = argparse.ArgumentParser()
p.add_argument('work')
p.add_argument('out')
p.add_argument('--models', default='gpt2')
p.add_argument('--batch-sizes', default='1,8,64')
p.add_argument('--input-len', type=int, default=128)
p.add_argument('--output-len', type=int, default=128)
p.add_argument('--runs', type=int, default=3)
p.add_argument('--modes', default=None)
p.add_argument('--sampling', default=None, help='temperature=T,top_k=K,top_p=P (any of them)')
p.add_argument('--num-beams', type=int, default=0)
a = p.parse_args()
sampling = {}
for kv in (a.sampling or '').split(','):
    if kv:
        k, v = kv.split('=')
        if k not in ('temperature', 'top_k', 'top_p'):
            sys.exit(f'--sampling: unknown setting {k!r} (temperature, top_k, top_p)')
        sampling[k] = int(v) if k == 'top_k' else float(v)
modes = a.modes.split(',') if a.modes else (['eager', 'compiled'] + (['eager-sampled', 'compiled-sampled'] if sampling else [])
                                              + (['eager-beams', 'compiled-beams'] if a.num_beams > 1 else []))
batches = [int(b) for b in a.batch_sizes.split(',')]
dev = 'cuda'
result = {'device': torch.cuda.get_device_name(), 'torch': torch.__version__, 'transformers': transformers.__version__,
          'inputLen': a.input_len, 'outputLen': a.output_len, 'models': {}, 'errors': {}, 'compileSeconds': {}}


def make(name):
    torch.manual_seed(0)
    s = dict(SHAPES[name])
    if s.pop('neox', False):
        cfg = transformers.GPTNeoXConfig(vocab_size=s['vocab_size'], hidden_size=s['n_embd'], num_hidden_layers=s['n_layer'], num_attention_heads=s['n_head'],
                                         intermediate_size=8160, rotary_pct=0.5, max_position_embeddings=s['n_positions'], use_parallel_residual=False,
                                         tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
        return transformers.GPTNeoXForCausalLM(cfg)
    if s.pop('multi_query', False):
        cfg = GPTBigCodeConfig(n_layer=s['n_layer'], n_embd=s['n_embd'], n_head=s['n_head'], vocab_size=s['vocab_size'], n_positions=s['n_positions'],
                               multi_query=True, activation_function='gelu_pytorch_tanh', bos_token_id=0, eos_token_id=0)
        return GPTBigCodeForCausalLM(cfg)
    return GPT2LMHeadModel(GPT2Config(bos_token_id=50256, eos_token_id=50256, **s))


def timed(fn):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 1000


for name in a.models.split(','):
    t0 = time.time()
    m = make(name).eval()
    neox = SHAPES[name].get('neox', False)
    m = m.to(torch.bfloat16 if neox else torch.float16)
    if not neox:
        m.save_pretrained(f'{a.work}/{name}/hf')  # the fp16 weights both sides run
    m = m.to(dev)
    m.generation_config.eos_token_id = None
    m.generation_config.pad_token_id = 0
    print(f'{name}: {sum(x.numel() for x in m.parameters()) / 1e6:.0f} M parameters, made and saved in {time.time() - t0:.1f} s', flush=True)
    vocab = SHAPES[name]['vocab_size']
    result['models'][name] = {}
    for mode in modes:
        per = {}
        try:
            kw = dict(do_sample=False, num_beams=1)
            if mode.endswith('-sampled'):
                kw = {**dict(do_sample=True, num_beams=1, top_k=0), **sampling}  # top_k 0: off unless --sampling sets it
            elif mode.endswith('-beams'):
                kw = dict(do_sample=False, num_beams=a.num_beams, length_penalty=1.0, early_stopping=False)
            if mode.startswith('compiled'):
                # generate() compiles the forward itself for a static cache (CompileConfig: fullgraph,
                # mode "reduce-overhead", i.e. CUDA graphs) and marks each step for the graph replays;
                # wrapping model.forward in torch.compile by hand breaks that (overwritten graph outputs)
                kw['cache_implementation'] = 'static'
            for b in batches:
                g = torch.Generator().manual_seed(b)
                ids = torch.randint(0, min(vocab, 50000), (b, a.input_len), generator=g).to(dev)
                mask = torch.ones_like(ids)
                gen = lambda n: m.generate(input_ids=ids, attention_mask=mask, max_new_tokens=n, min_new_tokens=n, **kw)
                c0 = time.time()
                with torch.no_grad():
                    for _ in range(2 if mode.startswith('compiled') else 1):  # warm-up: compilation and CUDA-graph capture
                        gen(a.output_len)
                        gen(1)
                    totals = [timed(lambda: gen(a.output_len)) for _ in range(a.runs)]
                    ttfts = [timed(lambda: gen(1)) for _ in range(a.runs)]
                result['compileSeconds'][f'{name}/{mode}/{b}'] = round(time.time() - c0, 1)
                total, ttft = statistics.median(totals), statistics.median(ttfts)
                per[str(b)] = {'tokensPerSec': b * a.output_len / (total / 1000), 'msPerStep': (total - ttft) / (a.output_len - 1), 'ttftMs': ttft, 'totalMs': total}
                print(f'  {mode} batch {b}: {per[str(b)]["tokensPerSec"]:.0f} tokens/s, {per[str(b)]["msPerStep"]:.3f} ms/step, TTFT {ttft:.2f} ms', flush=True)
        except Exception as e:  # recorded, the other modes and models go on
            result['errors'][f'{name}/{mode}'] = f'{type(e).__name__}: {e}'
            traceback.print_exc()
        if per:
            result['models'][name][mode] = per
        if mode.startswith('compiled'):
            torch._dynamo.reset()
    del m
    torch.cuda.empty_cache()
    with open(a.out, 'w') as f:
        json.dump(result, f, indent=2)
print(json.dumps(result['errors']), file=sys.stderr)
