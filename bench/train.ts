// Training throughput of the model core on one backend, random tokens.
//   npm run bench:train -- [options]
//   (options: [--backend wasm|cpu|tensorflow] [--kind gpt|bert|both] [--steps 10] [--warmup 3]
//        [--layers 4 --hidden 256 --heads 4 --ffn 1024 --seq 128 --batch 32 --vocab 8000] [--micro 1]
// Prints one JSON line per kind. Compare with ../shared/bench/torch-peer.py on the same shape and machine.
import * as tf from '@tensorflow/tfjs'
import { parseArgs } from 'node:util'
import { useBackend, type BackendName } from '../src/main/engine/model/backend'
import { type ModelKind, makeModelConfig, trainingFlopsPerToken } from '../src/main/engine/model/config'
import { maskTokens } from '../src/main/engine/model/masking'
import { type LossBatch, TransformerModel } from '../src/main/engine/model/model'
import { Rng } from '../src/main/engine/model/rng'
import { Trainer } from '../src/main/engine/model/train'

const { values: a } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    kind: { type: 'string', default: 'both' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    layers: { type: 'string', default: '4' },
    hidden: { type: 'string', default: '256' },
    heads: { type: 'string', default: '4' },
    ffn: { type: 'string', default: '1024' },
    seq: { type: 'string', default: '128' },
    batch: { type: 'string', default: '32' },
    vocab: { type: 'string', default: '8000' },
    micro: { type: 'string', default: '1' }
  }
})
const int = (name: keyof typeof a): number => {
  const v = Number(a[name])
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer, got ${String(a[name])}`)
  return v
}
const backend = a.backend as BackendName
if (!['wasm', 'cpu', 'tensorflow'].includes(backend)) throw new Error(`--backend must be wasm, cpu or tensorflow`)
if (backend === 'tensorflow') {
  try {
    await import('@tensorflow/tfjs-node' as string)
  } catch {
    throw new Error('--backend tensorflow needs @tensorflow/tfjs-node, an optional dependency that is not installed')
  }
}
await useBackend(backend)
const kinds: ModelKind[] = a.kind === 'both' ? ['gpt', 'bert'] : [a.kind as ModelKind]
if (kinds.some((k) => k !== 'gpt' && k !== 'bert')) throw new Error('--kind must be gpt, bert or both')
const steps = int('steps')
const warmup = int('warmup')
const layers = int('layers')
const hidden = int('hidden')
const heads = int('heads')
const ffn = int('ffn')
const seq = int('seq')
const batch = int('batch')
const vocab = int('vocab')
const micro = int('micro')
if (hidden % heads !== 0 || batch % micro !== 0) throw new Error('--hidden must divide by --heads and --batch by --micro')

const rssMB = (): number => Math.round(process.memoryUsage().rss / 2 ** 20)

for (const kind of kinds) {
  const cfg = makeModelConfig(kind, { layers, heads, headSize: hidden / heads, hidden, ffn, vocabSize: vocab, maxLength: seq })
  const model = new TransformerModel(cfg, { seed: 1 })
  const trainer = new Trainer(model, { schedule: { peak: 1e-4, warmupSteps: 100, totalSteps: 10000 } })
  const rng = new Rng(7)
  const perMicro = batch / micro
  const makeBatch = (s: number): LossBatch => {
    const ids = new Int32Array(perMicro * seq).map(() => 5 + rng.int(vocab - 5))
    if (kind === 'gpt') return { inputIds: tf.tensor2d(ids, [perMicro, seq], 'int32'), host: { inputIds: ids } }
    const m = maskTokens(ids, { maskId: 4, vocabSize: vocab, protectedIds: [0, 1, 2, 3], seed: s, seqLen: seq })
    return {
      inputIds: tf.tensor2d(m.inputIds, [perMicro, seq], 'int32'),
      labels: tf.tensor2d(m.labels, [perMicro, seq], 'int32'),
      host: { inputIds: m.inputIds, labels: m.labels }
    }
  }
  // A few fixed batches, so data generation stays out of the timing.
  const pool = Array.from({ length: 4 * micro }, (_, i) => makeBatch(i))
  const times: number[] = []
  let rssAt200 = 0
  let tensorsAt10 = 0
  let last = { loss: 0, gradNorm: 0 }
  for (let s = 0; s < warmup + steps; s++) {
    const mbs = Array.from({ length: micro }, (_, k) => pool[(s * micro + k) % pool.length]!)
    const t0 = performance.now()
    last = await trainer.trainStep(mbs)
    const ms = performance.now() - t0
    if (s >= warmup) times.push(ms)
    if (s + 1 === 10) tensorsAt10 = tf.memory().numTensors
    if (s + 1 === 200) rssAt200 = rssMB()
  }
  times.sort((x, y) => x - y)
  const med = times[Math.floor(times.length / 2)]!
  const tokens = batch * seq
  const nAll = model.paramCount()
  // The peer's count: 6 * all params (embedding included) * tokens + attention.
  const peerFlops = 6 * nAll * tokens + 12 * layers * hidden * seq * tokens
  const ownFlops = trainingFlopsPerToken(cfg, seq) * tokens
  console.log(
    JSON.stringify({
      framework: `tfjs ${tf.version.tfjs} ${tf.getBackend()}`,
      kind,
      params: nAll,
      steps,
      micro,
      ms_per_step: Math.round(med * 10) / 10,
      tokens_per_s: Math.round(tokens / (med / 1000)),
      gflops_peer_formula: Math.round((peerFlops / med / 1e6) * 100) / 100,
      gflops_own_formula: Math.round((ownFlops / med / 1e6) * 100) / 100,
      final_loss: Math.round(last.loss * 1000) / 1000,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      rss_mb_at_200: rssAt200 || undefined,
      rss_mb_end: rssMB(),
      tensors_at_10: tensorsAt10 || undefined,
      tensors_end: tf.memory().numTensors
    })
  )
  for (const b of pool) tf.dispose([b.inputIds, ...(b.labels ? [b.labels] : [])])
  trainer.dispose()
  model.dispose()
}
