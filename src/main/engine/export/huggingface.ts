/**
 * Hugging Face export and import: BERT checkpoints as `BertForMaskedLM`, GPT checkpoints as
 * `GPT2LMHeadModel`, in the layout `from_pretrained` reads (config.json, model.safetensors, tokenizer.json,
 * tokenizer_config.json, special_tokens_map.json).
 *
 * One table of rules per architecture maps our role names to HF names and says how the values move:
 * PyTorch nn.Linear weights (BERT) are [out, in], the transpose of our [in, out] kernels; GPT-2's Conv1D
 * weights are [in, out] like ours; GPT-2's c_attn is q, k, v concatenated along the output axis. Export and
 * import both read the same table, so they cannot drift apart. Differences from the HF classes are listed
 * in docs/export.md; what HF cannot represent (pre-LN BERT, post-LN GPT, a parameter without a rule) is refused.
 */
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { promptToken, SPECIAL_TOKENS, type SpecialName, Tokenizer, TOKENIZER_FILE } from '../data/tokenizer'
import { DataError } from '../data/errors'
import { type ModelConfig, validateModelConfig } from '../model/config'
import { parameterShapes, type Weights } from '../model/model'
import { exists, writeDirAtomic, writeFileSynced } from '../checkpoint/atomic'
import { parseGrowthState } from '../growth/state'
import { type CheckpointWriteResult, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, isCheckpointDir, loadCheckpoint, saveCheckpoint } from '../checkpoint/checkpoint'
import { CheckpointError } from '../checkpoint/errors'
import { assertJsonObject, type JsonObject, type JsonValue } from '../checkpoint/json'
import { readSafetensors, toFloat32, type TensorInput, writeSafetensors } from '../checkpoint/safetensors'

/** ops.layerNorm's default epsilon, which every LayerNorm of the model uses. */
export const LAYER_NORM_EPS = 1e-5
/** ops.gelu is the tanh approximation: HF's "gelu_new" (= "gelu_pytorch_tanh"), not BERT's erf "gelu". */
export const HF_ACTIVATION = 'gelu_new'
const TANH_GELU_NAMES = new Set(['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'])

export type HfArchitecture = 'BertForMaskedLM' | 'GPT2LMHeadModel'
export const HF_FILES = {
  config: 'config.json',
  model: 'model.safetensors',
  tokenizer: TOKENIZER_FILE,
  tokenizerConfig: 'tokenizer_config.json',
  specialTokens: 'special_tokens_map.json'
} as const

// ---------------------------------------------------------------------------------------------
// The mapping

/**
 * same:      identical values and shape
 * transpose: our [in, out] kernel <-> HF [out, in] (nn.Linear)
 * concat:    our q, k, v [.., d] <-> HF [.., 3d], concatenated along the last axis (GPT-2 c_attn)
 * tied:      a copy of `ours` (the output matrix tied to the token embeddings); import checks it is equal
 * tokenType: BERT segment embeddings [2, d], all zero on export; on import row 0 is folded into the
 *            position embeddings, which is exact for token_type_ids = 0 (HF's default)
 */
type Rule = { hf: string; op: 'same' | 'transpose' | 'tied'; ours: string } | { hf: string; op: 'concat'; ours: [string, string, string] } | { hf: string; op: 'tokenType' }

export function hfRules(cfg: ModelConfig): Rule[] {
  const r: Rule[] = []
  const same = (hf: string, ours: string): number => r.push({ hf, op: 'same', ours })
  const ln = (hf: string, ours: string): void => {
    same(`${hf}.weight`, `${ours}.gamma`)
    same(`${hf}.bias`, `${ours}.beta`)
  }
  if (cfg.kind === 'bert') {
    const linear = (hf: string, ours: string): void => {
      r.push({ hf: `${hf}.weight`, op: 'transpose', ours: `${ours}.kernel` })
      same(`${hf}.bias`, `${ours}.bias`)
    }
    same('bert.embeddings.word_embeddings.weight', 'embed.token')
    same('bert.embeddings.position_embeddings.weight', 'embed.position')
    r.push({ hf: 'bert.embeddings.token_type_embeddings.weight', op: 'tokenType' })
    ln('bert.embeddings.LayerNorm', 'embed.ln')
    for (let i = 0; i < cfg.layers; i++) {
      const h = `bert.encoder.layer.${i}`
      const o = `layers.${i}`
      linear(`${h}.attention.self.query`, `${o}.attn.q`)
      linear(`${h}.attention.self.key`, `${o}.attn.k`)
      linear(`${h}.attention.self.value`, `${o}.attn.v`)
      linear(`${h}.attention.output.dense`, `${o}.attn.o`)
      ln(`${h}.attention.output.LayerNorm`, `${o}.ln1`)
      linear(`${h}.intermediate.dense`, `${o}.ffn.in`)
      linear(`${h}.output.dense`, `${o}.ffn.out`)
      ln(`${h}.output.LayerNorm`, `${o}.ln2`)
    }
    linear('cls.predictions.transform.dense', 'head.dense')
    ln('cls.predictions.transform.LayerNorm', 'head.ln')
    same('cls.predictions.bias', 'head.bias')
    r.push({ hf: 'cls.predictions.decoder.weight', op: 'tied', ours: 'embed.token' })
  } else {
    const conv = (hf: string, ours: string): void => {
      same(`${hf}.weight`, `${ours}.kernel`)
      same(`${hf}.bias`, `${ours}.bias`)
    }
    same('transformer.wte.weight', 'embed.token')
    same('transformer.wpe.weight', 'embed.position')
    for (let i = 0; i < cfg.layers; i++) {
      const h = `transformer.h.${i}`
      const o = `layers.${i}`
      ln(`${h}.ln_1`, `${o}.ln1`)
      r.push({ hf: `${h}.attn.c_attn.weight`, op: 'concat', ours: [`${o}.attn.q.kernel`, `${o}.attn.k.kernel`, `${o}.attn.v.kernel`] })
      r.push({ hf: `${h}.attn.c_attn.bias`, op: 'concat', ours: [`${o}.attn.q.bias`, `${o}.attn.k.bias`, `${o}.attn.v.bias`] })
      conv(`${h}.attn.c_proj`, `${o}.attn.o`)
      ln(`${h}.ln_2`, `${o}.ln2`)
      conv(`${h}.mlp.c_fc`, `${o}.ffn.in`)
      conv(`${h}.mlp.c_proj`, `${o}.ffn.out`)
    }
    ln('transformer.ln_f', 'final.ln')
    r.push({ hf: 'lm_head.weight', op: 'tied', ours: 'embed.token' })
  }
  return r
}

/** HF buffers some transformers versions save; they carry no parameters and are ignored on import. */
const IGNORED_ON_IMPORT = [/^bert\.embeddings\.position_ids$/, /^transformer\.h\.\d+\.attn\.(masked_)?bias$/]

export function architectureOf(cfg: ModelConfig): HfArchitecture {
  return cfg.kind === 'bert' ? 'BertForMaskedLM' : 'GPT2LMHeadModel'
}

/** Throws UNSUPPORTED for a config no HF class computes the same function for. */
export function assertExportable(cfg: ModelConfig): void {
  const arch = architectureOf(cfg)
  if (cfg.kind === 'bert' && cfg.norm !== 'post') {
    throw new CheckpointError('UNSUPPORTED', `model.norm is "${cfg.norm}": ${arch} has post-LN blocks only; a pre-LN BERT cannot be exported to Hugging Face`, {
      field: 'model.norm'
    })
  }
  if (cfg.kind === 'gpt' && cfg.norm !== 'pre') {
    throw new CheckpointError('UNSUPPORTED', `model.norm is "${cfg.norm}": ${arch} has pre-LN blocks only; a post-LN GPT cannot be exported to Hugging Face`, {
      field: 'model.norm'
    })
  }
  const covered = new Set(hfRules(cfg).flatMap((r) => (r.op === 'tokenType' ? [] : r.op === 'concat' ? r.ours : [r.ours])))
  for (const name of parameterShapes(cfg).keys()) {
    if (!covered.has(name)) {
      throw new CheckpointError('UNSUPPORTED', `parameter "${name}" has no counterpart in ${arch}; refusing to export a model HF would compute differently`, {
        field: name
      })
    }
  }
}

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length)
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c] as number
  return out
}

/** Concatenate [.., n] tensors along the last axis. */
function concatLast(parts: Array<{ shape: number[]; data: Float32Array }>): { shape: number[]; data: Float32Array } {
  const first = parts[0] as { shape: number[]; data: Float32Array }
  const n = first.shape[first.shape.length - 1] as number
  const rows = first.data.length / n
  const out = new Float32Array(first.data.length * parts.length)
  const width = n * parts.length
  for (let r = 0; r < rows; r++) parts.forEach((p, k) => out.set(p.data.subarray(r * n, (r + 1) * n), r * width + k * n))
  return { shape: [...first.shape.slice(0, -1), width], data: out }
}

/** Split the last axis of a [.., 3n] tensor into three [.., n]. */
function splitLast(t: { shape: number[]; data: Float32Array }, parts: number): Float32Array[] {
  const width = t.shape[t.shape.length - 1] as number
  const n = width / parts
  const rows = t.data.length / width
  const outs = Array.from({ length: parts }, () => new Float32Array(rows * n))
  for (let r = 0; r < rows; r++) outs.forEach((o, k) => o.set(t.data.subarray(r * width + k * n, r * width + (k + 1) * n), r * n))
  return outs
}

/** Our weights -> HF tensors, in the rule order. */
export function toHuggingFaceTensors(cfg: ModelConfig, weights: Weights): Map<string, TensorInput> {
  assertExportable(cfg)
  const w = (name: string): { shape: number[]; data: Float32Array } => {
    const t = weights[name]
    if (!t) throw new CheckpointError('SHAPE_MISMATCH', `weights lack "${name}"`, { field: name })
    return t
  }
  const out = new Map<string, TensorInput>()
  for (const rule of hfRules(cfg)) {
    if (rule.op === 'same' || rule.op === 'tied') {
      const t = w(rule.ours)
      out.set(rule.hf, { shape: [...t.shape], data: rule.op === 'tied' ? Float32Array.from(t.data) : t.data })
    } else if (rule.op === 'transpose') {
      const t = w(rule.ours)
      const [rows, cols] = t.shape as [number, number]
      out.set(rule.hf, { shape: [cols, rows], data: transpose(t.data, rows, cols) })
    } else if (rule.op === 'concat') {
      out.set(rule.hf, concatLast(rule.ours.map(w)))
    } else {
      out.set(rule.hf, { shape: [2, cfg.hidden], data: new Float32Array(2 * cfg.hidden) })
    }
  }
  return out
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`

/** HF tensors -> our weights; every tensor must be used by a rule (or be a known buffer). */
export function fromHuggingFaceTensors(cfg: ModelConfig, tensors: Map<string, { shape: number[]; data: Float32Array }>, file: string): Weights {
  const shapes = parameterShapes(cfg)
  const rules = hfRules(cfg)
  const get = (name: string, expect: number[]): { shape: number[]; data: Float32Array } => {
    const t = tensors.get(name)
    if (!t) throw new CheckpointError('SHAPE_MISMATCH', `${file}: missing tensor "${name}"`, { file, field: name })
    if (t.shape.join() !== expect.join()) {
      throw new CheckpointError('SHAPE_MISMATCH', `${file}: tensor "${name}" has shape ${fmt(t.shape)} but config.json needs ${fmt(expect)}`, { file, field: name })
    }
    return t
  }
  const shapeOf = (n: string): number[] => shapes.get(n) as number[]
  const out: Weights = {}
  const used = new Set<string>()
  for (const rule of rules) {
    if (rule.op === 'tied') continue
    used.add(rule.hf)
    if (rule.op === 'same') out[rule.ours] = { shape: shapeOf(rule.ours), data: Float32Array.from(get(rule.hf, shapeOf(rule.ours)).data) }
    else if (rule.op === 'transpose') {
      const [i, o] = shapeOf(rule.ours) as [number, number]
      out[rule.ours] = { shape: [i, o], data: transpose(get(rule.hf, [o, i]).data, o, i) }
    } else if (rule.op === 'concat') {
      const s = shapeOf(rule.ours[0])
      const t = get(rule.hf, [...s.slice(0, -1), 3 * (s[s.length - 1] as number)])
      splitLast(t, 3).forEach((data, k) => (out[rule.ours[k] as string] = { shape: [...s], data }))
    }
  }
  for (const rule of rules) {
    if (rule.op === 'tokenType') {
      const t = tensors.get(rule.hf)
      if (!t) continue // absent = no segment embeddings
      if (t.shape.length !== 2 || t.shape[1] !== cfg.hidden || (t.shape[0] as number) < 1) {
        throw new CheckpointError('SHAPE_MISMATCH', `${file}: tensor "${rule.hf}" has shape ${fmt(t.shape)}, expected [type_vocab_size, ${cfg.hidden}]`, { file, field: rule.hf })
      }
      // Every position gets segment 0 by default: add its row to each position embedding.
      const pos = out['embed.position'] as { data: Float32Array }
      const row0 = t.data.subarray(0, cfg.hidden)
      if (row0.some((x) => x !== 0)) {
        for (let p = 0; p < cfg.maxLength; p++) {
          for (let j = 0; j < cfg.hidden; j++) pos.data[p * cfg.hidden + j] = (pos.data[p * cfg.hidden + j] as number) + (row0[j] as number)
        }
      }
      used.add(rule.hf)
    }
    if (rule.op === 'tied') {
      const t = tensors.get(rule.hf)
      used.add(rule.hf)
      if (!t) continue // tied weights may be left out (transformers does so itself)
      const ours = out[rule.ours] as { shape: number[]; data: Float32Array }
      if (t.shape.join() !== ours.shape.join() || t.data.some((x, i) => x !== ours.data[i])) {
        throw new CheckpointError(
          'UNSUPPORTED',
          `${file}: "${rule.hf}" differs from the token embeddings; the workbench's output layer is tied to them, so an untied head cannot be imported`,
          { file, field: rule.hf }
        )
      }
    }
  }
  // BERT's decoder.bias is the same parameter as cls.predictions.bias when it is saved at all.
  const decBias = tensors.get('cls.predictions.decoder.bias')
  if (cfg.kind === 'bert' && decBias) {
    const bias = out['head.bias'] as { data: Float32Array }
    if (decBias.data.length !== bias.data.length || decBias.data.some((x, i) => x !== bias.data[i])) {
      throw new CheckpointError('UNSUPPORTED', `${file}: "cls.predictions.decoder.bias" differs from "cls.predictions.bias"`, { file, field: 'cls.predictions.decoder.bias' })
    }
    used.add('cls.predictions.decoder.bias')
  }
  const unknown = [...tensors.keys()].filter((n) => !used.has(n) && !IGNORED_ON_IMPORT.some((re) => re.test(n)))
  if (unknown.length > 0) {
    throw new CheckpointError(
      'UNSUPPORTED',
      `${file}: tensor${unknown.length > 1 ? 's' : ''} ${unknown
        .slice(0, 5)
        .map((n) => `"${n}"`)
        .join(', ')}${unknown.length > 5 ? ', ...' : ''} ha${unknown.length > 1 ? 've' : 's'} no counterpart in the workbench's ${cfg.kind.toUpperCase()} model`,
      { file, field: unknown[0] }
    )
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// config.json

type SpecialIds = Record<SpecialName, number>

/** The HF config.json for a model; `elle` carries our provenance and resumable state (HF ignores unknown keys). */
export function huggingFaceConfig(cfg: ModelConfig, ids: SpecialIds, elle: JsonObject): JsonObject {
  if (cfg.kind === 'bert') {
    return {
      architectures: ['BertForMaskedLM'],
      model_type: 'bert',
      vocab_size: cfg.vocabSize,
      hidden_size: cfg.hidden,
      num_hidden_layers: cfg.layers,
      num_attention_heads: cfg.heads,
      intermediate_size: cfg.ffn,
      hidden_act: HF_ACTIVATION,
      hidden_dropout_prob: cfg.dropout,
      attention_probs_dropout_prob: cfg.dropout,
      max_position_embeddings: cfg.maxLength,
      type_vocab_size: 2,
      initializer_range: 0.02,
      layer_norm_eps: LAYER_NORM_EPS,
      position_embedding_type: 'absolute',
      pad_token_id: ids.pad,
      bos_token_id: ids.bos,
      eos_token_id: ids.eos,
      is_decoder: false,
      use_cache: true,
      classifier_dropout: null,
      tie_word_embeddings: true,
      torch_dtype: 'float32',
      elle
    }
  }
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: cfg.vocabSize,
    n_positions: cfg.maxLength,
    n_ctx: cfg.maxLength,
    n_embd: cfg.hidden,
    n_layer: cfg.layers,
    n_head: cfg.heads,
    n_inner: cfg.ffn,
    activation_function: HF_ACTIVATION,
    resid_pdrop: cfg.dropout,
    embd_pdrop: cfg.dropout,
    attn_pdrop: cfg.dropout,
    layer_norm_epsilon: LAYER_NORM_EPS,
    initializer_range: 0.02,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    use_cache: true,
    bos_token_id: ids.bos,
    eos_token_id: ids.eos,
    pad_token_id: ids.pad,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    elle
  }
}

/** Reads an HF config.json back into a ModelConfig, refusing settings the workbench's model does not compute. */
export function modelConfigFromHuggingFace(raw: unknown, file: string): { config: ModelConfig; architecture: HfArchitecture; elle: JsonObject | null } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new CheckpointError('FORMAT', `${file}: not a JSON object`, { file })
  const c = raw as Record<string, unknown>
  const refuse = (field: string, why: string): never => {
    throw new CheckpointError('UNSUPPORTED', `${file}: ${field} ${why}`, { file, field })
  }
  const int = (field: string): number => {
    const v = c[field]
    if (!Number.isSafeInteger(v) || (v as number) <= 0)
      throw new CheckpointError('BAD_CONFIG', `${file}: ${field} must be a positive integer, got ${JSON.stringify(v)}`, { file, field })
    return v as number
  }
  const num = (field: string, fallback: number): number => {
    const v = c[field] ?? fallback
    if (typeof v !== 'number') throw new CheckpointError('BAD_CONFIG', `${file}: ${field} must be a number, got ${JSON.stringify(v)}`, { file, field })
    return v
  }
  const archs = Array.isArray(c.architectures) ? (c.architectures as unknown[]) : []
  const architecture = archs.find((a): a is HfArchitecture => a === 'BertForMaskedLM' || a === 'GPT2LMHeadModel')
  if (!architecture) return refuse('architectures', `is ${JSON.stringify(c.architectures)}; only BertForMaskedLM and GPT2LMHeadModel can be imported`)
  const eps = (field: string): void => {
    const v = num(field, NaN)
    if (Math.abs(v - LAYER_NORM_EPS) > 1e-12) refuse(field, `is ${v}; the workbench's LayerNorm uses ${LAYER_NORM_EPS}`)
  }
  const act = (field: string, fallback: string): void => {
    const v = c[field] ?? fallback
    if (typeof v !== 'string' || !TANH_GELU_NAMES.has(v)) refuse(field, `is ${JSON.stringify(v)}; the workbench's model uses the tanh GELU ("${HF_ACTIVATION}")`)
  }
  let shape: Omit<ModelConfig, 'kind' | 'norm' | 'headSize'>
  let heads: number
  let kind: ModelConfig['kind']
  if (architecture === 'BertForMaskedLM') {
    kind = 'bert'
    act('hidden_act', 'gelu')
    eps('layer_norm_eps')
    if ((c.position_embedding_type ?? 'absolute') !== 'absolute') refuse('position_embedding_type', `is ${JSON.stringify(c.position_embedding_type)}; only "absolute" is supported`)
    if (c.is_decoder === true || c.add_cross_attention === true) refuse('is_decoder', 'is set; only the BERT encoder can be imported')
    heads = int('num_attention_heads')
    shape = {
      layers: int('num_hidden_layers'),
      heads,
      hidden: int('hidden_size'),
      ffn: int('intermediate_size'),
      vocabSize: int('vocab_size'),
      maxLength: int('max_position_embeddings'),
      dropout: num('hidden_dropout_prob', 0.1)
    }
  } else {
    kind = 'gpt'
    act('activation_function', 'gelu_new')
    eps('layer_norm_epsilon')
    if (c.scale_attn_weights === false) refuse('scale_attn_weights', 'is false; the workbench always scales attention by 1/sqrt(head size)')
    if (c.scale_attn_by_inverse_layer_idx === true) refuse('scale_attn_by_inverse_layer_idx', 'is true; the workbench has no per-layer attention scaling')
    heads = int('n_head')
    const hidden = int('n_embd')
    shape = {
      layers: int('n_layer'),
      heads,
      hidden,
      ffn: c.n_inner === null || c.n_inner === undefined ? 4 * hidden : int('n_inner'),
      vocabSize: int('vocab_size'),
      maxLength: int('n_positions'),
      dropout: num('resid_pdrop', 0.1)
    }
  }
  const elle = c.elle !== undefined && c.elle !== null && typeof c.elle === 'object' && !Array.isArray(c.elle) ? (c.elle as JsonObject) : null
  // Keep fields of our own ModelConfig that HF has no place for; HF's sizes win over them.
  const ours = elle && typeof elle.model === 'object' && elle.model !== null && !Array.isArray(elle.model) ? (elle.model as Record<string, JsonValue>) : {}
  const config = { ...ours, kind, norm: kind === 'bert' ? 'post' : 'pre', ...shape, headSize: shape.hidden / heads } as ModelConfig
  try {
    validateModelConfig(config)
  } catch (e) {
    throw new CheckpointError('BAD_CONFIG', `${file}: ${(e as Error).message}`, { file })
  }
  return { config, architecture, elle }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer files

type TemplatePiece = { SpecialToken: { id: string; type_id: number } } | { Sequence: { id: 'A' | 'B'; type_id: number } }

/** BERT inputs are "<cls> text <sep>" in training; this post-processor makes HF's tokenizer add them. */
function bertTemplate(ids: SpecialIds): JsonObject {
  const sp = (id: string, typeId: number): TemplatePiece => ({ SpecialToken: { id, type_id: typeId } })
  const seq = (id: 'A' | 'B', typeId: number): TemplatePiece => ({ Sequence: { id, type_id: typeId } })
  const cls = SPECIAL_TOKENS.cls
  const sep = SPECIAL_TOKENS.sep
  return {
    type: 'TemplateProcessing',
    single: [sp(cls, 0), seq('A', 0), sp(sep, 0)],
    pair: [sp(cls, 0), seq('A', 0), sp(sep, 0), seq('B', 1), sp(sep, 1)],
    special_tokens: {
      [cls]: { id: cls, ids: [ids.cls], tokens: [cls] },
      [sep]: { id: sep, ids: [ids.sep], tokens: [sep] }
    }
  } as unknown as JsonObject
}

/** JSON with sorted keys, to compare two values regardless of key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(v)
}

/** Serialise tokenizer JSON the way the `tokenizers` library does, so files stay byte-identical across a round trip. */
async function nativeSerialize(json: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'elle-tok-'))
  try {
    const file = path.join(dir, TOKENIZER_FILE)
    Tokenizer.fromJSON(json).nativeTokenizer().save(file, true)
    return await fs.readFile(file, 'utf8')
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}

function tokenizerConfigs(tok: Tokenizer, cfg: ModelConfig): { tokenizerConfig: JsonObject; specialTokensMap: JsonObject } {
  const prompts = Array.from({ length: tok.promptSlots }, (_, i) => promptToken(i))
  const specials: JsonObject = {
    bos_token: SPECIAL_TOKENS.bos,
    eos_token: SPECIAL_TOKENS.eos,
    unk_token: SPECIAL_TOKENS.unk,
    pad_token: SPECIAL_TOKENS.pad,
    cls_token: SPECIAL_TOKENS.cls,
    sep_token: SPECIAL_TOKENS.sep,
    mask_token: SPECIAL_TOKENS.mask,
    additional_special_tokens: prompts
  }
  return {
    tokenizerConfig: {
      tokenizer_class: 'PreTrainedTokenizerFast',
      model_max_length: cfg.maxLength,
      padding_side: 'right',
      clean_up_tokenization_spaces: false,
      add_prefix_space: false,
      ...specials
    },
    specialTokensMap: specials
  }
}

// ---------------------------------------------------------------------------------------------
// Export / import

export interface HfExportOptions {
  /** Replace `outDir` if it already holds a Hugging Face model directory (default: refuse a non-empty outDir). */
  overwrite?: boolean
}

export interface HfExportResult {
  path: string
  architecture: HfArchitecture
  bytes: number
  files: Array<{ name: string; bytes: number; sha256: string }>
  /** The exported checkpoint's sha256. */
  checkpointSha256: string
}

async function checkTarget(dir: string, overwrite: boolean | undefined, canReplace: (d: string) => Promise<boolean>, what: string): Promise<void> {
  const abs = path.resolve(dir)
  if (!(await exists(abs))) return
  const st = await fs.stat(abs)
  if (!st.isDirectory()) throw new CheckpointError('NOT_REPLACEABLE', `${abs} exists and is not a directory`, { file: abs })
  if ((await fs.readdir(abs)).length === 0) return
  if (!overwrite) throw new CheckpointError('NOT_REPLACEABLE', `${abs} already exists and is not empty (overwrite it with --force)`, { file: abs })
  if (!(await canReplace(abs))) throw new CheckpointError('NOT_REPLACEABLE', `${abs} is not empty and does not hold a ${what}; refusing to replace it`, { file: abs })
}

async function isHfDir(dir: string): Promise<boolean> {
  try {
    const c = JSON.parse(await fs.readFile(path.join(dir, HF_FILES.config), 'utf8')) as { architectures?: unknown }
    return Array.isArray(c.architectures)
  } catch {
    return false
  }
}

/** Writes a checkpoint as a Hugging Face model directory (atomically, like a checkpoint). */
export async function exportHuggingFace(checkpointDir: string, outDir: string, opts: HfExportOptions = {}): Promise<HfExportResult> {
  const ckpt = await loadCheckpoint(checkpointDir, { optimizer: false })
  const cfg = ckpt.config
  assertExportable(cfg)
  // Masked units (a growth ramp still under way) have no Hugging Face equivalent.
  if (ckpt.state.growth != null && parseGrowthState(ckpt.state.growth, cfg).ramp !== null) {
    throw new CheckpointError(
      'UNSUPPORTED',
      `${checkpointDir} is in the middle of a growth ramp (masks on new units are below 1); Hugging Face models cannot represent them: export a checkpoint taken after the ramp`,
      {
        field: 'state.growth'
      }
    )
  }
  const tensors = toHuggingFaceTensors(cfg, ckpt.weights)
  const elle: JsonObject = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    checkpointSha256: ckpt.sha256,
    model: { ...cfg },
    state: ckpt.state,
    training: ckpt.training,
    experiment: ckpt.experiment
  }
  const hfConfig = huggingFaceConfig(cfg, ckpt.tokenizer.specialIds, elle)
  let tokJson = ckpt.tokenizer.json
  if (cfg.kind === 'bert') {
    const parsed = JSON.parse(tokJson) as Record<string, unknown>
    parsed.post_processor = bertTemplate(ckpt.tokenizer.specialIds)
    tokJson = await nativeSerialize(JSON.stringify(parsed))
  }
  const { tokenizerConfig, specialTokensMap } = tokenizerConfigs(ckpt.tokenizer, cfg)
  await checkTarget(outDir, opts.overwrite, isHfDir, 'Hugging Face model')
  const abs = path.resolve(outDir)
  const files = await writeDirAtomic(
    abs,
    async (tmp) => {
      const out: Array<{ name: string; bytes: number; sha256: string }> = []
      const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`
      out.push({ name: HF_FILES.config, ...(await writeFileSynced(path.join(tmp, HF_FILES.config), json(hfConfig))) })
      // transformers refuses safetensors files whose metadata lacks format "pt".
      out.push({ name: HF_FILES.model, ...(await writeSafetensors(path.join(tmp, HF_FILES.model), tensors, { format: 'pt' })) })
      out.push({ name: HF_FILES.tokenizer, ...(await writeFileSynced(path.join(tmp, HF_FILES.tokenizer), tokJson)) })
      out.push({ name: HF_FILES.tokenizerConfig, ...(await writeFileSynced(path.join(tmp, HF_FILES.tokenizerConfig), json(tokenizerConfig))) })
      out.push({ name: HF_FILES.specialTokens, ...(await writeFileSynced(path.join(tmp, HF_FILES.specialTokens), json(specialTokensMap))) })
      return out
    },
    { canReplace: isHfDir, what: 'Hugging Face model' }
  )
  return { path: abs, architecture: architectureOf(cfg), bytes: files.reduce((a, f) => a + f.bytes, 0), files, checkpointSha256: ckpt.sha256 }
}

export interface HfImportOptions {
  /** Replace `outCheckpointDir` if it already holds a checkpoint (default: refuse a non-empty directory). */
  overwrite?: boolean
}

export interface HfImportResult extends CheckpointWriteResult {
  architecture: HfArchitecture
  config: ModelConfig
}

/** Reads a BertForMaskedLM / GPT2LMHeadModel directory (as exported above) into a checkpoint without optimizer state. */
export async function importHuggingFace(dir: string, outCheckpointDir: string, opts: HfImportOptions = {}): Promise<HfImportResult> {
  const abs = path.resolve(dir)
  if (!(await exists(abs))) throw new CheckpointError('NOT_FOUND', `Hugging Face model directory not found: ${abs}`, { file: abs })
  const missing: string[] = []
  for (const n of [HF_FILES.config, HF_FILES.model, HF_FILES.tokenizer]) if (!(await exists(path.join(abs, n)))) missing.push(n)
  if (missing.length > 0) {
    const hint =
      missing.includes(HF_FILES.model) && (await exists(path.join(abs, 'pytorch_model.bin'))) ? ' (pytorch_model.bin is not read; save with safe_serialization=True)' : ''
    throw new CheckpointError('MISSING_FILE', `${abs}: missing ${missing.join(', ')}${hint}`, { file: path.join(abs, missing[0] as string) })
  }
  const cfgPath = path.join(abs, HF_FILES.config)
  let rawCfg: unknown
  try {
    rawCfg = JSON.parse(await fs.readFile(cfgPath, 'utf8'))
  } catch (e) {
    throw new CheckpointError('BAD_JSON', `${cfgPath}: not valid JSON (${(e as Error).message})`, { file: cfgPath })
  }
  const { config, architecture, elle } = modelConfigFromHuggingFace(rawCfg, cfgPath)

  const modelPath = path.join(abs, HF_FILES.model)
  const stored = await readSafetensors(modelPath)
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>()
  for (const [n, t] of stored.tensors) {
    if (IGNORED_ON_IMPORT.some((re) => re.test(n))) continue
    tensors.set(n, { shape: t.shape, data: toFloat32(t, `${modelPath}: tensor "${n}"`) })
  }
  const weights = fromHuggingFaceTensors(config, tensors, modelPath)

  // Undo the export's BERT post-processor so the tokenizer (and its hash) is the checkpoint's again.
  const tokPath = path.join(abs, HF_FILES.tokenizer)
  let tokenizer: Tokenizer
  try {
    let text = await fs.readFile(tokPath, 'utf8')
    const parsed = JSON.parse(text) as Record<string, unknown>
    const probe = Tokenizer.fromJSON(text)
    if (parsed.post_processor && canonical(parsed.post_processor) === canonical(bertTemplate(probe.specialIds))) {
      parsed.post_processor = null
      text = await nativeSerialize(JSON.stringify(parsed))
    }
    tokenizer = Tokenizer.fromJSON(text)
  } catch (e) {
    if (e instanceof SyntaxError || e instanceof DataError) throw new CheckpointError('TOKENIZER', `${tokPath}: ${e.message}`, { file: tokPath })
    throw e
  }
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new CheckpointError('TOKENIZER_MISMATCH', `${tokPath}: tokenizer has ${tokenizer.vocabSize} tokens but ${HF_FILES.config} vocab_size is ${config.vocabSize}`, {
      file: tokPath,
      field: 'vocab_size'
    })
  }

  const pick = (k: string): JsonObject => {
    const v = elle?.[k]
    if (v === undefined || v === null) return {}
    assertJsonObject(v, `elle.${k}`, cfgPath)
    return v
  }
  const experiment = pick('experiment')
  await checkTarget(outCheckpointDir, opts.overwrite, isCheckpointDir, 'checkpoint')
  const result = await saveCheckpoint(outCheckpointDir, {
    config,
    weights,
    tokenizer,
    state: pick('state'),
    training: pick('training'),
    experiment: elle ? experiment : { ...experiment, importedFrom: { path: abs, architecture, modelSha256: stored.sha256 } }
  })
  return { ...result, architecture, config }
}
