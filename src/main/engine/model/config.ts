// Model configuration: one typed object, validated in one place, plus the analytic FLOPs count.

/** Labels equal to this are ignored by the losses. */
export const IGNORE_INDEX = -100

export type ModelKind = 'bert' | 'gpt'
export type NormPlacement = 'post' | 'pre'

export interface ModelConfig {
  kind: ModelKind
  layers: number
  heads: number
  headSize: number
  /** Must equal heads * headSize. */
  hidden: number
  ffn: number
  vocabSize: number
  /** Number of learned position embeddings (longest sequence). */
  maxLength: number
  /** Dropout on embeddings, attention probabilities and residual branches. */
  dropout: number
  /** 'post' = BERT blocks, 'pre' = GPT-2 style blocks (adds a final LayerNorm). */
  norm: NormPlacement
}

/**
 * The one builder of a ModelConfig from a shape (a run config's model, a grown or final shape, a test's):
 * BERT -> post-LN, GPT -> pre-LN, no dropout, ffn = 4 x hidden, hidden = heads * headSize, each unless given.
 */
export function makeModelConfig(
  kind: ModelKind,
  shape: Partial<Omit<ModelConfig, 'kind'>> & Pick<ModelConfig, 'layers' | 'heads' | 'headSize' | 'vocabSize' | 'maxLength'>
): ModelConfig {
  const hidden = shape.hidden ?? shape.heads * shape.headSize
  // field by field: an optional field present as undefined (a parsed run config's `ffn`) takes its default too
  return {
    kind,
    layers: shape.layers,
    heads: shape.heads,
    headSize: shape.headSize,
    hidden,
    ffn: shape.ffn ?? 4 * hidden,
    vocabSize: shape.vocabSize,
    maxLength: shape.maxLength,
    dropout: shape.dropout ?? 0,
    norm: shape.norm ?? (kind === 'bert' ? 'post' : 'pre')
  }
}

export interface ValidateOptions {
  /** Special tokens (pad, cls, sep, mask, domain prompts...) the vocabulary must hold. */
  specialTokens?: number
}

/** Throws an Error naming the offending field; returns the config for chaining. */
export function validateModelConfig(cfg: ModelConfig, opts: ValidateOptions = {}): ModelConfig {
  const fail = (field: string, msg: string): never => {
    throw new Error(`ModelConfig.${field}: ${msg}`)
  }
  if (cfg.kind !== 'bert' && cfg.kind !== 'gpt') fail('kind', `must be 'bert' or 'gpt', got ${String(cfg.kind)}`)
  if (cfg.norm !== 'post' && cfg.norm !== 'pre') fail('norm', `must be 'post' or 'pre', got ${String(cfg.norm)}`)
  for (const f of ['layers', 'heads', 'headSize', 'hidden', 'ffn', 'vocabSize', 'maxLength'] as const) {
    const v = cfg[f]
    if (!Number.isInteger(v) || v <= 0) fail(f, `must be a positive integer, got ${v}`)
  }
  if (cfg.hidden % cfg.heads !== 0) fail('hidden', `${cfg.hidden} is not divisible by heads (${cfg.heads})`)
  if (cfg.hidden !== cfg.heads * cfg.headSize) {
    fail('hidden', `${cfg.hidden} != heads * headSize (${cfg.heads} * ${cfg.headSize} = ${cfg.heads * cfg.headSize})`)
  }
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) fail('dropout', `must be in [0, 1), got ${cfg.dropout}`)
  const special = opts.specialTokens ?? 0
  if (cfg.vocabSize <= special) {
    fail('vocabSize', `${cfg.vocabSize} leaves no room for ordinary tokens next to ${special} special tokens`)
  }
  return cfg
}

/**
 * Every parameter of a config (what TransformerModel.paramCount() returns), counted without building the
 * layout: the resource estimate calls it on shapes far too large to allocate (100 million layers).
 */
export function parameterCount(cfg: Pick<ModelConfig, 'kind' | 'layers' | 'hidden' | 'ffn' | 'vocabSize' | 'maxLength' | 'norm'>): number {
  const { hidden: d, ffn: f, vocabSize: V } = cfg
  const embeddings = V * d + cfg.maxLength * d + (cfg.kind === 'bert' ? 2 * d : 0)
  const perLayer = 4 * (d * d + d) + 2 * d * f + f + d + 4 * d // q, k, v, o; ffn in and out; 2 LayerNorms
  const finalLn = cfg.norm === 'pre' ? 2 * d : 0
  const head = cfg.kind === 'bert' ? d * d + d + 2 * d + V : 0 // dense, LayerNorm, vocab bias
  return embeddings + cfg.layers * perLayer + finalLn + head
}

/** Parameters outside the embeddings/output projection: the "N" of the 6N rule. */
export function nonEmbeddingParams(cfg: ModelConfig): number {
  const d = cfg.hidden
  const perLayer = 4 * (d * d + d) + 2 * d * cfg.ffn + cfg.ffn + d + 4 * d // attn + ffn + 2 LN
  return cfg.layers * perLayer
}

/**
 * Training FLOPs per token (forward + backward = 3x forward, a multiply-add = 2 FLOPs):
 *   6 * N_nonemb                      every weight matrix in the blocks (N_nonemb ~ 12 L d^2 for ffn = 4d)
 * + 6 * d * V * outFraction           tied output projection, on the positions that get logits
 * + 6 * d * d * outFraction           BERT MLM head dense layer
 * + 12 * L * T * d                 attention scores and weighted values: QK^T and PV are 2 matmuls of
 *                                     2*T*d FLOPs per token each, x3 for the backward. GPT computes the full
 *                                     T x T square too (the causal mask is additive), so it is counted fully.
 * outFraction = share of positions with a loss: 1 for GPT, the masking rate (0.15) for BERT, since we
 * project only masked positions. Embedding lookups, LayerNorm, softmax and GELU are not counted.
 */
export function trainingFlopsPerToken(cfg: ModelConfig, seqLen = cfg.maxLength, outFraction = cfg.kind === 'bert' ? 0.15 : 1): number {
  const d = cfg.hidden
  const head = cfg.kind === 'bert' ? d * d : 0
  return 6 * nonEmbeddingParams(cfg) + 6 * (d * cfg.vocabSize + head) * outFraction + 12 * cfg.layers * seqLen * d
}
