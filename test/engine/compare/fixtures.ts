// Hand-made lifelong runs in a real store: experiments with a stream, and the metric points the training
// loop would write (ppl/<domain>, ap, ap_geo, ap_plus, params, loss) with wall seconds and FLOPs.
import path from 'node:path'
import { ExperimentStore, type MetricPoint } from '../../../src/main/engine/store/store'
import { tempDir } from '../../helpers/tmp'
import type { PhaseRef } from '../../../src/shared/metrics'

export function tempStore(): ExperimentStore {
  return ExperimentStore.open(path.join(tempDir('elle-compare-'), 'store.sqlite'))
}

export function config(name: string, stream: readonly string[], options: { grow?: boolean; method?: string; replay?: number } = {}): Record<string, unknown> {
  return {
    name,
    model: { kind: 'gpt', layers: 2, heads: 2, headSize: 32 },
    ...(options.method ? { method: { name: options.method } } : {}),
    ...(options.replay ? { replay: { ratio: options.replay, weights: 'uniform' } } : {}),
    stages: stream.map((domain, i) => ({ domain, steps: 100, ...(options.grow && i > 0 ? { grow: { layers: 1, heads: 1 }, frwSteps: 10 } : {}) }))
  }
}

export function createRun(store: ExperimentStore, cfg: Record<string, unknown>, status: 'finished' | 'running' = 'finished'): number {
  const run = store.createRun(store.ensureExperiment(String(cfg.name), cfg).id, { backend: 'wasm' })
  store.setRunStatus(run.id, 'running')
  if (status === 'finished') store.setRunStatus(run.id, 'finished')
  return run.id
}

/** The training phase of a stage, as the metrics plugin records it. */
export const train = (stage: number, domain: string): PhaseRef => ({ kind: 'train', stage, domain })

/** One validation row: the perplexities of the seen domains (in stream order) at a step. */
export interface Row {
  step: number
  wallS: number
  flops: number
  phase: PhaseRef
  ppl: number[]
  /** AP to store; default: the mean of ppl */
  ap?: number
  apPlus?: number
}

/** Write validation rows (ppl/*, ap, ap_geo, ap_plus) and phase starts (params). */
export function writeRows(
  store: ExperimentStore,
  runId: number,
  stream: readonly string[],
  rows: readonly Row[],
  params: ReadonlyArray<{ phase: PhaseRef; step: number; wallS: number; flops: number; value: number }> = []
): void {
  const points: MetricPoint[] = []
  const at = (r: { phase: PhaseRef; step: number; wallS: number; flops: number }, name: string, value: number): MetricPoint => ({
    runId,
    phase: r.phase,
    step: r.step,
    tokensSeen: r.step * 1024,
    wallS: r.wallS,
    flops: r.flops,
    name,
    value
  })
  for (const r of rows) {
    r.ppl.forEach((v, j) => {
      points.push(at(r, `ppl/${stream[j]}`, v))
      points.push(at(r, `val_loss/${stream[j]}`, Math.log(v)))
    })
    points.push(at(r, 'ap', r.ap ?? r.ppl.reduce((a, b) => a + b, 0) / r.ppl.length))
    points.push(at(r, 'ap_geo', Math.exp(r.ppl.reduce((a, b) => a + Math.log(b), 0) / r.ppl.length)))
    if (r.apPlus !== undefined) points.push(at(r, 'ap_plus', r.apPlus))
    points.push(at(r, 'loss', Math.log(r.ppl.at(-1)!)))
  }
  for (const p of params) points.push(at(p, 'params', p.value))
  store.insertMetrics(points)
}

/**
 * A realistic run over `stream`: `perStage` validations per stage, perplexities falling on the current domain
 * and drifting up (forgetting) on earlier ones, `secondsPerStep[stage]` and `flopsPerStep[stage]` per step.
 */
export function simulateRun(
  store: ExperimentStore,
  runId: number,
  stream: readonly string[],
  options: { steps?: number; perStage?: number; start?: number; floor?: number; forget?: number; secondsPerStep: number[]; flopsPerStep: number[]; params: number[]; frw?: number }
): void {
  const steps = options.steps ?? 100
  const perStage = options.perStage ?? 4
  const start = options.start ?? 900
  const floor = options.floor ?? 120
  const rows: Row[] = []
  const params: Array<{ phase: PhaseRef; step: number; wallS: number; flops: number; value: number }> = []
  const endPpl: number[] = []
  let step = 0
  let wall = 0
  let flops = 0
  stream.forEach((domain, stage) => {
    if (stage > 0 && options.frw) {
      const phase: PhaseRef = { kind: 'frw', stage, domain: stream[stage - 1]! }
      params.push({ phase, step, wallS: wall, flops, value: options.params[stage]! })
      step += options.frw
      wall += options.frw * options.secondsPerStep[stage]!
      flops += options.frw * options.flopsPerStep[stage]!
      // the warm-up ends with a validation of the domains seen so far (no AP+ here, for simplicity)
      rows.push({ step, wallS: wall, flops, phase, ppl: stream.slice(0, stage).map((_, j) => endPpl[j]! + 5) })
    }
    const phase = train(stage, domain)
    params.push({ phase, step, wallS: wall, flops, value: options.params[stage]! })
    for (let v = 1; v <= perStage; v++) {
      step += steps / perStage
      wall += (steps / perStage) * options.secondsPerStep[stage]!
      flops += (steps / perStage) * options.flopsPerStep[stage]!
      const progress = v / perStage
      const ppl = stream
        .slice(0, stage + 1)
        .map((_, j) => (j === stage ? start - (start - floor - 10 * j) * Math.sqrt(progress) : endPpl[j]! + (options.forget ?? 20) * (stage - j - 1 + progress)))
      const apPlus = stage === 0 ? undefined : ppl.slice(0, stage).reduce((a, p, j) => a + p - endPpl[j]!, 0) / stage
      rows.push({ step, wallS: wall, flops, phase, ppl, apPlus })
      if (v === perStage) endPpl[stage] = ppl[stage]!
    }
  })
  writeRows(store, runId, stream, rows, params)
}
