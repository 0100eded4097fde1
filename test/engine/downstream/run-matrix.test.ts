// The forgetting matrix of a real tiny run (press, then e-mail after a warm-up), and `elle finetune`
// in-process: JSON and text output, exit codes, one-line errors.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { finetuneCommand } from '../../../src/main/cli/commands/finetune'
import { helpText, parseCommandArgs, UsageError } from '../../../src/main/cli/args'
import { DEFAULT_TASK_NAMES, evaluateRunDownstream, meanStd, stageEndCheckpoints, type DownstreamMatrixReport } from '../../../src/main/engine/downstream'
import { parseRunConfig } from '../../../src/main/engine/training/config'
import { useBackend } from '../training/fixtures'
import { storeSnapshot, tinyRun, type TinyRun } from './helpers'

let run: TinyRun
let report: DownstreamMatrixReport
const logs: string[] = []
const settings = { steps: 6, batchSize: 8, maxLength: 32 }

beforeAll(async () => {
  await useBackend('wasm')
  run = await tinyRun(inject('dataDir'), {
    stages: [
      { domain: 'press', steps: 10 },
      { domain: 'email', steps: 10, frwSteps: 4 }
    ]
  })
  report = await evaluateRunDownstream(run.store, run.runId, { dataDir: run.dataDir, seeds: 2, settings, log: (m) => logs.push(m) })
}, 120_000)
afterAll(() => run?.store.close())

describe('evaluateRunDownstream', () => {
  it('takes the checkpoint closing each stage, not the warm-up one', () => {
    const config = parseRunConfig(run.store.getExperimentConfig(run.store.getRun(run.runId).experimentId))
    // checkpoints at 10 (press), 14 (end of the warm-up on press memory), 24 (email)
    expect(run.store.listCheckpoints(run.runId).map((c) => c.step)).toEqual([10, 14, 24])
    expect(stageEndCheckpoints(run.store, run.runId, config).map((e) => [e.stage, e.domain, e.endStep, e.checkpoint?.step])).toEqual([
      [0, 'press', 10, 10],
      [1, 'email', 24, 24]
    ])
    expect(report.stages.map((s) => [s.index, s.domain, s.task, s.step])).toEqual([
      [0, 'press', 'press-genre', 10],
      [1, 'email', 'email-spam', 24]
    ])
  })

  it('fills R[i][j] for seen tasks and the next one, and the initial-model baseline', () => {
    for (const m of [report.accuracy, report.macroF1]) {
      expect(m.R).toHaveLength(2)
      expect(m.R.every((row) => row.length === 2 && row.every((v) => typeof v === 'number' && v >= 0 && v <= 1))).toBe(true)
      expect(m.baseline[0]).toBeNull()
      expect(typeof m.baseline[1]).toBe('number')
    }
    expect(report.cells.map((c) => [c.stage, c.taskStage, c.task])).toEqual([
      [0, 0, 'press-genre'],
      [0, 1, 'email-spam'],
      [1, 0, 'press-genre'],
      [1, 1, 'email-spam'],
      [-1, 1, 'email-spam']
    ])
    // what FWT reads: scores taken before e-mail was trained on
    expect(report.cells.map((c) => c.forward)).toEqual([false, true, false, false, true])
    expect(report.cells.every((c) => c.reused.length === 0 && c.seeds.every((s) => Number.isFinite(s.trainLoss)))).toBe(true)
    expect(report.stages.map((s) => s.seen)).toEqual([['press'], ['press', 'email']])
    expect(logs.some((l) => /^stage 1 \(email, step 24\) on press-genre, seed 1: accuracy \d\.\d{3}  macro-F1 \d\.\d{3}/.test(l))).toBe(true)
    expect(logs.some((l) => l.startsWith('initial model on email-spam, seed 0'))).toBe(true)
  })

  it('BWT and FWT match a hand computation from the stored rows', () => {
    const rows = run.store.listEvaluations(run.runId)
    const ids = report.stages.map((s) => s.checkpointId)
    const mean = (checkpointId: number | null, task: string, metric: string): number =>
      meanStd(rows.filter((r) => r.checkpointId === checkpointId && r.task === task && r.metric === metric).map((r) => r.value)).mean
    for (const [metric, m] of [
      ['accuracy', report.accuracy],
      ['macro_f1', report.macroF1]
    ] as const) {
      const R = [
        [mean(ids[0]!, 'press-genre', metric), mean(ids[0]!, 'email-spam', metric)],
        [mean(ids[1]!, 'press-genre', metric), mean(ids[1]!, 'email-spam', metric)]
      ]
      const b1 = mean(null, 'email-spam', `${metric}/init`)
      expect(m.R).toEqual(R)
      expect(m.baseline[1]).toBe(b1)
      expect(m.bwt).toBeCloseTo(R[1]![0]! - R[0]![0]!, 12)
      expect(m.fwt).toBeCloseTo(R[0]![1]! - b1, 12)
    }
  })

  it('stores every seed of every cell once, and reuses them on a second call', async () => {
    const rows = run.store.listEvaluations(run.runId)
    // 5 cells x 2 seeds x 2 metrics; the initial model's rows carry no checkpoint
    expect(rows).toHaveLength(20)
    expect(rows.filter((r) => r.checkpointId === null).map((r) => `${r.metric}:${r.seed}`)).toEqual(['accuracy/init:0', 'macro_f1/init:0', 'accuracy/init:1', 'macro_f1/init:1'])
    const again = await evaluateRunDownstream(run.store, run.runId, { dataDir: run.dataDir, seeds: 2, settings })
    expect(run.store.listEvaluations(run.runId)).toHaveLength(20)
    expect(again.accuracy).toEqual(report.accuracy)
    expect(again.cells.every((c) => c.reused.length === 2)).toBe(true)
  })

  it('refuses an unknown run and bad seeds without storing', async () => {
    const snapshot = storeSnapshot(run.store, run.runId)
    await expect(evaluateRunDownstream(run.store, 999, { dataDir: run.dataDir })).rejects.toThrow(/no run with id 999/)
    await expect(evaluateRunDownstream(run.store, run.runId, { dataDir: run.dataDir, seeds: 0 })).rejects.toThrow(/seeds must be an integer from 1/)
    expect(storeSnapshot(run.store, run.runId)).toEqual(snapshot)
  })
})

/** `elle finetune ARGS` as the CLI's main() runs it: exit code, stdout, stderr. */
async function elle(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')))
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')))
  try {
    const args = parseCommandArgs(finetuneCommand, [...argv, '--db', run.dbPath, '--data-dir', run.dataDir, '--backend', 'wasm'])
    if (args.values.help) {
      console.log(helpText(finetuneCommand))
      return { code: 0, out: out.join('\n'), err: err.join('\n') }
    }
    const code = await finetuneCommand.run(args)
    return { code, out: out.join('\n'), err: err.join('\n') }
  } catch (e) {
    err.push(`elle finetune: ${(e as Error).message.split('\n')[0]}`)
    return { code: e instanceof UsageError ? 2 : 1, out: out.join('\n'), err: err.join('\n') }
  } finally {
    log.mockRestore()
    error.mockRestore()
  }
}

describe('elle finetune', () => {
  it('lists the tasks in --help', async () => {
    const { code, out } = await elle('--help')
    expect(code).toBe(0)
    expect(out).toContain('elle finetune CHECKPOINT --task NAME')
    expect(out).toContain('elle finetune --run RUN_ID')
    for (const name of DEFAULT_TASK_NAMES) expect(out).toContain(name)
  })

  it('--run fine-tunes with its own settings (never reusing scores made with others), then prints from the stored ones', async () => {
    const before = run.store.listEvaluations(run.runId).length
    // the scores above were made with 6 updates; the CLI's default budget makes and stores its own
    const json = await elle('--run', String(run.runId), '--seeds', '2', '--json')
    expect(json.code).toBe(0)
    const parsed = JSON.parse(json.out) as DownstreamMatrixReport
    expect(parsed.settings.steps).toBe(150)
    expect(parsed.cells.every((c) => c.reused.length === 0)).toBe(true)
    expect(json.err).toContain(`fine-tuning the end-of-stage checkpoints of run ${run.runId}`)
    const stored = run.store.listEvaluations(run.runId)
    expect(stored.length).toBe(before + parsed.cells.length * 2 * 2)
    expect(stored.slice(before).every((e) => e.settings?.steps === 150)).toBe(true)
    // the second call reuses them: nothing is fine-tuned or stored again
    const text = await elle('--run', String(run.runId), '--seeds', '2')
    expect(text.out).toMatch(/accuracy, mean over 2 seeds:/)
    expect(text.out).toMatch(/initial model\s+-\s+\d\.\d{3}/)
    expect(text.out).toMatch(/0 press\s+\d\.\d{3} ±\d\.\d{3}\s+\d\.\d{3} ±\d\.\d{3} \(fwd\)/)
    expect(text.out).toMatch(/BWT [+-]\d\.\d{3}\s+FWT [+-]\d\.\d{3}/)
    expect(run.store.listEvaluations(run.runId)).toHaveLength(stored.length)
    // 2 seeds × 150 updates per cell, now in a job worker: over a minute on a shared 2-core machine
  }, 180_000)

  it('fine-tunes one checkpoint with the default budget and stores its seed', async () => {
    const checkpoint = run.store.listCheckpoints(run.runId).at(-1)!
    const { code, out } = await elle(checkpoint.path, '--task', 'press-genre', '--seeds', '1', '--json')
    expect(code).toBe(0)
    const r = JSON.parse(out) as { seeds: unknown[]; settings: { steps: number; maxLength: number }; stored: unknown; majority: { label: string } }
    expect(r.seeds).toHaveLength(1)
    expect(r.settings).toMatchObject({ steps: 150, maxLength: 32 })
    expect(r.stored).toEqual({ runId: run.runId, checkpointId: checkpoint.id, rows: 2 })
    expect(r.majority.label).toBe('reportage')
  })

  it('refuses bad input with one line and the right exit code, storing nothing', async () => {
    const snapshot = storeSnapshot(run.store, run.runId)
    const first = run.store.listCheckpoints(run.runId)[0]!.path
    const last = run.store.listCheckpoints(run.runId).at(-1)!.path
    const unknown = await elle(last, '--task', 'press-sentiment')
    expect(unknown.code).toBe(2)
    expect(unknown.err).toMatch(/^elle finetune: unknown task "press-sentiment"; known tasks: press-genre, press-pos, .*email-spam$/)
    const unseen = await elle(first, '--task', 'email-spam')
    expect(unseen.code).toBe(1)
    expect(unseen.err).toMatch(/task "email-spam" is on domain "email", which checkpoint .* has not seen \(it has seen: press\)/)
    expect((await elle(last, '--task', 'press-genre', '--seeds', '0')).err).toMatch(/--seeds must be an integer from 1 to 100, got "0"/)
    expect((await elle(last, '--task', 'press-genre', '--prompt', 'maybe')).code).toBe(2)
    expect((await elle(last)).err).toMatch(/--task is required; known tasks: press-genre/)
    expect((await elle(last, '--run', String(run.runId))).code).toBe(2)
    expect(storeSnapshot(run.store, run.runId)).toEqual(snapshot)
    expect(path.isAbsolute(last)).toBe(true)
  })
})
