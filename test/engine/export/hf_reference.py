"""Independent check of an `elle export` directory: reads model.safetensors with plain Python (no
safetensors/transformers packages) and runs hand-written forwards that follow the Hugging Face sources of
BertForMaskedLM and GPT2LMHeadModel (nn.Linear = x @ W.T + b, GPT-2 Conv1D = x @ W + b, c_attn split
into q, k, v), with the activation and LayerNorm epsilon taken from config.json.

usage: python3 hf_reference.py HF_DIR IDS_JSON   ->  prints {"logits": [[[...]]]} for ids [B, T]
"""
import json
import math
import struct
import sys

import torch
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "I32": torch.int32}


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[b:e]), dtype=DTYPES[t["dtype"]]).reshape(t["shape"]).float()
    return header.get("__metadata__"), out


def act(name):
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "gelu":
        return F.gelu
    raise SystemExit(f"unsupported activation {name}")


def attention(q, k, v, heads, mask):
    B, T, d = q.shape
    hd = d // heads
    split = lambda x: x.view(B, T, heads, hd).permute(0, 2, 1, 3)
    s = split(q) @ split(k).transpose(-1, -2) / math.sqrt(hd)
    if mask is not None:
        s = s + mask
    p = torch.softmax(s, dim=-1)
    return (p @ split(v)).permute(0, 2, 1, 3).reshape(B, T, d)


def bert(c, w, ids):
    eps, f = c["layer_norm_eps"], act(c["hidden_act"])
    lin = lambda x, n: x @ w[n + ".weight"].T + w[n + ".bias"]
    ln = lambda x, n: F.layer_norm(x, x.shape[-1:], w[n + ".weight"], w[n + ".bias"], eps)
    T = ids.shape[1]
    e = "bert.embeddings."
    x = w[e + "word_embeddings.weight"][ids] + w[e + "position_embeddings.weight"][:T] + w[e + "token_type_embeddings.weight"][0]
    x = ln(x, e + "LayerNorm")
    for i in range(c["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}."
        a = attention(lin(x, p + "attention.self.query"), lin(x, p + "attention.self.key"), lin(x, p + "attention.self.value"), c["num_attention_heads"], None)
        x = ln(lin(a, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        h = f(lin(x, p + "intermediate.dense"))
        x = ln(lin(h, p + "output.dense") + x, p + "output.LayerNorm")
    h = ln(f(lin(x, "cls.predictions.transform.dense")), "cls.predictions.transform.LayerNorm")
    dec = w.get("cls.predictions.decoder.weight", w[e + "word_embeddings.weight"])
    return h @ dec.T + w["cls.predictions.bias"]


def gpt2(c, w, ids):
    eps, f = c["layer_norm_epsilon"], act(c["activation_function"])
    conv = lambda x, n: x @ w[n + ".weight"] + w[n + ".bias"]
    ln = lambda x, n: F.layer_norm(x, x.shape[-1:], w[n + ".weight"], w[n + ".bias"], eps)
    T, d = ids.shape[1], c["n_embd"]
    x = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][:T]
    causal = torch.full((T, T), torch.finfo(torch.float32).min).triu(1)
    for i in range(c["n_layer"]):
        p = f"transformer.h.{i}."
        q, k, v = conv(ln(x, p + "ln_1"), p + "attn.c_attn").split(d, dim=-1)
        x = x + conv(attention(q, k, v, c["n_head"], causal), p + "attn.c_proj")
        x = x + conv(f(conv(ln(x, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
    x = ln(x, "transformer.ln_f")
    return x @ w.get("lm_head.weight", w["transformer.wte.weight"]).T


def main():
    hf_dir, ids_file = sys.argv[1], sys.argv[2]
    with open(f"{hf_dir}/config.json") as fh:
        c = json.load(fh)
    meta, w = load_safetensors(f"{hf_dir}/model.safetensors")
    assert meta and meta.get("format") == "pt", "transformers needs __metadata__.format == 'pt'"
    with open(ids_file) as fh:
        ids = torch.tensor(json.load(fh), dtype=torch.long)
    arch = c["architectures"][0]
    with torch.no_grad():
        logits = bert(c, w, ids) if arch == "BertForMaskedLM" else gpt2(c, w, ids)
    print(json.dumps({"architecture": arch, "logits": logits.tolist()}))


if __name__ == "__main__":
    main()
