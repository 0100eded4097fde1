// Progressive Neural Networks (Rusu et al. 2016) as the reference's pnn_roberta / pnn_gpt build them:
// one column per domain, each a full model of the same size; earlier columns are frozen constants and
// feed every later column through lateral d×d adapters: before layer i of column k (and before its LM
// head, i = L) the input gets Σ_{j<k} W_{i,j,k} h_i^(j) + b_{i,j,k}, where h_i^(j) is column j's input
// to layer i (its own laterals included).
//
// The class is a TransformerModel, so the loop, the Trainer, evaluation and checkpoints use it unchanged:
// `params` is the newest column under the usual role names (what a checkpoint holds), its laterals are
// `auxiliaryParams` (the Trainer trains them with an AdamW of their own), `encode` and `headLogits` run
// the whole progressive stack, and `readColumn` points the output at an earlier column (validation of
// domain j uses column j).
import * as tf from '@tensorflow/tfjs'
// the model's modules, not its index (which loads the native matmul, a Node module): the GPU page bundles PNN
import { trainingFlopsPerToken, type ModelConfig } from '../model/config'
import { TransformerModel, type ForwardOptions, type ModelOptions, type ReplicaBlueprint, type Weights } from '../model/model'
import * as ops from '../model/ops'
import type { AuxiliaryParams } from '../model/train'
import { hashSeed } from '../model/rng'
import { disposeMap, readMap, tensorMap, type TensorMap } from './tensor-map'

type Tensor = tf.Tensor

/** A frozen column: its parameters (role names) and the laterals into it (`lateral.{i}.from{j}.*`). */
export interface PnnColumn {
  weights: Weights
  laterals: Weights
}

let pnnCounter = 0

export const lateralName = (i: number, from: number, part: 'kernel' | 'bias'): string => `lateral.${i}.from${from}.${part}`

export class PnnModel extends TransformerModel implements AuxiliaryParams {
  /** the newest column's laterals from every frozen column (trainable, outside the checkpointed roles) */
  readonly auxiliaryParams = new Map<string, tf.Variable>()
  /** frozen columns 0..k-1 as constants: parameters and incoming laterals */
  private readonly frozen: Array<{ params: TensorMap; laterals: TensorMap }>
  /** the column whose output the model returns; null: the newest (the one that trains) */
  readColumn: number | null = null
  private readonly causal = new Map<number, Tensor>()

  constructor(config: ModelConfig, frozen: readonly PnnColumn[], opts: ModelOptions = {}) {
    super(config, opts)
    this.frozen = frozen.map((c) => ({ params: tensorMap(c.weights), laterals: tensorMap(c.laterals) }))
    const k = frozen.length
    const d = config.hidden
    const prefix = `pnn${pnnCounter++}/`
    for (let i = 0; i <= config.layers; i++) {
      for (let j = 0; j < k; j++) {
        const rng = hashSeed(opts.seed ?? 0, `lateral/${i}/${j}`)
        const kernel = tf.randomNormal([d, d], 0, opts.initStd ?? 0.02, 'float32', rng)
        const bias = tf.zeros([d])
        this.auxiliaryParams.set(lateralName(i, j, 'kernel'), tf.variable(kernel, true, prefix + lateralName(i, j, 'kernel')))
        this.auxiliaryParams.set(lateralName(i, j, 'bias'), tf.variable(bias, true, prefix + lateralName(i, j, 'bias')))
        tf.dispose([kernel, bias])
      }
    }
  }

  /** Number of columns (frozen ones and the newest). */
  get columns(): number {
    return this.frozen.length + 1
  }

  override paramCount(): number {
    let n = super.paramCount()
    for (const v of this.auxiliaryParams.values()) n += v.size
    for (const c of this.frozen) for (const t of [...c.params.values(), ...c.laterals.values()]) n += t.size
    return n
  }

  /** Training FLOPs per token of the whole progressive stack: the newest column trains (forward and backward,
   *  3× its forward), each frozen column only runs forward without an LM head (no gradient reaches
   *  constants), and every lateral is one d×d matmul: trained into the newest column, forward-only between
   *  frozen ones. Without this a PNN run would be charged one column's compute. */
  override trainingFlopsPerToken(seqLen: number): number {
    const k = this.frozen.length
    const { hidden: d, layers } = this.config
    const lateralsPerPair = layers + 1
    const frozenForward = k * (trainingFlopsPerToken(this.config, seqLen, 0) / 3)
    const frozenLaterals = ((k * (k - 1)) / 2) * lateralsPerPair * 2 * d * d
    const newestLaterals = k * lateralsPerPair * 6 * d * d
    return super.trainingFlopsPerToken(seqLen) + frozenForward + frozenLaterals + newestLaterals
  }

  /** The frozen columns as one set of constants (`column{k}/{name}`; laterals are the names that start with `lateral.`), for a replica thread to rebuild the model. */
  override async replicaBlueprint(): Promise<ReplicaBlueprint> {
    const constants: Weights = {}
    ;(await this.frozenColumns()).forEach((c, k) => {
      for (const [name, w] of Object.entries(c.weights)) constants[`column${k}/${name}`] = w
      for (const [name, w] of Object.entries(c.laterals)) constants[`column${k}/${name}`] = w
    })
    return { kind: 'pnn', config: this.config, constants }
  }

  /** A model with the frozen columns of a blueprint's constants (its newest column and laterals are set from the shared weights). */
  static fromBlueprint(config: ModelConfig, constants: Weights): PnnModel {
    const columns: PnnColumn[] = []
    for (const [key, w] of Object.entries(constants)) {
      const match = /^column(\d+)\/(.+)$/.exec(key)
      if (!match) throw new Error(`PnnModel.fromBlueprint: constant ${key} is not column{k}/{name}`)
      const k = Number(match[1])
      const name = match[2]!
      const column = (columns[k] ??= { weights: {}, laterals: {} })
      if (name.startsWith('lateral.')) column.laterals[name] = w
      else column.weights[name] = w
    }
    for (let k = 0; k < columns.length; k++) if (!columns[k]) throw new Error(`PnnModel.fromBlueprint: no constants for column ${k}`)
    return new PnnModel(config, columns)
  }

  /** The newest column as a frozen column (what the next domain's model starts from). */
  async newestColumn(): Promise<PnnColumn> {
    return { weights: await this.readWeights(), laterals: await this.lateralWeights() }
  }

  async lateralWeights(): Promise<Weights> {
    return readMap(this.auxiliaryParams)
  }

  /** Sets the newest column's laterals (a resumed run); names and shapes must match. */
  setLateralWeights(weights: Weights): void {
    const names = Object.keys(weights).sort().join()
    if (names !== [...this.auxiliaryParams.keys()].sort().join())
      throw new Error(`PnnModel: laterals [${Object.keys(weights).join(', ')}] do not match [${[...this.auxiliaryParams.keys()].join(', ')}]`)
    for (const [name, v] of this.auxiliaryParams) {
      const w = weights[name]!
      if (w.shape.join() !== v.shape.join()) throw new Error(`PnnModel: lateral ${name} has shape [${w.shape}], expected [${v.shape}]`)
      tf.tidy(() => v.assign(tf.tensor(w.data, w.shape, 'float32')))
    }
  }

  /** Every frozen column, as plain weights. */
  async frozenColumns(): Promise<PnnColumn[]> {
    return Promise.all(this.frozen.map(async (c) => ({ weights: await readMap(c.params), laterals: await readMap(c.laterals) })))
  }

  override dispose(): void {
    for (const c of this.frozen) {
      disposeMap(c.params)
      disposeMap(c.laterals)
    }
    this.frozen.length = 0
    for (const v of this.auxiliaryParams.values()) v.dispose()
    this.auxiliaryParams.clear()
    for (const m of this.causal.values()) m.dispose()
    this.causal.clear()
    super.dispose()
  }

  private target(): number {
    const newest = this.frozen.length
    const c = this.readColumn ?? newest
    if (!(Number.isInteger(c) && c >= 0 && c <= newest)) throw new Error(`PnnModel: no column ${c} (columns 0..${newest})`)
    return c
  }

  /** Parameter `name` of column c (the newest column's are the trainable variables). */
  private w(c: number, name: string): Tensor {
    const t = c === this.frozen.length ? this.params.get(name) : this.frozen[c]?.params.get(name)
    if (!t) throw new Error(`PnnModel: column ${c} has no parameter ${name}`)
    return t
  }

  private lateral(k: number, i: number, j: number): { kernel: Tensor; bias: Tensor } {
    const from = k === this.frozen.length ? this.auxiliaryParams : this.frozen[k]!.laterals
    const kernel = from.get(lateralName(i, j, 'kernel'))
    const bias = from.get(lateralName(i, j, 'bias'))
    if (!kernel || !bias) throw new Error(`PnnModel: column ${k} has no lateral ${i} from column ${j}`)
    return { kernel, bias }
  }

  override encode(inputIds: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
    const cfg = this.config
    const [B, T] = inputIds.shape
    if (T > cfg.maxLength) throw new Error(`sequence length ${T} exceeds maxLength ${cfg.maxLength}`)
    if (inputIds.dtype !== 'int32') throw new Error(`inputIds must be int32, got ${inputIds.dtype}`)
    const mask = this.mask(inputIds, opts.padId)
    const target = this.target()
    const states: Tensor[][] = []
    let out: Tensor | null = null
    for (let k = 0; k <= target; k++) {
      // Frozen columns run in eval mode (no dropout), as the reference runs them under no_grad/eval.
      const training = k === this.frozen.length && !!opts.training
      const lateralInto = (i: number): Tensor | null => {
        if (k === 0) return null
        const terms = states.slice(0, k).map((s, j) => {
          const { kernel, bias } = this.lateral(k, i, j)
          return ops.linear(s[i]!, kernel, bias)
        })
        return ops.addMany(terms)
      }
      const result = this.column(k, inputIds, B, T, mask, lateralInto, training ? cfg.dropout : 0, hashSeed(opts.seed ?? 0, `column${k}`))
      states.push(result.states)
      out = result.states[cfg.layers]!
    }
    return out as tf.Tensor2D
  }

  /** One column's forward; returns its layer inputs h_0..h_{L-1} and its head input h_L (laterals added). */
  private column(
    k: number,
    inputIds: tf.Tensor2D,
    B: number,
    T: number,
    mask: Tensor | null,
    lateralInto: (i: number) => Tensor | null,
    rate: number,
    seed: number
  ): { states: Tensor[] } {
    const cfg = this.config
    const d = cfg.hidden
    let site = 0
    const drop = (x: Tensor): Tensor => (rate > 0 ? ops.dropout(x, rate, hashSeed(seed, `drop${site++}`)) : x)
    const ln = (x: Tensor, name: string): Tensor => ops.layerNorm(x, this.w(k, `${name}.gamma`), this.w(k, `${name}.beta`))
    const withLateral = (x: Tensor, i: number): Tensor => {
      const lat = lateralInto(i)
      // x1 gives the lateral branch its own gradient buffer: the wasm matmul caches packed operands by
      // tensor id, and the shared gradient reaches a matmul in another shape (addRowVector's colSum) too.
      return lat ? tf.add(x, tf.mul(lat, 1)) : x
    }

    let x = ops.gatherRows(this.w(k, 'embed.token'), inputIds.reshape([B * T]))
    const pos = this.w(k, 'embed.position')
    const posT = T === cfg.maxLength ? pos : tf.slice(pos, [0, 0], [T, d])
    x = ops.addRowVector(x.reshape([B, T * d]), posT.reshape([T * d])).reshape([B * T, d])
    if (cfg.kind === 'bert') x = ln(x, 'embed.ln')
    x = drop(x)
    const states: Tensor[] = []
    for (let l = 0; l < cfg.layers; l++) {
      x = withLateral(x, l)
      states.push(x)
      const p = `layers.${l}`
      if (cfg.norm === 'post') {
        x = ln(tf.add(x, drop(this.attend(k, x, l, B, T, mask, drop))), `${p}.ln1`)
        x = ln(tf.add(x, drop(this.feedForward(k, x, l))), `${p}.ln2`)
      } else {
        x = tf.add(x, drop(this.attend(k, ln(x, `${p}.ln1`), l, B, T, mask, drop)))
        x = tf.add(x, drop(this.feedForward(k, ln(x, `${p}.ln2`), l)))
      }
    }
    if (cfg.norm === 'pre') x = ln(x, 'final.ln')
    states.push(withLateral(x, cfg.layers))
    return { states }
  }

  private attend(k: number, x: Tensor, l: number, B: number, T: number, mask: Tensor | null, drop: (x: Tensor) => Tensor): Tensor {
    const { heads: H, headSize: hd, hidden: d } = this.config
    const proj = (m: string, t: Tensor): Tensor => ops.linear(t, this.w(k, `layers.${l}.attn.${m}.kernel`), this.w(k, `layers.${l}.attn.${m}.bias`))
    const q = tf.mul(proj('q', x), 1 / Math.sqrt(hd))
    const qh = q
      .reshape([B, T, H, hd])
      .transpose([0, 2, 1, 3])
      .reshape([B * H, T, hd])
    const kt = proj('k', x)
      .reshape([B, T, H, hd])
      .transpose([0, 2, 3, 1])
      .reshape([B * H, hd, T])
    const vh = proj('v', x)
      .reshape([B, T, H, hd])
      .transpose([0, 2, 1, 3])
      .reshape([B * H, T, hd])
    let scores = ops.matmul(qh, kt)
    if (mask) scores = tf.add(scores.reshape([B, H, T, T]), mask).reshape([B * H, T, T])
    const probs = drop(tf.softmax(scores))
    const ctx = ops
      .matmul(probs, vh)
      .reshape([B, H, T, hd])
      .transpose([0, 2, 1, 3])
      .reshape([B * T, d])
    return proj('o', ctx)
  }

  private feedForward(k: number, x: Tensor, l: number): Tensor {
    const p = `layers.${l}.ffn`
    const h = ops.gelu(ops.linear(x, this.w(k, `${p}.in.kernel`), this.w(k, `${p}.in.bias`)))
    return ops.linear(h, this.w(k, `${p}.out.kernel`), this.w(k, `${p}.out.bias`))
  }

  private mask(ids: tf.Tensor2D, padId?: number): Tensor | null {
    const [B, T] = ids.shape
    let mask: Tensor | null = null
    if (this.config.kind === 'gpt') {
      let m = this.causal.get(T)
      if (!m) {
        const data = new Float32Array(T * T)
        for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) data[i * T + j] = -1e9
        m = tf.keep(tf.tensor4d(data, [1, 1, T, T]))
        this.causal.set(T, m)
      }
      mask = m
    }
    if (padId !== undefined) {
      const pad = tf.mul(tf.cast(tf.equal(ids, padId), 'float32'), -1e9).reshape([B, 1, 1, T])
      mask = mask ? tf.add(mask, pad) : pad
    }
    return mask
  }

  /** The LM head of the column being read (tied to that column's token embedding). */
  override headLogits(h: Tensor): tf.Tensor2D {
    const c = this.target()
    if (this.config.kind === 'bert') {
      h = ops.gelu(ops.linear(h, this.w(c, 'head.dense.kernel'), this.w(c, 'head.dense.bias')))
      h = ops.layerNorm(h, this.w(c, 'head.ln.gamma'), this.w(c, 'head.ln.beta'))
    }
    const logits = ops.matmulBT(h, this.w(c, 'embed.token'))
    return (this.config.kind === 'bert' ? ops.addRowVector(logits, this.w(c, 'head.bias')) : logits) as tf.Tensor2D
  }
}
