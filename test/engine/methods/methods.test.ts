// Behaviour of A-GEM, logit distillation, PNN, joint / scratch and re-warming on real tiny runs.
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { AgemPlugin } from '../../../src/main/engine/methods/agem'
import { distillationLoss, DistillPlugin } from '../../../src/main/engine/methods/distill'
import { MixturePlugin } from '../../../src/main/engine/methods/joint'
import { PnnModel } from '../../../src/main/engine/methods/pnn-model'
import { PnnPlugin } from '../../../src/main/engine/methods/pnn'
import { type TransformerModel, type Weights } from '../../../src/main/engine/model'
import { hashSeed } from '../../../src/main/engine/model/rng'
import type { RunData } from '../../../src/main/engine/training/data'
import { lossInput, toLossBatch } from '../../../src/main/engine/training/evaluate'
import { savePluginStates } from '../../../src/main/engine/training/plugin-state'
import { planPhases } from '../../../src/main/engine/methods/registry'
import { type MicroBatch, type TrainingLoop, type StagePlan, type TrainingContext, type TrainingPlugin } from '../../../src/main/engine/training/loop'
import { makeRunData, useBackend } from '../training/fixtures'
import { methodConfig, pluginOf, runMethod } from './helpers'

let data: RunData
beforeAll(async () => {
  await useBackend('wasm')
  data = await makeRunData()
})

/** Parameter counts and weights seen at each phase's start and end. */
class StageProbe implements TrainingPlugin {
  readonly name = 'stage-probe'
  params: number[] = []
  models: string[] = []
  endWeights: Weights[] = []
  beforeStage(ctx: TrainingContext): void {
    this.params.push(ctx.model.paramCount())
    this.models.push(`${ctx.model.config.layers}x${ctx.model.config.heads}`)
  }
  async afterStage(ctx: TrainingContext, _stage: StagePlan): Promise<void> {
    this.endWeights.push(await ctx.model.readWeights())
  }
}

describe('A-GEM', () => {
  it('projects gradients that point against the memory gradient, leaving g·g_ref >= 0', async () => {
    const config = methodConfig(
      'gpt',
      { name: 'agem' },
      {
        stages: [
          { domain: 'alpha', steps: 40 },
          { domain: 'beta', steps: 30 }
        ]
      }
    )
    config.training.lr = 1e-2
    const run = await runMethod(data, config)
    const { stats } = pluginOf(run, AgemPlugin)
    expect(stats.updates).toBe(30) // every update of the second stage, none in the first
    expect(stats.projected).toBeGreaterThan(0)
    expect(stats.minDotAfter).toBeGreaterThan(-1e-4)
    run.close()
  })
})

describe('logit distillation', () => {
  /** Mean τ²·KL(teacher ‖ student) on the validation inputs. */
  function klToTeacher(student: TransformerModel, teacher: TransformerModel, inputs: ReturnType<typeof toLossBatch>[]): number {
    let sum = 0
    for (const b of inputs) {
      sum += tf.tidy(
        () =>
          distillationLoss(student.logits(b.inputIds).reshape([-1, student.config.vocabSize]), teacher.logits(b.inputIds).reshape([-1, teacher.config.vocabSize]), 2).dataSync()[0]!
      )
    }
    return sum / inputs.length
  }

  /** KL(teacher ‖ student) on beta's validation inputs as the last stage ends (the teacher is gone after the run). */
  class KlProbe implements TrainingPlugin {
    readonly name = 'kl-probe'
    kl = NaN
    kd: DistillPlugin | null = null
    afterStage(ctx: TrainingContext, stage: StagePlan): void {
      if (stage.stage !== 1) return
      const inputs = (ctx as TrainingLoop).validationInputs('beta').map(toLossBatch)
      this.kl = klToTeacher(ctx.model, this.kd!.teacher!, inputs)
      for (const b of inputs) tf.dispose([b.inputIds, b.labels!])
    }
  }
  const probing = (probe: KlProbe) => (methods: TrainingPlugin[]) => {
    probe.kd = methods.find((p) => p instanceof DistillPlugin) as DistillPlugin
    return [probe]
  }

  it('alpha = 0 is plain LM training; alpha = 1 keeps the student close to the teacher', async () => {
    const stages = [
      { domain: 'alpha', steps: 40 },
      { domain: 'beta', steps: 30 }
    ]
    const naive = await runMethod(data, methodConfig('gpt', { name: 'naive' }, { stages }))
    const offProbe = new KlProbe()
    const onProbe = new KlProbe()
    const off = await runMethod(data, methodConfig('gpt', { name: 'logit-kd', alpha: 0 }, { stages }), probing(offProbe))
    const on = await runMethod(data, methodConfig('gpt', { name: 'logit-kd', alpha: 1 }, { stages }), probing(onProbe))
    expect(off.recorder.steps.map((s) => s.loss)).toEqual(naive.recorder.steps.map((s) => s.loss))
    expect(onProbe.kl).toBeLessThan(offProbe.kl * 0.2)
    expect(onProbe.kl).toBeLessThan(0.05)
    for (const r of [naive, off, on]) r.close()
  })

  it('the distillation gradient is τ(p_S − p_T)/rows', () => {
    const s = tf.tensor2d([
      [1, 2, 0.5],
      [0, -1, 2]
    ])
    const t = tf.tensor2d([
      [0.3, 1, 0],
      [2, 0, 1]
    ])
    const g = tf.grad((x: tf.Tensor) => distillationLoss(x, t, 2))(s)
    const expected = tf.mul(tf.sub(tf.softmax(tf.div(s, 2)), tf.softmax(tf.div(t, 2))), 2 / 2)
    expect(Math.max(...tf.abs(tf.sub(g, expected)).dataSync())).toBeLessThan(1e-6)
    // the value is the KL itself: zero when teacher and student agree
    expect(distillationLoss(s, s, 2).dataSync()[0]).toBeCloseTo(0, 6)
    tf.dispose([s, t, g, expected])
  })
})

describe('PNN', () => {
  for (const kind of ['gpt', 'bert'] as const) {
    it(`${kind}: freezes earlier columns, grows per domain and validates each domain on its own column`, async () => {
      const probe = new StageProbe()
      const config = methodConfig(
        kind,
        { name: 'pnn' },
        {
          stages: [
            { domain: 'alpha', steps: 12 },
            { domain: 'beta', steps: 12 },
            { domain: 'alpha', steps: 6 }
          ]
        }
      )
      const run = await runMethod(data, config, [probe])
      const model = run.loop.model as PnnModel
      expect(model).toBeInstanceOf(PnnModel)
      expect(model.columns).toBe(3)
      // one more column (plus its laterals) per stage
      expect(probe.params[1]!).toBeGreaterThan(probe.params[0]! * 2)
      expect(probe.params[2]!).toBeGreaterThan(probe.params[1]! + probe.params[0]!)
      expect(model.paramCount()).toBe(probe.params[2]!)
      // column 0 after the later stages is exactly column 0 at the end of its own stage
      const column0 = (await model.frozenColumns())[0]!.weights
      for (const [name, w] of Object.entries(column0)) expect(w.data, name).toEqual(probe.endWeights[0]![name]!.data)
      // beta's column is frozen during the third stage too: beta's loss does not move
      const betaLosses = run.recorder.validations.filter((v) => v.stage.stage === 2).map((v) => v.domains.find((d) => d.domain === 'beta')!.loss)
      const betaAtEnd = run.recorder.validations
        .filter((v) => v.stage.stage === 1)
        .at(-1)!
        .domains.find((d) => d.domain === 'beta')!.loss
      expect(betaLosses.every((l) => Math.abs(l - betaAtEnd) < 1e-6)).toBe(true)
      expect(((await savePluginStates([pluginOf(run, PnnPlugin)])).json.pnn as { columns: Array<{ domain: string }> }).columns.map((c) => c.domain)).toEqual([
        'alpha',
        'beta',
        'alpha'
      ])
      run.close()
    })
  }

  it('the laterals train: a new column reads the frozen ones', async () => {
    const run = await runMethod(data, methodConfig('gpt', { name: 'pnn' }))
    const model = run.loop.model as PnnModel
    const before = (await model.newestColumn()).laterals
    expect(Object.keys(before).sort()).toEqual(['lateral.0.from0.bias', 'lateral.0.from0.kernel', 'lateral.1.from0.bias', 'lateral.1.from0.kernel'])
    // biases start at 0; after 12 updates they moved
    expect(Math.max(...before['lateral.0.from0.bias']!.data.map(Math.abs))).toBeGreaterThan(0)
    run.close()
  })
})

describe('joint and from-scratch training', () => {
  it('joint trains the final-size model on every domain seen so far', async () => {
    const probe = new StageProbe()
    const run = await runMethod(data, methodConfig('gpt', { name: 'joint' }), [probe])
    expect(probe.models).toEqual(['2x3', '2x3']) // 1 layer 2 heads, + 1 layer 1 head, from the start
    const mixture = pluginOf(run, MixturePlugin)
    expect(mixture.drawn.get('alpha')).toBeGreaterThan(2)
    expect(mixture.drawn.get('beta')).toBeGreaterThan(2)
    expect((mixture.drawn.get('alpha') ?? 0) + (mixture.drawn.get('beta') ?? 0)).toBe(12) // only the second stage mixes
    expect(planPhases(run.loop.config).map((p) => p.domains)).toEqual([['alpha'], ['beta', 'alpha']])
    run.close()
  })

  it('scratch is one phase over the whole stream, as long as the schedule, validated on every domain', async () => {
    const run = await runMethod(data, methodConfig('bert', { name: 'scratch' }))
    expect(run.loop.stages.map((s) => [s.kind, s.steps, s.domains])).toEqual([['train', 24, ['alpha', 'beta']]])
    expect(run.recorder.validations[0]!.domains.map((d) => d.domain)).toEqual(['alpha', 'beta'])
    expect(run.loop.model.config).toMatchObject({ layers: 2, heads: 3 })
    const drawn = pluginOf(run, MixturePlugin).drawn
    expect((drawn.get('alpha') ?? 0) + (drawn.get('beta') ?? 0)).toBe(24)
    expect(drawn.get('beta')).toBeGreaterThan(5)
    run.close()
  })
})

describe('re-warming', () => {
  it('each stage re-warms to the peak and re-decays to minLrRatio x peak', async () => {
    const config = methodConfig('gpt', { name: 'rewarm', peakLr: 0.004, warmupFraction: 0.25, minLrRatio: 0.1 })
    const run = await runMethod(data, config)
    for (const stage of [0, 1]) {
      const lrs = run.recorder.steps.filter((s) => s.stage.stage === stage).map((s) => s.lr)
      expect(lrs[0]).toBeCloseTo(0.004 / 3, 8) // warm-up over round(0.25 x 12) = 3 updates
      expect(Math.max(...lrs)).toBeCloseTo(0.004, 8)
      // linear decay from the peak reaches 0.1 x peak at the stage's end: 0.004 - 0.0036 x 8/9 on its last update
      expect(lrs.at(-1)!).toBeCloseTo(0.0008, 8)
    }
    run.close()
  })
})

describe('objective hook', () => {
  /** Per labelled position (label >= 0): log-softmax rows in float64, from the logits alone. */
  function logSoftmaxRows(logits: Float32Array, labels: Int32Array, vocab: number, tau = 1): Array<{ row: Float64Array; label: number }> {
    const out: Array<{ row: Float64Array; label: number }> = []
    labels.forEach((label, i) => {
      if (label < 0) return
      const row = Float64Array.from(logits.subarray(i * vocab, (i + 1) * vocab), (z) => z / tau)
      const max = Math.max(...row)
      let sum = 0
      for (const z of row) sum += Math.exp(z - max)
      const lse = max + Math.log(sum)
      out.push({ row: row.map((z) => z - lse), label })
    })
    return out
  }

  /** The LM cross-entropy and the distillation objective of one update, computed here before it is applied. */
  class ObjectiveProbe implements TrainingPlugin {
    readonly name = 'objective-probe'
    expected: Array<{ step: number; lm: number; objective: number }> = []
    constructor(private readonly distill: DistillPlugin) {}
    composeUpdate(ctx: TrainingContext, stage: StagePlan, micro: MicroBatch[]): MicroBatch[] {
      const teacher = this.distill.teacher
      if (stage.index === 0 || !teacher) return micro
      const alpha = this.distill.alphaAt(ctx)
      const tau = 2
      const V = ctx.model.config.vocabSize
      let lm = 0
      let objective = 0
      micro.forEach((m, k) => {
        // the loop's own loss input for micro-batch k of this update (GPT: next token; no masking)
        const input = lossInput(ctx.config.model.kind, m.batch, ctx.tokenizer, V, hashSeed(ctx.config.training.seed, `mask/${ctx.state.globalStep}/${k}`))
        const ids = tf.tensor2d(input.inputIds, input.shape, 'int32')
        const opts = { training: false, padId: ctx.tokenizer.specialIds.pad }
        const zS = tf.tidy(() => ctx.model.logits(ids, opts)).dataSync() as Float32Array
        const zT = tf.tidy(() => teacher.logits(ids, opts)).dataSync() as Float32Array
        ids.dispose()
        const student = logSoftmaxRows(zS, input.labels, V)
        const ce = student.reduce((s, r) => s - r.row[r.label]!, 0) / student.length
        const sT = logSoftmaxRows(zT, input.labels, V, tau)
        const sS = logSoftmaxRows(zS, input.labels, V, tau)
        let kl = 0
        sT.forEach((t, i) => t.row.forEach((lp, v) => (kl += Math.exp(lp) * (lp - sS[i]!.row[v]!))))
        const kd = (tau * tau * kl) / sT.length
        lm += ce / micro.length
        objective += ((1 - alpha) * ce + alpha * kd) / micro.length
      })
      this.expected.push({ step: ctx.state.globalStep + 1, lm, objective })
      return micro
    }
  }

  it('reports the LM loss, not the mixed objective (logit-KD at α = 0.5)', async () => {
    let probe: ObjectiveProbe | undefined
    const config = methodConfig('gpt', { name: 'logit-kd', alpha: 0.5, temperature: 2 })
    const run = await runMethod(data, config, (methods) => [(probe = new ObjectiveProbe(pluginOf({ plugins: methods }, DistillPlugin)))])
    const reported = new Map(run.recorder.steps.map((s) => [s.step, s.loss]))
    expect(probe!.expected.length).toBe(12) // every update of the second stage
    for (const { step, lm, objective } of probe!.expected) {
      // the two candidates are far apart at α = 0.5, so matching one is not an accident
      expect(Math.abs(objective - lm)).toBeGreaterThan(0.1)
      expect(reported.get(step)).toBeCloseTo(lm, 4)
    }
    run.close()
  })
})
