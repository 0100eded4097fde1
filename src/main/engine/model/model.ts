// BERT-style encoder (MLM) and GPT-style decoder (causal LM) over one explicit parameter map.
//
// All activations are kept as [B*T, d] matrices; attention reshapes to [B*H, T, hd] per head.
// Parameters are plain tf.Variables named by role ("layers.0.attn.q.kernel", ...) so growth operators
// can address, read and replace every tensor. Kernels are [in, out].
import * as tf from '@tensorflow/tfjs'
import { IGNORE_INDEX, type ModelConfig, trainingFlopsPerToken, validateModelConfig } from './config'
import { addRowVector, crossEntropy, dropout, gatherRows, gelu, layerNorm, linear, matmul, matmulBT } from './ops'
import { maskedLayerNorm } from '../growth/masked-ops'
import { Rng, hashSeed } from './rng'

export { IGNORE_INDEX }

export interface WeightData {
  shape: number[]
  data: Float32Array
}
export type Weights = Record<string, WeightData>

export interface ForwardOptions {
  /** Enables dropout (if config.dropout > 0). */
  training?: boolean
  /** Dropout seed; vary it per step for reproducible runs. */
  seed?: number
  /** Keys equal to this token id are masked out of attention. */
  padId?: number
}

export interface LossBatch {
  /** [B, T] int32 token ids. */
  inputIds: tf.Tensor2D
  /** [B, T] int32 targets, IGNORE_INDEX = no loss. MLM: required. LM: defaults to next token. */
  labels?: tf.Tensor2D
  /**
   * The same ids and labels as JS arrays (row-major [B*T]). The loss takes the labelled positions from
   * these, not from the tensors: reading a tensor back is synchronous on wasm but impossible on WebGPU.
   * Without them the tensors are read synchronously (wasm and cpu only).
   */
  host?: { inputIds: Int32Array; labels?: Int32Array }
}

/** Values of named tensors, read with one async read each (started together). */
export async function readTensors(tensors: Map<string, tf.Tensor>): Promise<Weights> {
  const entries = [...tensors]
  const values = await Promise.all(entries.map(([, t]) => t.data()))
  const out: Weights = {}
  entries.forEach(([name, t], i) => (out[name] = { shape: [...t.shape], data: values[i] as Float32Array }))
  return out
}

export interface ModelOptions {
  seed?: number
  /** Std of the normal init of kernels and embeddings (BERT: 0.02). */
  initStd?: number
}

/**
 * Masks of a model that is being grown (masked structural growth, docs/elle.md). Only set between a
 * growth and the end of its ramp; a model without masks runs the plain forward pass.
 */
export interface GrowthMasks {
  /** [hidden] weight of each hidden unit in [0, 1]: scales its residual-stream writes and its share of LayerNorm statistics. */
  hidden: Float32Array | null
  /** Per layer: gate m in [0, 1] (the layer computes m * layer(x) + (1 - m) * x) or null for a plain layer. */
  layerGates: (number | null)[]
}

let modelCounter = 0

/** Role name -> shape for a config; the single source of truth for the parameter layout. */
export function parameterShapes(cfg: ModelConfig): Map<string, number[]> {
  const { hidden: d, ffn: f, vocabSize: V } = cfg
  const s = new Map<string, number[]>()
  const dense = (name: string, i: number, o: number): void => {
    s.set(`${name}.kernel`, [i, o])
    s.set(`${name}.bias`, [o])
  }
  const ln = (name: string): void => {
    s.set(`${name}.gamma`, [d])
    s.set(`${name}.beta`, [d])
  }
  s.set('embed.token', [V, d])
  s.set('embed.position', [cfg.maxLength, d])
  if (cfg.kind === 'bert') ln('embed.ln')
  for (let i = 0; i < cfg.layers; i++) {
    const p = `layers.${i}`
    for (const m of ['q', 'k', 'v']) dense(`${p}.attn.${m}`, d, d)
    dense(`${p}.attn.o`, d, d)
    ln(`${p}.ln1`)
    dense(`${p}.ffn.in`, d, f)
    dense(`${p}.ffn.out`, f, d)
    ln(`${p}.ln2`)
  }
  if (cfg.norm === 'pre') ln('final.ln')
  if (cfg.kind === 'bert') {
    dense('head.dense', d, d)
    ln('head.ln')
    s.set('head.bias', [V])
  }
  return s
}

/** Which params get weight decay: not biases, LayerNorm parameters or the vocab bias. */
export function isDecayed(name: string): boolean {
  return !/(\.bias|\.gamma|\.beta)$/.test(name) && name !== 'head.bias'
}

function initValues(name: string, shape: number[], seed: number, std: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1)
  const out = new Float32Array(n)
  if (name.endsWith('.gamma')) out.fill(1)
  else if (name.endsWith('.kernel') || (name.startsWith('embed.') && !name.startsWith('embed.ln'))) {
    // One stream per tensor name: adding layers later does not reshuffle the others.
    const rng = new Rng(hashSeed(seed, name))
    for (let i = 0; i < n; i++) out[i] = rng.normal() * std
  }
  return out
}

/** What a replica thread needs to rebuild a model besides its trained weights (TransformerModel.replicaBlueprint). */
export interface ReplicaBlueprint {
  /** 'transformer', or the subclass's own kind (PNN: 'pnn') */
  kind: string
  config: ModelConfig
  /** frozen tensors the model computes with (PNN's earlier columns and their laterals); {} for none */
  constants: Weights
}

export class TransformerModel {
  readonly config: ModelConfig
  /** Role name -> variable, in a fixed order (embeddings, layers bottom-up, head). */
  readonly params = new Map<string, tf.Variable>()
  private readonly causalMasks = new Map<number, tf.Tensor>()
  /** Kept tensors for GrowthMasks.hidden: the mask and its normalised form (LayerNorm weights). */
  private growth: { masks: GrowthMasks; hidden: tf.Tensor | null; lnWeights: tf.Tensor | null } | null = null

  constructor(config: ModelConfig, opts: ModelOptions = {}) {
    this.config = validateModelConfig({ ...config })
    const seed = opts.seed ?? 0
    const std = opts.initStd ?? 0.02
    const prefix = `elle${modelCounter++}/` // tf variable names must be globally unique
    for (const [name, shape] of parameterShapes(this.config)) {
      const t = tf.tensor(initValues(name, shape, seed, std), shape, 'float32')
      this.params.set(name, tf.variable(t, true, prefix + name))
      t.dispose()
    }
  }

  private p(name: string): tf.Variable {
    const v = this.params.get(name)
    if (!v) throw new Error(`no parameter named ${name}`)
    return v
  }

  /**
   * How a data-parallel replica thread rebuilds this model: its kind, config, and the frozen tensors it
   * computes with beyond its trained variables (training/replica-model.ts builds it; the trained variables
   * come from the shared weights). A subclass with more structure must override it.
   */
  async replicaBlueprint(): Promise<ReplicaBlueprint> {
    if (this.constructor !== TransformerModel) throw new Error(`${this.constructor.name} does not say how a replica thread rebuilds it`)
    return { kind: 'transformer', config: this.config, constants: {} }
  }

  /** Analytic training FLOPs per token (forward + backward) at sequence length `seqLen`; a model with
   *  more structure than its config says (PNN's frozen columns and laterals) overrides it. */
  trainingFlopsPerToken(seqLen: number): number {
    return trainingFlopsPerToken(this.config, seqLen)
  }

  paramCount(): number {
    let n = 0
    for (const v of this.params.values()) n += v.size
    return n
  }

  /** Every parameter's values, read asynchronously (WebGPU has no synchronous read). */
  async readWeights(): Promise<Weights> {
    return readTensors(this.params)
  }

  /** Replaces every parameter; names and shapes must match exactly (errors name the tensor). */
  setWeights(weights: Weights): void {
    const missing = [...this.params.keys()].filter((n) => !(n in weights))
    const unknown = Object.keys(weights).filter((n) => !this.params.has(n))
    if (missing.length || unknown.length) {
      throw new Error(`setWeights: missing [${missing.join(', ')}], unknown [${unknown.join(', ')}]`)
    }
    for (const [name, v] of this.params) {
      const w = weights[name]!
      const size = w.shape.reduce((a, b) => a * b, 1)
      if (w.shape.length !== v.shape.length || w.shape.some((s, i) => s !== v.shape[i]) || w.data.length !== size) {
        throw new Error(`setWeights: ${name} has shape [${w.shape}] (${w.data.length} values), expected [${v.shape}]`)
      }
    }
    for (const [name, v] of this.params) {
      const w = weights[name]!
      tf.tidy(() => v.assign(tf.tensor(w.data, w.shape, 'float32')))
    }
  }

  /** Copies every parameter of `source` on the device (no read back); names and shapes must match exactly. */
  copyWeightsFrom(source: TransformerModel): void {
    const missing = [...this.params.keys()].filter((n) => !source.params.has(n))
    const unknown = [...source.params.keys()].filter((n) => !this.params.has(n))
    if (missing.length || unknown.length) throw new Error(`copyWeightsFrom: missing [${missing.join(', ')}], unknown [${unknown.join(', ')}]`)
    for (const [name, v] of this.params) {
      const w = source.params.get(name)!
      if (w.shape.join() !== v.shape.join()) throw new Error(`copyWeightsFrom: ${name} has shape [${w.shape}], expected [${v.shape}]`)
    }
    for (const [name, v] of this.params) tf.tidy(() => v.assign(source.params.get(name)!.clone()))
  }

  /** Sets (or with null clears) the growth masks used by every later forward pass. */
  setGrowthMasks(masks: GrowthMasks | null): void {
    if (masks) {
      const { hidden: d, layers } = this.config
      if (masks.hidden && masks.hidden.length !== d) throw new Error(`setGrowthMasks: hidden mask has ${masks.hidden.length} units, expected ${d}`)
      if (masks.layerGates.length !== layers) throw new Error(`setGrowthMasks: ${masks.layerGates.length} layer gates, expected ${layers}`)
      const bad = [...(masks.hidden ?? []), ...masks.layerGates.filter((g) => g !== null)].find((m) => !(m >= 0 && m <= 1))
      if (bad !== undefined) throw new Error(`setGrowthMasks: mask values must be in [0, 1], got ${bad}`)
      if (masks.hidden && !masks.hidden.some((m) => m > 0)) throw new Error('setGrowthMasks: the hidden mask has no active unit')
    }
    this.clearGrowthTensors()
    if (!masks) return
    const h = masks.hidden
    let sum = 0
    h?.forEach((m) => (sum += m))
    this.growth = {
      masks: { hidden: h ? Float32Array.from(h) : null, layerGates: [...masks.layerGates] },
      hidden: h ? tf.keep(tf.tensor1d(h, 'float32')) : null,
      lnWeights: h
        ? tf.keep(
            tf.tensor1d(
              h.map((m) => m / sum),
              'float32'
            )
          )
        : null
    }
  }

  getGrowthMasks(): GrowthMasks | null {
    const m = this.growth?.masks
    return m ? { hidden: m.hidden ? Float32Array.from(m.hidden) : null, layerGates: [...m.layerGates] } : null
  }

  private clearGrowthTensors(): void {
    this.growth?.hidden?.dispose()
    this.growth?.lnWeights?.dispose()
    this.growth = null
  }

  dispose(): void {
    this.clearGrowthTensors()
    for (const v of this.params.values()) v.dispose()
    this.params.clear()
    for (const m of this.causalMasks.values()) m.dispose()
    this.causalMasks.clear()
  }

  // ------------------------------------------------------------------------------------------
  // Forward

  /** [1, 1, T, T] additive mask: 0 on and below the diagonal, -1e9 above. Cached per length. */
  private causalMask(T: number): tf.Tensor {
    let m = this.causalMasks.get(T)
    if (!m) {
      const data = new Float32Array(T * T)
      for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) data[i * T + j] = -1e9
      m = tf.keep(tf.tensor4d(data, [1, 1, T, T]))
      this.causalMasks.set(T, m)
    }
    return m
  }

  private attentionMask(ids: tf.Tensor2D, padId?: number): tf.Tensor | null {
    const [B, T] = ids.shape
    let mask: tf.Tensor | null = this.config.kind === 'gpt' ? this.causalMask(T) : null
    if (padId !== undefined) {
      const pad = tf.mul(tf.cast(tf.equal(ids, padId), 'float32'), -1e9).reshape([B, 1, 1, T])
      mask = mask ? tf.add(mask, pad) : pad
    }
    return mask
  }

  private attention(x: tf.Tensor, l: number, B: number, T: number, mask: tf.Tensor | null, drop: Dropper): tf.Tensor {
    const { heads: H, headSize: hd, hidden: d } = this.config
    const proj = (m: string, t: tf.Tensor): tf.Tensor => linear(t, this.p(`layers.${l}.attn.${m}.kernel`), this.p(`layers.${l}.attn.${m}.bias`))
    const q = tf.mul(proj('q', x), 1 / Math.sqrt(hd))
    const qh = q
      .reshape([B, T, H, hd])
      .transpose([0, 2, 1, 3])
      .reshape([B * H, T, hd])
    // K comes out already transposed per head ([hd, T]) so QK^T is a plain matmul.
    const kt = proj('k', x)
      .reshape([B, T, H, hd])
      .transpose([0, 2, 3, 1])
      .reshape([B * H, hd, T])
    const vh = proj('v', x)
      .reshape([B, T, H, hd])
      .transpose([0, 2, 1, 3])
      .reshape([B * H, T, hd])
    let scores = matmul(qh, kt)
    if (mask) scores = tf.add(scores.reshape([B, H, T, T]), mask).reshape([B * H, T, T])
    const probs = drop(tf.softmax(scores))
    const ctx = matmul(probs, vh)
      .reshape([B, H, T, hd])
      .transpose([0, 2, 1, 3])
      .reshape([B * T, d])
    return proj('o', ctx)
  }

  private ffn(x: tf.Tensor, l: number): tf.Tensor {
    const p = `layers.${l}.ffn`
    const h = gelu(linear(x, this.p(`${p}.in.kernel`), this.p(`${p}.in.bias`)))
    return linear(h, this.p(`${p}.out.kernel`), this.p(`${p}.out.bias`))
  }

  private ln(x: tf.Tensor, name: string): tf.Tensor {
    const w = this.growth?.lnWeights
    if (w) return maskedLayerNorm(x, this.p(`${name}.gamma`), this.p(`${name}.beta`), w)
    return layerNorm(x, this.p(`${name}.gamma`), this.p(`${name}.beta`))
  }

  /** Scales a residual-stream write by the hidden growth mask (identity without masks). */
  private maskHidden(x: tf.Tensor): tf.Tensor {
    const m = this.growth?.hidden
    return m ? tf.mul(x, m) : x
  }

  /** Final hidden states [B*T, d] (before the LM head). */
  encode(inputIds: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
    const cfg = this.config
    const [B, T] = inputIds.shape
    if (T > cfg.maxLength) throw new Error(`sequence length ${T} exceeds maxLength ${cfg.maxLength}`)
    if (inputIds.dtype !== 'int32') throw new Error(`inputIds must be int32, got ${inputIds.dtype}`)
    const d = cfg.hidden
    const drop = makeDropper(opts.training ? cfg.dropout : 0, opts.seed ?? 0)

    let x = gatherRows(this.p('embed.token'), inputIds.reshape([B * T]))
    const pos = this.p('embed.position')
    const posT = T === cfg.maxLength ? pos : tf.slice(pos, [0, 0], [T, d])
    x = addRowVector(x.reshape([B, T * d]), posT.reshape([T * d])).reshape([B * T, d])
    if (cfg.kind === 'bert') x = this.ln(x, 'embed.ln')
    x = drop(this.maskHidden(x))

    const mask = this.attentionMask(inputIds, opts.padId)
    for (let l = 0; l < cfg.layers; l++) {
      const p = `layers.${l}`
      const input = x
      if (cfg.norm === 'post') {
        x = this.maskHidden(this.ln(tf.add(x, drop(this.attention(x, l, B, T, mask, drop))), `${p}.ln1`))
        x = this.maskHidden(this.ln(tf.add(x, drop(this.ffn(x, l))), `${p}.ln2`))
      } else {
        x = tf.add(x, this.maskHidden(drop(this.attention(this.ln(x, `${p}.ln1`), l, B, T, mask, drop))))
        x = tf.add(x, this.maskHidden(drop(this.ffn(this.ln(x, `${p}.ln2`), l))))
      }
      const gate = this.growth?.masks.layerGates[l] ?? null
      if (gate !== null) x = tf.add(tf.mul(x, gate), tf.mul(input, 1 - gate))
    }
    if (cfg.norm === 'pre') x = this.ln(x, 'final.ln')
    return x as tf.Tensor2D
  }

  /** LM head on selected hidden rows [n, d] -> [n, V]; output matrix tied to embed.token. */
  headLogits(h: tf.Tensor): tf.Tensor2D {
    if (this.config.kind === 'bert') {
      h = gelu(linear(h, this.p('head.dense.kernel'), this.p('head.dense.bias')))
      h = this.ln(h, 'head.ln')
    }
    const logits = matmulBT(h, this.p('embed.token'))
    return (this.config.kind === 'bert' ? addRowVector(logits, this.p('head.bias')) : logits) as tf.Tensor2D
  }

  /** Logits for every position: [B, T, V]. */
  logits(inputIds: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    const [B, T] = inputIds.shape
    return tf.tidy(() => this.headLogits(this.encode(inputIds, opts)).reshape([B, T, this.config.vocabSize]))
  }

  /** Mean cross-entropy over labelled positions; the head only runs on those rows. */
  private labelledLoss(inputIds: tf.Tensor2D, labels: Int32Array, opts: ForwardOptions): tf.Scalar {
    const { rows, targets } = labelledPositions(labels)
    if (rows.length === 0) throw new Error('loss: the batch has no labelled positions')
    const h = this.encode(inputIds, opts)
    const sel = rows.length === labels.length ? h : gatherRows(h, tf.tensor1d(rows, 'int32'))
    return crossEntropy(this.headLogits(sel), targets)
  }

  /** MLM loss: labels hold the original token at masked positions and IGNORE_INDEX elsewhere. */
  mlmLoss(batch: LossBatch, opts: ForwardOptions = {}): tf.Scalar {
    if (!batch.labels) throw new Error('mlmLoss: batch.labels is required')
    checkSameShape(batch.inputIds, batch.labels)
    const labels = hostLabels(batch)!
    return tf.tidy(() => this.labelledLoss(batch.inputIds, labels, opts))
  }

  /** Next-token loss. Without labels, position t predicts inputIds[t+1] (the last position none). */
  lmLoss(batch: LossBatch, opts: ForwardOptions = {}): tf.Scalar {
    const [B, T] = batch.inputIds.shape
    let labels: Int32Array
    if (batch.labels) {
      checkSameShape(batch.inputIds, batch.labels)
      labels = hostLabels(batch)!
    } else {
      const ids = batch.host?.inputIds ?? (batch.inputIds.dataSync() as Int32Array)
      if (ids.length !== B * T) throw new Error(`host inputIds has ${ids.length} values, expected ${B * T}`)
      labels = new Int32Array(B * T).fill(IGNORE_INDEX)
      for (let b = 0; b < B; b++) for (let t = 0; t + 1 < T; t++) labels[b * T + t] = ids[b * T + t + 1]!
      if (opts.padId !== undefined) for (let i = 0; i < labels.length; i++) if (labels[i] === opts.padId) labels[i] = IGNORE_INDEX
    }
    return tf.tidy(() => this.labelledLoss(batch.inputIds, labels, opts))
  }

  /** The loss of this model's kind. */
  loss(batch: LossBatch, opts: ForwardOptions = {}): tf.Scalar {
    return this.config.kind === 'bert' ? this.mlmLoss(batch, opts) : this.lmLoss(batch, opts)
  }
}

type Dropper = (x: tf.Tensor) => tf.Tensor

/** Each dropout site in a forward pass gets its own seed derived from the step seed. */
function makeDropper(rate: number, seed: number): Dropper {
  let site = 0
  return (x) => (rate > 0 ? dropout(x, rate, hashSeed(seed, `drop${site++}`)) : x)
}

/** Row indices (into the flattened [B*T]) and targets of the labelled positions (not IGNORE_INDEX). */
export function labelledPositions(labels: ArrayLike<number>): { rows: Int32Array; targets: Int32Array } {
  const rows: number[] = []
  const targets: number[] = []
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!
    if (l === IGNORE_INDEX) continue
    rows.push(i)
    targets.push(l)
  }
  return { rows: Int32Array.from(rows), targets: Int32Array.from(targets) }
}

/** The batch's labels as a JS array: its host copy, else read from the tensor (synchronous: not on WebGPU). */
export function hostLabels(batch: LossBatch): Int32Array | null {
  if (!batch.labels) return null
  const labels = batch.host?.labels ?? (batch.labels.dataSync() as Int32Array)
  if (labels.length !== batch.labels.size) throw new Error(`host labels has ${labels.length} values, expected ${batch.labels.size}`)
  return labels
}

function checkSameShape(ids: tf.Tensor, labels: tf.Tensor): void {
  if (ids.shape.join() !== labels.shape.join()) {
    throw new Error(`labels shape [${labels.shape}] differs from inputIds shape [${ids.shape}]`)
  }
}
