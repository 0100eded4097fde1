// npm run bench:frw — the function-recovering warm-up curve: perplexity on the previous domain just
// before growth, right after it, and along the warm-up, for exact and elle growth (and elle without
// warm-up for reference). Real default-stream data, the real loop, tiny GPT; prints JSON and a table.
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { selectBackend } from '../src/main/engine/backend/select'
import { ExperimentStore } from '../src/main/engine/store/store'
import { TransformerModel } from '../src/main/engine/model'
import { parseRunConfig, type RunConfig } from '../src/main/engine/training/config'
import { loadRunData } from '../src/main/engine/training/data'
import { TrainingLoop, type StagePlan, type StepRecord, type TrainingContext, type TrainingPlugin } from '../src/main/engine/training/loop'
import { methodPlugins } from '../src/main/engine/methods/registry'
import { modelConfigFor } from '../src/main/engine/training/run'
import { defaultDataDir } from '../src/main/engine/paths'

const { values } = parseArgs({
  options: {
    'pre-steps': { type: 'string', default: '300' },
    'frw-steps': { type: 'string', default: '100' },
    every: { type: 'string', default: '10' },
    'data-dir': { type: 'string' }
  }
})
const preSteps = Number(values['pre-steps'])
const frwSteps = Number(values['frw-steps'])
const every = Number(values.every)
const dataDir = values['data-dir'] ?? defaultDataDir()

/** Perplexity of the first domain right after growth and every `every` warm-up steps. */
class Curve implements TrainingPlugin {
  readonly name = 'frw-curve'
  points: Array<{ frwStep: number; ppl: number }> = []
  beforeGrowthPpl: number | null = null
  private inFrw = false
  constructor(private readonly domain: string) {}
  afterValidation(_ctx: TrainingContext, report: { stage: StagePlan; endOfStage: boolean; domains: Array<{ domain: string; ppl: number }> }): void {
    if (report.endOfStage && report.stage.index === 0) this.beforeGrowthPpl = report.domains.find((d) => d.domain === this.domain)!.ppl
  }
  async beforeStage(ctx: TrainingContext, stage: StagePlan): Promise<void> {
    this.inFrw = stage.kind === 'frw' || (stage.index === 1 && stage.kind === 'train')
    if (stage.index === 1) this.points.push({ frwStep: 0, ppl: (await (ctx as TrainingLoop).evaluateDomain(this.domain)).ppl })
  }
  async afterStep(ctx: TrainingContext, r: StepRecord): Promise<void> {
    if (!this.inFrw || r.stage.index !== 1) return
    if (r.stepInStage % every === 0) this.points.push({ frwStep: r.stepInStage, ppl: (await (ctx as TrainingLoop).evaluateDomain(this.domain)).ppl })
    // The curve is the phase right after growth; the rest of the run is not needed.
    if (r.stepInStage >= frwSteps) ctx.requestStop()
  }
}

function config(mode: 'exact' | 'elle', frw: number, frwSchedule: 'next-stage' | 'own' = 'next-stage'): RunConfig {
  return parseRunConfig({
    name: `frw-${mode}-${frw}`,
    model: { kind: 'gpt', layers: 2, heads: 2, headSize: 32 },
    training: { seqLen: 64, batchSize: 16, lr: 2e-3, validateEvery: 1000, validationSequences: 64, seed: 0 },
    growth: { mode, noise: mode === 'elle' ? 0.01 : 0, optimizer: 'reset', rampSteps: 50, frwSchedule },
    memory: { fraction: 0.1 },
    stages: [
      { domain: 'press', steps: preSteps },
      // no warm-up: the curve then follows the first steps on the new domain instead
      { domain: 'humanities', steps: frw > 0 ? 5 * frwSteps : frwSteps, frwSteps: frw, grow: { layers: 1, heads: 2 } }
    ]
  })
}

await selectBackend({ env: process.env.ELLE_BACKEND })
const store = ExperimentStore.open(path.join(os.tmpdir(), `elle-bench-frw-${process.pid}.sqlite`))
const data = await loadRunData(store, dataDir, ['press', 'humanities'])
const results: Record<string, { beforeGrowth: number | null; curve: Array<{ frwStep: number; ppl: number }> }> = {}
for (const [label, cfg] of [
  ['exact + FRW', config('exact', frwSteps)],
  ['elle + FRW', config('elle', frwSteps)],
  ['elle + FRW, own schedule', config('elle', frwSteps, 'own')],
  ['elle, no FRW (new domain)', config('elle', 0)]
] as const) {
  const curve = new Curve('press')
  const model = new TransformerModel(modelConfigFor(cfg, data.tokenizer.vocabSize), { seed: 0 })
  const loop = new TrainingLoop({ config: cfg, model, data, plugins: [...methodPlugins(cfg), curve] })
  await loop.run()
  results[label] = { beforeGrowth: curve.beforeGrowthPpl, curve: curve.points }
  loop.dispose()
  loop.model.dispose()
}
store.close()
console.log(JSON.stringify({ preSteps, frwSteps, every, results }))
const steps = results['exact + FRW']!.curve.map((p) => p.frwStep)
console.log(
  `\n| step after growth | ${Object.keys(results).join(' | ')} |\n|---|${Object.keys(results)
    .map(() => '---')
    .join('|')}|`
)
console.log(
  `| before growth | ${Object.values(results)
    .map((r) => r.beforeGrowth?.toFixed(1) ?? '-')
    .join(' | ')} |`
)
for (const s of steps)
  console.log(
    `| ${s} | ${Object.values(results)
      .map((r) => r.curve.find((p) => p.frwStep === s)?.ppl.toFixed(1) ?? '-')
      .join(' | ')} |`
  )
