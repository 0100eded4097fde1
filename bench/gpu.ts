// Training throughput of the WebGPU path (tfjs-backend-webgpu on Dawn's Node bindings) at the reference shape.
//   npm run bench:gpu -- [--kind gpt|bert|both] [--steps 10] [--warmup 3]
//        [--layers 4 --hidden 256 --heads 4 --ffn 1024 --seq 128 --batch 32 --vocab 8000] [--compare-wasm]
// Runs unchanged on a machine with a real GPU (Linux: the GPU driver's Vulkan ICD; macOS: Metal; Windows: D3D12),
// and here on Mesa's lavapipe (software Vulkan). Prints the adapter, then one JSON line per kind with tokens/s;
// --compare-wasm also times the wasm backend on the same shape in the same process.
import * as tf from '@tensorflow/tfjs'
import { parseArgs } from 'node:util'
import { describeAdapter, probeWebGpu, registerWebGpuBackend } from '../src/main/engine/backend/webgpu'
import { useBackend } from '../src/main/engine/model/backend'
import { type ModelKind, makeModelConfig } from '../src/main/engine/model/config'
import { maskTokens } from '../src/main/engine/model/masking'
import { type LossBatch, TransformerModel } from '../src/main/engine/model/model'
import { Rng } from '../src/main/engine/model/rng'
import { Trainer } from '../src/main/engine/model/train'
import { positiveInt, SHAPE_OPTIONS } from './reference-shape'

const { values: a } = parseArgs({
  options: {
    kind: { type: 'string', default: 'gpt' },
    ...SHAPE_OPTIONS,
    'compare-wasm': { type: 'boolean', default: false }
  }
})
const int = (name: keyof typeof a): number => positiveInt(a, name)
const kinds: ModelKind[] = a.kind === 'both' ? ['gpt', 'bert'] : [a.kind as ModelKind]
if (kinds.some((k) => k !== 'gpt' && k !== 'bert')) throw new Error('--kind must be gpt, bert or both')
const [steps, warmup, layers, hidden, heads, ffn, seq, batch, vocab] = (['steps', 'warmup', 'layers', 'hidden', 'heads', 'ffn', 'seq', 'batch', 'vocab'] as const).map(int) as [
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number
]
if (hidden % heads !== 0) throw new Error('--hidden must divide by --heads')

const adapter = await probeWebGpu()
console.error(`WebGPU adapter: ${describeAdapter(adapter)}`)
await registerWebGpuBackend()

async function measure(backendName: 'webgpu' | 'wasm', kind: ModelKind): Promise<void> {
  if (backendName === 'webgpu') {
    if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not start the webgpu backend')
  } else await useBackend('wasm')
  const cfg = makeModelConfig(kind, { layers, heads, headSize: hidden / heads, hidden, ffn, vocabSize: vocab, maxLength: seq })
  const model = new TransformerModel(cfg, { seed: 1 })
  const trainer = new Trainer(model, { schedule: { peak: 1e-4, warmupSteps: 100, totalSteps: 10000 } })
  const rng = new Rng(7)
  const makeBatch = (s: number): LossBatch => {
    const ids = new Int32Array(batch * seq).map(() => 5 + rng.int(vocab - 5))
    if (kind === 'gpt') return { inputIds: tf.tensor2d(ids, [batch, seq], 'int32'), host: { inputIds: ids } }
    const m = maskTokens(ids, { maskId: 4, vocabSize: vocab, protectedIds: [0, 1, 2, 3], seed: s, seqLen: seq })
    return { inputIds: tf.tensor2d(m.inputIds, [batch, seq], 'int32'), labels: tf.tensor2d(m.labels, [batch, seq], 'int32'), host: { inputIds: m.inputIds, labels: m.labels } }
  }
  const pool = Array.from({ length: 4 }, (_, i) => makeBatch(i))
  const times: number[] = []
  let last = { loss: 0 }
  try {
    for (let s = 0; s < warmup + steps; s++) {
      const t0 = performance.now()
      // trainStep ends with reading the loss and gradient norm back, so the GPU work of the step is done here
      last = await trainer.trainStep([pool[s % pool.length]!])
      const ms = performance.now() - t0
      if (s >= warmup) times.push(ms)
      console.error(`${backendName} ${kind} step ${s + 1}/${warmup + steps}${s < warmup ? ' (warm-up)' : ''}: ${Math.round(ms)} ms, loss ${last.loss.toFixed(3)}`)
    }
  } finally {
    for (const b of pool) tf.dispose([b.inputIds, ...(b.labels ? [b.labels] : [])])
    trainer.dispose()
    model.dispose()
  }
  times.sort((x, y) => x - y)
  const med = times[Math.floor(times.length / 2)]!
  const tokens = batch * seq
  console.log(
    JSON.stringify({
      framework: `tfjs ${tf.version.tfjs} ${tf.getBackend()}`,
      adapter: backendName === 'webgpu' ? describeAdapter(adapter) : null,
      kind,
      shape: { layers, hidden, heads, ffn, seq, batch, vocab },
      steps,
      ms_per_step_median: Math.round(med * 10) / 10,
      ms_per_step_range: [Math.round(times[0]! * 10) / 10, Math.round(times.at(-1)! * 10) / 10],
      tokens_per_s: Math.round(tokens / (med / 1000)),
      final_loss: Math.round(last.loss * 1000) / 1000,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024)
    })
  )
}

for (const kind of kinds) {
  await measure('webgpu', kind)
  if (a['compare-wasm']) await measure('wasm', kind)
}
