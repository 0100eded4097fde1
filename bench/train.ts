// Training throughput of the model core, random tokens: ours on every available backend against the PyTorch
// peer (../shared/bench/torch-peer.py), at one thread and at all cores, in one sitting.
//
//   npm run bench:train                       the sitting: for each repeat, for each kind (GPT, BERT), one fresh
//                                             process per configuration, interleaved: ours per backend, then the
//                                             peer at 1 thread and at all cores (ours at all cores: data-parallel
//                                             workers, one per core, per CPU backend); prints every run as a JSON line
//                                             (with the 1-minute load average) and a summary table of medians,
//                                             ranges and ratios to the peer at the same core budget
//   npm run bench:train -- --backend NAME     one configuration in this process (the old single-run mode)
//   npm run bench:train -- --backend wasm-native --kind gpt --profile
//                                             also time one step kernel by kernel (tf.profile) and print the table
//   npm run bench:train -- --phases           one configuration (default: wasm-native, one worker per core) with
//                                             the parts of each data-parallel step timed (sync, own shard, barrier
//                                             wait, gradient sum, norm, clip + AdamW; each replica's load, shard
//                                             and write) and each thread's CPU and run-queue wait (Linux:
//                                             /proc/thread-self/schedstat), printed as a table per kind
//
// Options: [--repeats 3] [--backends wasm-native,wasm,tensorflow] [--kind gpt|bert|both] [--steps 10] [--warmup 3]
//   [--layers 4 --hidden 256 --heads 4 --ffn 1024 --seq 128 --batch 32 --vocab 8000] [--micro 1]
//   [--ort-threads N] (wasm-native, one configuration) [--workers N] (data-parallel threads, one configuration) [--cores N] (all-cores budget, default: os.cpus())
//   [--python /usr/bin/python3] [--peer ../shared/bench/torch-peer.py] [--no-peer] [--pause 2] (seconds between runs)
import * as tf from '@tensorflow/tfjs'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { useBackend, type BackendName } from '../src/main/engine/model/backend'
import { type ModelKind, makeModelConfig, trainingFlopsPerToken } from '../src/main/engine/model/config'
import { maskTokens } from '../src/main/engine/model/masking'
import { type LossBatch, TransformerModel } from '../src/main/engine/model/model'
import { Rng } from '../src/main/engine/model/rng'
import { Trainer } from '../src/main/engine/model/train'
import { IGNORE_INDEX } from '../src/main/engine/model/config'
import { type StepPart } from '../src/main/engine/model/train'
import { ReplicaPool, type ReplicaTimings } from '../src/main/engine/training/parallel'
import { threadTime, threadTimeSince } from '../src/main/engine/util/thread-time'
import { positiveInt, SHAPE_OPTIONS } from './reference-shape'

const { values: a } = parseArgs({
  options: {
    backend: { type: 'string' },
    backends: { type: 'string', default: 'tensorflow,wasm-native,wasm' },
    repeats: { type: 'string', default: '3' },
    kind: { type: 'string', default: 'both' },
    ...SHAPE_OPTIONS,
    micro: { type: 'string', default: '1' },
    'ort-threads': { type: 'string', default: '1' },
    workers: { type: 'string' },
    cores: { type: 'string', default: String(os.cpus().length) },
    python: { type: 'string', default: '/usr/bin/python3' },
    peer: { type: 'string' },
    'no-peer': { type: 'boolean', default: false },
    pause: { type: 'string', default: '2' },
    profile: { type: 'boolean', default: false },
    phases: { type: 'boolean', default: false }
  }
})
const int = (name: keyof typeof a): number => positiveInt(a, name)
const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm-native', 'wasm', 'cpu']
const kinds: ModelKind[] = a.kind === 'both' ? ['gpt', 'bert'] : [a.kind as ModelKind]
if (kinds.some((k) => k !== 'gpt' && k !== 'bert')) throw new Error('--kind must be gpt, bert or both')
const shapeArgs = ['layers', 'hidden', 'heads', 'ffn', 'seq', 'batch', 'vocab'] as const
const load1 = (): number => Math.round(os.loadavg()[0]! * 100) / 100

if (a.backend !== undefined || a.phases) await measureHere(a.backend ?? 'wasm-native')
else await sitting()

// ---------------------------------------------------------------------------------------------
// One configuration in this process

async function measureHere(name: string): Promise<void> {
  const backend = name as BackendName
  if (!BACKENDS.includes(backend)) throw new Error(`--backend must be one of ${BACKENDS.join(', ')}`)
  if (backend === 'tensorflow') {
    try {
      await import('@tensorflow/tfjs-node' as string)
    } catch {
      throw new Error('--backend tensorflow needs @tensorflow/tfjs-node, an optional dependency that is not installed')
    }
  }
  const ortThreads = int('ort-threads')
  await useBackend(backend, ortThreads)
  const steps = int('steps')
  const warmup = int('warmup')
  const [layers, hidden, heads, ffn, seq, batch, vocab] = shapeArgs.map((k) => int(k)) as [number, number, number, number, number, number, number]
  const micro = int('micro')
  // --phases profiles the data-parallel step: one worker per core unless told
  const workers = a.workers !== undefined ? int('workers') : a.phases ? int('cores') : 1
  if (workers > 1 && backend !== 'wasm' && backend !== 'wasm-native' && backend !== 'cpu') throw new Error('--workers above 1 needs a CPU backend (wasm, wasm-native, cpu)')
  // the replicas select the same backend in their threads (with ELLE_ORT_THREADS for wasm-native's matmuls)
  if (workers > 1) process.env.ELLE_ORT_THREADS = String(ortThreads)
  const replicas = workers > 1 ? await ReplicaPool.start({ replicas: workers - 1, backend: backend as 'wasm' | 'wasm-native' | 'cpu' }) : null
  if (hidden % heads !== 0 || batch % micro !== 0) throw new Error('--hidden must divide by --heads and --batch by --micro')
  const rssMB = (): number => Math.round(process.memoryUsage().rss / 2 ** 20)

  for (const kind of kinds) {
    const cfg = makeModelConfig(kind, { layers, heads, headSize: hidden / heads, hidden, ffn, vocabSize: vocab, maxLength: seq })
    const model = new TransformerModel(cfg, { seed: 1 })
    const phaseMs = new Map<StepPart, number>()
    const phases = a.phases ? { add: (part: StepPart, ms: number) => phaseMs.set(part, (phaseMs.get(part) ?? 0) + ms) } : null
    const trainer = new Trainer(model, { schedule: { peak: 1e-4, warmupSteps: 100, totalSteps: 10000 }, shards: replicas, phases })
    let coordinator = { cpuMs: 0, waitMs: 0, known: true }
    const rng = new Rng(7)
    const perMicro = batch / micro
    const makeBatch = (s: number): LossBatch => {
      const ids = new Int32Array(perMicro * seq).map(() => 5 + rng.int(vocab - 5))
      if (kind === 'gpt') {
        // next-token labels given explicitly (what lmLoss derives), so the data-parallel split can count targets
        const labels = new Int32Array(ids.length).fill(IGNORE_INDEX)
        for (let r = 0; r < perMicro; r++) for (let t = 0; t + 1 < seq; t++) labels[r * seq + t] = ids[r * seq + t + 1]!
        return { inputIds: tf.tensor2d(ids, [perMicro, seq], 'int32'), labels: tf.tensor2d(labels, [perMicro, seq], 'int32'), host: { inputIds: ids, labels } }
      }
      const m = maskTokens(ids, { maskId: 4, vocabSize: vocab, protectedIds: [0, 1, 2, 3], seed: s, seqLen: seq })
      return {
        inputIds: tf.tensor2d(m.inputIds, [perMicro, seq], 'int32'),
        labels: tf.tensor2d(m.labels, [perMicro, seq], 'int32'),
        host: { inputIds: m.inputIds, labels: m.labels }
      }
    }
    // A few fixed batches, so data generation stays out of the timing.
    const pool = Array.from({ length: 4 * micro }, (_, i) => makeBatch(i))
    const batchAt = (s: number): LossBatch[] => Array.from({ length: micro }, (_, k) => pool[(s * micro + k) % pool.length]!)
    const times: number[] = []
    // CPU time of the whole process (every thread) per measured step: on a loaded machine wall time says
    // little, while the CPU time of 2 workers against 1 shows what sharding costs on top of the work
    let cpuMs = 0
    let rssAt200 = 0
    let tensorsAt10 = 0
    let last = { loss: 0, gradNorm: 0 }
    const loadStart = load1()
    for (let s = 0; s < warmup + steps; s++) {
      if (s === warmup) {
        // the profile counts the measured steps only
        phaseMs.clear()
        replicas?.resetTimings()
      }
      const t0 = performance.now()
      const c0 = process.cpuUsage()
      const th0 = threadTime()
      last = await trainer.trainStep(batchAt(s))
      const ms = performance.now() - t0
      const c = process.cpuUsage(c0)
      const th = threadTimeSince(th0)
      if (s >= warmup) {
        times.push(ms)
        cpuMs += (c.user + c.system) / 1000
        if (th) {
          coordinator.cpuMs += th.cpuMs
          coordinator.waitMs += th.waitMs
        } else coordinator = { ...coordinator, known: false }
      }
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
        framework: `tfjs ${tf.version.tfjs} ${backend}`,
        kind,
        threads: (backend === 'wasm-native' ? ortThreads : backend === 'tensorflow' ? os.cpus().length : 1) * workers,
        workers,
        params: nAll,
        steps,
        micro,
        ms_per_step: Math.round(med * 10) / 10,
        ms_min: Math.round(times[0]! * 10) / 10,
        ms_max: Math.round(times[times.length - 1]! * 10) / 10,
        tokens_per_s: Math.round(tokens / (med / 1000)),
        cpu_ms_per_step: Math.round((cpuMs / steps) * 10) / 10,
        gflops_peer_formula: Math.round((peerFlops / med / 1e6) * 100) / 100,
        gflops_own_formula: Math.round((ownFlops / med / 1e6) * 100) / 100,
        final_loss: Math.round(last.loss * 1000) / 1000,
        // the process's: with --workers, the coordinator and every replica thread together
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        rss_mb_at_200: rssAt200 || undefined,
        rss_mb_end: rssMB(),
        tensors_at_10: tensorsAt10 || undefined,
        tensors_end: tf.memory().numTensors,
        load1_start: loadStart,
        load1_end: load1()
      })
    )
    if (a.phases) printPhases(kind, backend, workers, times, cpuMs / steps, phaseMs, coordinator.known ? coordinator : null, replicas?.timings() ?? [])
    if (a.profile)
      await profileStep(async () => {
        await trainer.trainStep(batchAt(0))
      }, med)
    for (const b of pool) tf.dispose([b.inputIds, ...(b.labels ? [b.labels] : [])])
    trainer.dispose()
    model.dispose()
  }
  await replicas?.dispose()
}

/**
 * The parts of the measured steps, per step (means over the steps), as a Markdown table: the coordinator's
 * parts in the order they run (they add up to its step), then each replica's (its share of the step; what is
 * left is its idle time, waiting for the next shard), then each thread's CPU and run-queue wait.
 */
function printPhases(
  kind: ModelKind,
  backend: string,
  workers: number,
  times: number[],
  processCpuMs: number,
  phaseMs: Map<StepPart, number>,
  coordinator: { cpuMs: number; waitMs: number } | null,
  replicas: ReplicaTimings[]
): void {
  const n = times.length
  const step = times.reduce((s, t) => s + t, 0) / n
  const f = (ms: number): string => (ms / n).toFixed(0)
  const pct = (ms: number): string => `${((100 * ms) / n / step).toFixed(1)}%`
  const row = (thread: string, part: string, ms: number): string => `| ${thread} | ${part} | ${f(ms)} | ${pct(ms)} |`
  const partsSum = [...phaseMs.values()].reduce((s, x) => s + x, 0)
  const lines = [
    `phases of a ${kind.toUpperCase()} step (${backend}, ${workers} worker${workers > 1 ? 's' : ''}; mean over ${n} steps: ${step.toFixed(0)} ms/step; 1-min load ${load1()}):`,
    '',
    '| thread | part | ms/step | share of step |',
    '| --- | --- | ---: | ---: |',
    ...[...phaseMs.entries()].map(([part, ms]) => row('coordinator', part, ms)),
    row('coordinator', '(outside the parts: batch lookup, await turns)', step * n - partsSum)
  ]
  replicas.forEach((r, i) => {
    const name = `replica ${i + 1}`
    lines.push(
      row(name, 'load synced weights', r.loadMs),
      row(name, `forward + backward (${r.shards / n} shard/step)`, r.gradMs),
      row(name, 'write gradients to shared memory', r.writeMs)
    )
    lines.push(row(name, 'idle (no shard to compute)', step * n - r.loadMs - r.gradMs - r.writeMs))
  })
  lines.push('', '| thread | CPU ms/step | run-queue wait ms/step (load) |', '| --- | ---: | ---: |')
  lines.push(`| coordinator (whole step) | ${coordinator ? f(coordinator.cpuMs) : '–'} | ${coordinator ? f(coordinator.waitMs) : '–'} |`)
  replicas.forEach((r, i) => lines.push(`| replica ${i + 1} (its shards) | ${r.cpuMs === null ? '–' : f(r.cpuMs)} | ${r.waitMs === null ? '–' : f(r.waitMs)} |`))
  lines.push(`| process, all threads (process.cpuUsage) | ${processCpuMs.toFixed(0)} | – |`)
  console.error(lines.join('\n'))
}

/** One training step under tf.profile: time per kernel name, largest first, as a Markdown table. */
async function profileStep(step: () => Promise<void>, stepMs: number): Promise<void> {
  const t0 = performance.now()
  const info = await tf.profile(step)
  const wall = performance.now() - t0
  const byKernel = new Map<string, { ms: number; calls: number }>()
  for (const k of info.kernels) {
    // tf.customGrad wrappers are recorded as 'unnamed scope' around the kernels they run: counted already.
    if (k.name === 'unnamed scope') continue
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : ((await k.kernelTimeMs) as number)
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 }
    e.ms += ms
    e.calls++
    byKernel.set(k.name, e)
  }
  const total = [...byKernel.values()].reduce((s, e) => s + e.ms, 0)
  const rows = [...byKernel.entries()].sort((x, y) => y[1].ms - x[1].ms)
  const lines = [
    `profile of one step (${Math.round(wall)} ms under tf.profile, ${Math.round(stepMs)} ms median unprofiled; kernels sum to ${Math.round(total)} ms, the rest is JS between kernels):`,
    '',
    '| kernel | calls | ms | share of kernel time |',
    '| --- | ---: | ---: | ---: |',
    ...rows.map(([name, e]) => `| ${name} | ${e.calls} | ${e.ms.toFixed(1)} | ${((100 * e.ms) / total).toFixed(1)}% |`)
  ]
  console.error(lines.join('\n'))
}

// ---------------------------------------------------------------------------------------------
// The sitting: every configuration in its own process, interleaved, repeated

interface Config {
  label: string
  /** core budget for the ratio: 1, or all cores */
  budget: 'one' | 'all'
  run(kind: ModelKind): Record<string, unknown> | undefined
}

function lastJson(out: string): Record<string, unknown> | undefined {
  const line = out
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'))
  return line ? (JSON.parse(line) as Record<string, unknown>) : undefined
}

async function sitting(): Promise<void> {
  const self = fileURLToPath(import.meta.url)
  const root = path.resolve(path.dirname(self), '..', '..')
  const cores = int('cores')
  const repeats = int('repeats')
  const pauseMs = Number(a.pause) * 1000
  const common = ['--steps', String(int('steps')), '--warmup', String(int('warmup')), '--micro', String(int('micro')), ...shapeArgs.flatMap((k) => [`--${k}`, String(int(k))])]
  const ours =
    (backend: BackendName, ortThreads: number, workers = 1) =>
    (kind: ModelKind) => {
      const r = spawnSync(process.execPath, [self, '--backend', backend, '--kind', kind, '--ort-threads', String(ortThreads), '--workers', String(workers), ...common], {
        encoding: 'utf8',
        maxBuffer: 1 << 24
      })
      if (r.status !== 0) {
        console.error(`ours ${backend} ${kind} failed: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`)
        return undefined
      }
      return lastJson(r.stdout)
    }
  const peerScript = path.resolve(root, a.peer ?? '../shared/bench/torch-peer.py')
  const peer = (threads: number) => (kind: ModelKind) => {
    const r = spawnSync(a.python!, [peerScript, '--kind', kind, '--threads', String(threads), ...common.filter((x, i, all) => x !== '--micro' && all[i - 1] !== '--micro')], {
      encoding: 'utf8',
      maxBuffer: 1 << 24
    })
    if (r.status !== 0) {
      console.error(`peer ${threads} ${kind} failed: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`)
      return undefined
    }
    return lastJson(r.stdout)
  }

  // Which of our backends run here (each probed in a child, as the engine would select it).
  const wanted = (a.backends ?? '').split(',').filter(Boolean) as BackendName[]
  for (const b of wanted) if (!BACKENDS.includes(b)) throw new Error(`--backends: unknown backend "${b}"; expected some of ${BACKENDS.join(', ')}`)
  const configs: Config[] = []
  for (const b of wanted) {
    const probe = spawnSync(
      process.execPath,
      [
        self,
        '--backend',
        b,
        '--kind',
        'gpt',
        '--steps',
        '1',
        '--warmup',
        '1',
        '--layers',
        '1',
        '--hidden',
        '8',
        '--heads',
        '2',
        '--ffn',
        '16',
        '--seq',
        '8',
        '--batch',
        '2',
        '--vocab',
        '16'
      ],
      { encoding: 'utf8' }
    )
    if (probe.status !== 0) {
      console.error(`skipping ${b}: ${probe.stderr.trim().split('\n').slice(-1)[0]}`)
      continue
    }
    if (b === 'tensorflow') configs.push({ label: `ours tensorflow (${cores} cores)`, budget: 'all', run: ours(b, 1) })
    else if (b === 'wasm-native') {
      configs.push({ label: 'ours wasm-native, 1 ORT thread', budget: 'one', run: ours(b, 1) })
      if (cores > 1) {
        configs.push({ label: `ours wasm-native, ${cores} ORT threads`, budget: 'all', run: ours(b, cores) })
        configs.push({ label: `ours wasm-native, ${cores} workers`, budget: 'all', run: ours(b, 1, cores) })
      }
    } else {
      configs.push({ label: `ours ${b} (1 thread)`, budget: 'one', run: ours(b, 1) })
      if (cores > 1) configs.push({ label: `ours ${b}, ${cores} workers`, budget: 'all', run: ours(b, 1, cores) })
    }
  }
  if (!a['no-peer']) {
    if (!fs.existsSync(peerScript)) console.error(`no peer: ${peerScript} not found`)
    else {
      configs.push({ label: 'PyTorch, 1 thread', budget: 'one', run: peer(1) })
      if (cores > 1) configs.push({ label: `PyTorch, ${cores} cores (best split)`, budget: 'all', run: peer(cores) })
    }
  }

  const results = new Map<string, Array<{ ms: number; load: number }>>()
  console.error(
    `sitting: ${repeats} repeats x ${kinds.join(', ')} x ${configs.length} configurations, load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`
  )
  for (let r = 0; r < repeats; r++) {
    for (const kind of kinds) {
      for (const c of configs) {
        const load = load1()
        const out = c.run(kind)
        if (out) {
          const ms = Number(out.ms_per_step)
          console.log(JSON.stringify({ repeat: r + 1, kind, config: c.label, load1: load, ...out }))
          const key = `${kind}\t${c.label}`
          results.set(key, [...(results.get(key) ?? []), { ms, load }])
        }
        await new Promise((res) => setTimeout(res, pauseMs))
      }
    }
  }

  // Summary: median ms/step and tokens/s per configuration, the range over repeats, ratio to the peer at
  // the same core budget (tokens/s ours / tokens/s peer; > 1 means we are faster).
  const tokens = int('batch') * int('seq')
  const median = (xs: number[]): number => {
    const s = [...xs].sort((x, y) => x - y)
    const h = Math.floor(s.length / 2)
    return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2
  }
  const lines = ['| shape | configuration | ms/step median (range) | tokens/s | vs PyTorch, same cores | load (1-min) |', '| --- | --- | --- | ---: | ---: | --- |']
  for (const kind of kinds) {
    const peerMs = (budget: 'one' | 'all'): number | undefined => {
      const c = configs.find((x) => x.label.startsWith('PyTorch') && x.budget === budget)
      const rs = c && results.get(`${kind}\t${c.label}`)
      return rs?.length ? median(rs.map((x) => x.ms)) : undefined
    }
    for (const c of configs) {
      const rs = results.get(`${kind}\t${c.label}`)
      if (!rs?.length) continue
      const ms = rs.map((x) => x.ms)
      const med = median(ms)
      const p = c.label.startsWith('PyTorch') ? undefined : peerMs(c.budget)
      const loads = rs.map((x) => x.load)
      lines.push(
        `| ${kind.toUpperCase()} | ${c.label} | ${med.toFixed(0)} (${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)}) | ${Math.round(tokens / (med / 1000))} | ${p ? `${(p / med).toFixed(2)}×` : '–'} | ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} |`
      )
    }
  }
  console.error(
    `\nsummary (${repeats} repeats, interleaved; ${int('steps')} steps after ${int('warmup')} warm-up per run; ${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores):\n`
  )
  console.error(lines.join('\n'))
}
