// npm run bench:eval — how long validation (perplexity evaluation) takes, and where its time goes.
//
//   npm run bench:eval                        micro-benchmarks of the evaluation head at the lifelong benchmark's
//                                             shapes (rows = 42 sequences × 48 positions = 2016, vocabulary 8000,
//                                             widths 32 and 80): the tied head's matmul (h @ Eᵀ) with the
//                                             transpose as a flag, as an explicit transpose per call, and against
//                                             a transposed copy made once; the per-row NLL three ways; on plain
//                                             wasm and on wasm-native; then a full validation of one domain's
//                                             whole split (default: e-mail, ~560k targets) by a 1-layer GPT, with
//                                             the previous evaluation (logSoftmax over [rows × vocab], then
//                                             gatherND) and with today's `evaluate`, on each backend.
//
// Options: [--stream-dir DIR] (a prepared default stream; default: the data directory's)
//   [--domain email] [--widths 32,80] [--full-widths 32]
//   [--max-sequences 0] (full validation: 0 = the whole split, else that many blocks spread over it) [--backends wasm,wasm-native] [--repeats 5] [--full-repeats 1]
//   [--rows 2016] [--vocab 8000] [--micro-only] [--full-only] [--shapes MxKxN[t],…] (products on ORT vs wasm)
// Prints every measurement as a JSON line (with the 1-minute load average) and a markdown table: CPU time of this
// process (user + system; what a loaded machine distorts least) and wall time.
import * as tf from '@tensorflow/tfjs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { asEvaluation, DEFAULT_WASM_ROUTING, nativeRowNll, setWasmRouting } from '../src/main/engine/backend/native-matmul'
import { loadTokenizedDomain } from '../src/main/engine/data/cache'
import { readStreamManifest } from '../src/main/engine/data/default-stream'
import { loadTokenizer } from '../src/main/engine/data/tokenizer'
import { useBackend, type BackendName } from '../src/main/engine/model/backend'
import { makeModelConfig } from '../src/main/engine/model/config'
import { TransformerModel } from '../src/main/engine/model/model'
import { evaluate, evaluationSet, scoredSums } from '../src/main/engine/training/evaluate'
import { defaultDataDir } from '../src/main/engine/paths'

const { values: a } = parseArgs({
  options: {
    'stream-dir': { type: 'string' },
    domain: { type: 'string', default: 'email' },
    widths: { type: 'string', default: '32,80' },
    shapes: { type: 'string', default: '' },
    'full-widths': { type: 'string', default: '32' },
    'max-sequences': { type: 'string', default: '0' },
    backends: { type: 'string', default: 'wasm,wasm-native' },
    repeats: { type: 'string', default: '5' },
    'full-repeats': { type: 'string', default: '1' },
    rows: { type: 'string', default: '2016' },
    vocab: { type: 'string', default: '8000' },
    'micro-only': { type: 'boolean', default: false },
    'full-only': { type: 'boolean', default: false }
  }
})
const backends = a.backends!.split(',') as BackendName[]
const widths = a.widths!.split(',').map(Number)
const repeats = Number(a.repeats)
const rows = Number(a.rows)
const V = Number(a.vocab)
const load1 = (): number => Math.round(os.loadavg()[0]! * 100) / 100
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6
const cpuMs = (c0: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(c0)
  return (c.user + c.system) / 1000
}

/**
 * Times f over `repeats` runs after one warm-up: wall time, and this process's CPU time (user + system), which
 * a loaded machine inflates far less (wasm and onnxruntime with one intra-op thread both compute on this
 * thread, synchronously, so f's kernels have run when it returns; its result is not read back).
 */
async function time(f: () => tf.Tensor): Promise<Timing> {
  const once = (): { wall: number; cpu: number } => {
    const c0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    const y = f()
    const wall = ms(t0)
    const c = process.cpuUsage(c0)
    y.dispose()
    return { wall, cpu: (c.user + c.system) / 1000 }
  }
  once()
  const runs = Array.from({ length: repeats }, once)
  return { wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)), minCpu: Math.min(...runs.map((r) => r.cpu)) }
}
interface Timing {
  /** medians, ms */
  wall: number
  cpu: number
  minCpu: number
}

const table: Array<{ backend: string; what: string; width: number | string } & Timing> = []
function record(backend: string, what: string, width: number | string, r: Timing): void {
  console.log(JSON.stringify({ backend, what, width, rows, vocab: V, ...r, load1: load1() }))
  table.push({ backend, what, width, ...r })
}

/** The per-row NLL before this change: logSoftmax over the whole [N, V], then gatherND. */
function oldNll(logits: tf.Tensor2D, targets: Int32Array): tf.Tensor1D {
  return tf.tidy(() => {
    const pairs = tf.stack([tf.range(0, targets.length, 1, 'int32'), tf.tensor1d(targets, 'int32')], 1)
    return tf.neg(tf.gatherND(tf.logSoftmax(logits), pairs)).reshape([-1]) as tf.Tensor1D
  })
}

const ONLY_ORT = { maxInner: 0, minOutput: Infinity, scope: 'always' } as const

async function micro(): Promise<void> {
  const targets = Int32Array.from({ length: rows }, (_, i) => (i * 7919) % V)
  for (const name of backends) {
    await useBackend(name)
    for (const K of widths) {
      const h = tf.randomNormal([rows, K], 0, 1, 'float32', 1) as tf.Tensor2D
      const E = tf.randomNormal([V, K], 0, 0.05, 'float32', 2) as tf.Tensor2D
      const Et = tf.transpose(E)
      // on wasm-native: forced onto ORT, then as routed by the inner-dimension threshold
      if (name === 'wasm-native') setWasmRouting(ONLY_ORT)
      record(name, 'head matMul(h, E, transposeB)', K, await time(() => tf.matMul(h, E, false, true)))
      record(name, 'head matMul(h, transpose(E)) (transpose per call)', K, await time(() => tf.tidy(() => tf.matMul(h, tf.transpose(E)))))
      record(name, 'head matMul(h, Eᵀ copy made once)', K, await time(() => tf.matMul(h, Et)))
      if (name === 'wasm-native') {
        setWasmRouting(DEFAULT_WASM_ROUTING)
        record(name, 'head matMul(h, E, transposeB), routed as in evaluation', K, await time(() => asEvaluation(() => tf.matMul(h, E, false, true))))
      }
      tf.dispose([h, E, Et])
    }
    const logits = tf.randomNormal([rows, V], 0, 2, 'float32', 3) as tf.Tensor2D
    record(name, 'NLL: logSoftmax + gatherND (before)', '-', await time(() => oldNll(logits, targets)))
    record(
      name,
      'NLL: logSumExp − gatherND (tfjs)',
      '-',
      await time(() => tf.tidy(() => tf.sub(tf.logSumExp(logits, -1), tf.gatherND(logits, tf.stack([tf.range(0, rows, 1, 'int32'), tf.tensor1d(targets, 'int32')], 1)))))
    )
    if (name === 'wasm-native') record(name, 'NLL: native ElleRowNll (ORT)', '-', await time(() => nativeRowNll(logits, targets)!))
    logits.dispose()
  }
}

/**
 * `--shapes MxKxN[t],…`: generic products (t: B transposed, as the gradients take them) on wasm-native, on ORT
 * and on wasm's own kernel with explicit transposes — the measurement behind DEFAULT_WASM_ROUTING.
 */
async function shapes(): Promise<void> {
  if (!a.shapes) return
  await useBackend('wasm-native')
  for (const spec of a.shapes.split(',')) {
    const m = /^(\d+)x(\d+)x(\d+)(t?)$/.exec(spec)
    if (!m) throw new Error(`--shapes: ${spec} is not MxKxN or MxKxNt`)
    const [M, K, N] = [Number(m[1]), Number(m[2]), Number(m[3])]
    const tB = m[4] === 't'
    const x = tf.randomNormal([M, K], 0, 1, 'float32', 1) as tf.Tensor2D
    const w = tf.randomNormal(tB ? [N, K] : [K, N], 0, 0.05, 'float32', 2) as tf.Tensor2D
    setWasmRouting(ONLY_ORT)
    record('wasm-native', `matMul ${M}×${K}×${N}${tB ? ' (B transposed)' : ''} on ORT`, K, await time(() => tf.matMul(x, w, false, tB)))
    setWasmRouting({ maxInner: Infinity, minOutput: 0, scope: 'always' })
    record('wasm-native', `matMul ${M}×${K}×${N}${tB ? ' (B transposed)' : ''} on wasm`, K, await time(() => tf.matMul(x, w, false, tB)))
    setWasmRouting(DEFAULT_WASM_ROUTING)
    tf.dispose([x, w])
  }
}

async function full(): Promise<void> {
  const streamDir = a['stream-dir'] ?? path.join(defaultDataDir(), 'default-stream')
  const manifest = readStreamManifest(streamDir)
  if (!manifest) throw new Error(`no prepared default stream in ${streamDir} (run elle once, or pass --stream-dir)`)
  const tokenizer = loadTokenizer(manifest.tokenizer.file)
  const domain = manifest.domains.find((d) => d.name === a.domain)
  if (!domain) throw new Error(`no domain ${a.domain} in ${streamDir}`)
  const split = loadTokenizedDomain(domain.cacheDir).splits.validation
  const seqLen = 48
  const padId = tokenizer.specialIds.pad
  for (const name of backends) {
    await useBackend(name)
    for (const K of a['full-widths']!.split(',').map(Number)) {
      const model = new TransformerModel(makeModelConfig('gpt', { layers: 1, heads: K / 16, headSize: 16, vocabSize: tokenizer.vocabSize, maxLength: seqLen }), { seed: 0 })
      const set = evaluationSet(model, tokenizer, split, {
        seqLen,
        batchSize: Math.floor(2048 / seqLen),
        maxSequences: Number(a['max-sequences']),
        promptSlot: domain.promptSlot,
        prompt: 'own',
        seed: 0
      })
      const targets = set.reduce((n, i) => n + i.scored!.rows.length, 0)
      const D = set[0]!.scored!.documents
      for (let r = 0; r < Number(a['full-repeats']); r++) {
        let c0 = process.cpuUsage()
        let t0 = process.hrtime.bigint()
        const before = await scoredSums(model, set, padId, D, oldNll)
        const beforeT = { wall: ms(t0), cpu: cpuMs(c0) }
        const beforeLoss = before.reduce((x, y) => x + y, 0) / targets
        const tensors = tf.memory().numTensors
        c0 = process.cpuUsage()
        t0 = process.hrtime.bigint()
        const after = await evaluate(model, set, padId)
        const afterT = { wall: ms(t0), cpu: cpuMs(c0) }
        const what = `full validation (${a.domain}, ${targets} targets, ${set.length} batches)`
        const line = {
          backend: name,
          what,
          width: K,
          before: beforeT,
          after: afterT,
          beforePpl: Math.exp(beforeLoss),
          afterPpl: after.ppl,
          tensorsLeaked: tf.memory().numTensors - tensors,
          load1: load1()
        }
        console.log(JSON.stringify(line))
        table.push({ backend: name, what: `${what}: before`, width: K, ...beforeT, minCpu: beforeT.cpu })
        table.push({ backend: name, what: `${what}: after`, width: K, ...afterT, minCpu: afterT.cpu })
      }
      model.dispose()
    }
  }
}

if (!a['full-only']) await micro()
await shapes()
if (!a['micro-only']) await full()
console.log(`\n| backend | what | width | CPU ms (median) | CPU ms (min) | wall ms (median) |\n|---|---|---|---|---|---|`)
for (const r of table) console.log(`| ${r.backend} | ${r.what} | ${r.width} | ${r.cpu.toFixed(1)} | ${r.minCpu.toFixed(1)} | ${r.wall.toFixed(1)} |`)
console.log(
  `(load average at the end: ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}; ${os.cpus().length} cores)`
)
