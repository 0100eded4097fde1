// Overnight (issue 14): a window that closes mid-run pauses the run at a checkpoint; it continues when the
// window opens again and its losses equal those of a run never paused. A fake clock drives the queue: no
// real waiting. The notify hook fires (a real child process, no shell) on finish, stall, failure and NaN.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { ApiEvent, RunNotice } from '../../../src/shared/contract'
import type { RunConfigInput } from '../../../src/shared/run-config'
import { Engine } from '../../../src/main/engine/engine'
import { tempDir } from '../../helpers/tmp'

const dir = tempDir()
let engine: Engine
let now = Date.parse('2026-12-02T21:00:00Z') // a Wednesday, inside 20:00-07:30
const events: ApiEvent[] = []
const hookFile = path.join(dir, 'hook.log')

beforeAll(async () => {
  engine = await Engine.open({ dbPath: path.join(dir, 'window.sqlite'), dataDir: inject('dataDir'), backend: { flag: 'wasm' }, queue: { clock: () => now, tickMs: 0 } })
  engine.events.subscribe((e) => events.push(e))
  const hook = path.join(dir, 'hook.mjs')
  fs.writeFileSync(hook, `import fs from 'node:fs'\nfs.appendFileSync(process.argv[2], [process.env.RUN_ID, process.env.STATUS, process.env.MESSAGE].join('|') + '\\n')\n`)
  engine.queue.changeSettings({
    window: { kind: 'daily', start: '20:00', end: '07:30', days: [0, 1, 2, 3, 4, 5, 6] },
    timezone: 'UTC',
    notifyCommand: [process.execPath, hook, hookFile]
  })
})
afterAll(async () => engine.close())

const config: RunConfigInput = {
  name: 'overnight',
  model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
  training: { seqLen: 32, batchSize: 8, validateEvery: 10, validationSequences: 8, checkpointEvery: 10 },
  stages: [{ domain: 'press', steps: 40 }]
}

const when = (test: (e: ApiEvent) => boolean): Promise<ApiEvent> =>
  new Promise((resolve) => {
    const stop = engine.events.subscribe((e) => {
      if (test(e)) {
        stop()
        resolve(e)
      }
    })
  })
const hookLines = async (count: number): Promise<string[]> => {
  for (let i = 0; i < 100; i++) {
    const lines = fs.existsSync(hookFile) ? fs.readFileSync(hookFile, 'utf8').trim().split('\n') : []
    if (lines.length >= count) return lines
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('the hook did not run')
}

describe('a time window closing mid-run', () => {
  it('pauses the run at a checkpoint and continues it in the next window, equal to an uninterrupted run', async () => {
    const run = engine.queueAdd({ config })
    expect(engine.store.getRun(run.id).status).toBe('running')
    await when((e) => e.type === 'run.progress' && e.progress.runId === run.id && e.progress.step >= 15)
    now = Date.parse('2026-12-03T08:00:00Z') // the window closed at 07:30
    const paused = when((e) => e.type === 'run.notice' && e.notice.runId === run.id && e.notice.kind === 'paused')
    engine.queue.tick()
    await paused
    const pausedAt = engine.store.listCheckpoints(run.id).at(-1)!.step
    expect(pausedAt).toBeGreaterThanOrEqual(15)
    expect(pausedAt).toBeLessThan(40)
    const entry = engine.queue.entry(run.id)
    expect(entry).toMatchObject({ state: 'paused', blockedBy: expect.stringMatching(/^outside the window until Thu,? 20:00$/) })
    expect(engine.queue.state().windowOpen).toBe(false)
    engine.queue.tick()
    expect(engine.store.getRun(run.id).status).toBe('paused') // still closed: nothing starts

    now = Date.parse('2026-12-03T20:30:00Z')
    engine.queue.tick()
    expect(engine.store.getRun(run.id).status).toBe('running')
    expect((await engine.host.waitFor(run.id)).status).toBe('finished')
    expect(engine.queue.entry(run.id).state).toBe('finished')

    // the same config never paused: the same losses, step for step
    const straightDone = when((e) => e.type === 'run.notice' && e.notice.kind === 'finished' && e.notice.runId !== run.id)
    const straight = engine.queueAdd({ config, fresh: true })
    expect((await engine.host.waitFor(straight.id)).status).toBe('finished')
    await straightDone
    const losses = (id: number): number[] => engine.store.readMetrics(id, { name: 'loss' }).map((p) => p.value)
    expect(losses(run.id)).toHaveLength(40)
    expect(losses(run.id)).toEqual(losses(straight.id))

    const notices = events.filter((e): e is Extract<ApiEvent, { type: 'run.notice' }> => e.type === 'run.notice').map((e) => [e.notice.runId, e.notice.kind])
    expect(notices).toEqual([
      [run.id, 'paused'],
      [run.id, 'finished'],
      [straight.id, 'finished']
    ])
    // the hook runs on finish (not on the window's pause), with the run, status and message in its environment
    expect(await hookLines(2)).toEqual([`${run.id}|finished|run ${run.id} (overnight) finished`, `${straight.id}|finished|run ${straight.id} (overnight) finished`])
  }, 240_000)

  it('reports a stalled run, a failure and a NaN through the hook', async () => {
    fs.rmSync(hookFile, { force: true })
    const run = engine.queueAdd({ config: { ...config, name: 'stalls' } })
    await when((e) => e.type === 'run.progress' && e.progress.runId === run.id)
    // no progress for longer than stallMinutes (15) on the fake clock, as a worker stuck in one operation
    now += 16 * 60_000
    engine.queue.tick()
    const stalled = events.find((e) => e.type === 'run.notice' && e.notice.kind === 'stalled' && e.notice.runId === run.id)
    expect(stalled).toMatchObject({ notice: { runId: run.id, message: `run ${run.id} (stalls) stalled: no progress for 16 min` } })
    engine.queue.tick()
    expect(events.filter((e) => e.type === 'run.notice' && e.notice.kind === 'stalled')).toHaveLength(1) // once
    const ended = when((e) => e.type === 'training.active' && !e.active)
    engine.cancelRun(run.id)
    expect((await engine.host.waitFor(run.id)).status).toBe('cancelled')
    await ended
    // how the host reports a failed worker and a non-finite loss (first line of the error)
    const failed = { ...engine.store.getRun(run.id), status: 'failed' as const, error: 'the training worker crashed: out of cheese\n  at somewhere' }
    engine.queue.onEnded(failed, { status: 'failed', pausedFor: null })
    engine.queue.onEnded({ ...failed, error: 'the training loss became NaN at step 12; last good checkpoint: x (step 10)' }, { status: 'failed', pausedFor: null })
    const lines = await hookLines(3)
    expect(lines[0]).toBe(`${run.id}|stalled|run ${run.id} (stalls) stalled: no progress for 16 min`)
    expect(lines.slice(1).sort()).toEqual(
      [
        `${run.id}|failed|run ${run.id} (stalls) failed: the training worker crashed: out of cheese`,
        `${run.id}|non-finite|run ${run.id} (stalls) produced a non-finite loss: the training loss became NaN at step 12; last good checkpoint: x (step 10)`
      ].sort()
    )
    const kinds: Array<RunNotice['kind']> = events.filter((e) => e.type === 'run.notice').map((e) => (e.type === 'run.notice' ? e.notice.kind : 'finished'))
    expect(kinds.slice(-3)).toEqual(['stalled', 'failed', 'non-finite'])
    expect(events.filter((e) => e.type === 'training.active').map((e) => (e.type === 'training.active' ? e.active : null))).toContain(false)
  }, 120_000)

  it('stops a run whose budget is spent with a checkpoint; retry continues it with a fresh budget', async () => {
    const run = engine.queueAdd({ config: { ...config, name: 'budgeted' }, budget: { hours: 1 } })
    await when((e) => e.type === 'run.progress' && e.progress.runId === run.id && e.progress.step >= 12)
    now += 61 * 60_000
    const stopped = when((e) => e.type === 'run.notice' && e.notice.runId === run.id && e.notice.kind === 'budget')
    engine.queue.tick()
    await stopped
    expect(engine.queue.entry(run.id)).toMatchObject({ state: 'stopped', run: { status: 'paused' }, message: expect.stringMatching(/^budget reached \(1 h of training\)/) })
    expect(engine.queue.entry(run.id).trainedS).toBeGreaterThanOrEqual(3600)
    expect(engine.store.listCheckpoints(run.id).at(-1)!.step).toBeGreaterThanOrEqual(12)
    engine.queue.tick()
    expect(engine.store.getRun(run.id).status).toBe('paused') // a spent budget does not restart by itself
    expect(engine.queue.retry(run.id)).toMatchObject({ trainedS: 0 })
    engine.queue.tick()
    expect(engine.store.getRun(run.id).status).toBe('running')
    engine.cancelRun(run.id)
    expect((await engine.host.waitFor(run.id)).status).toBe('cancelled')
  }, 120_000)

  it('pauses the whole queue at its stop time, the running run at a checkpoint; resuming the queue continues it', async () => {
    expect(() => engine.queue.changeSettings({ stopAt: new Date(now - 60_000).toISOString() })).toThrow(/^stopAt: .* has already passed$/)
    expect(engine.queue.settings().stopAt).toBeNull() // refused: nothing changed
    expect(engine.queue.changeSettings({ stopAfterHours: 2 }).stopAt).toBe(new Date(now + 2 * 3_600_000).toISOString())
    const run = engine.queueAdd({ config: { ...config, name: 'queue-budget' } })
    await when((e) => e.type === 'run.progress' && e.progress.runId === run.id && e.progress.step >= 12)
    now += 60 * 60_000
    engine.queue.tick()
    expect(engine.queue.state().paused).toBe(false) // one hour left
    now += 61 * 60_000
    const paused = when((e) => e.type === 'run.notice' && e.notice.runId === run.id && e.notice.kind === 'paused')
    engine.queue.tick()
    await paused
    expect(engine.queue.state()).toMatchObject({ paused: true, settings: { stopAt: null } })
    expect(engine.queue.entry(run.id)).toMatchObject({ state: 'paused', blockedBy: 'the queue is paused' })
    expect(engine.store.listCheckpoints(run.id).at(-1)!.step).toBeGreaterThanOrEqual(12)
    engine.queue.tick()
    expect(engine.store.getRun(run.id).status).toBe('paused')
    engine.queue.setPaused(false)
    engine.queue.tick()
    expect(engine.store.getRun(run.id).status).toBe('running')
    engine.cancelRun(run.id)
    expect((await engine.host.waitFor(run.id)).status).toBe('cancelled')
  }, 120_000)
})

describe('a machine that sleeps', () => {
  it('does not call a run stalled for the time the machine slept, but does when it stops progressing while awake', async () => {
    let clock = Date.parse('2026-12-02T22:00:00Z')
    // a timer that exists (as in the workbench and elle worker) but never fires here: the test ticks by hand
    const sleeper = await Engine.open({
      dbPath: path.join(dir, 'sleep.sqlite'),
      dataDir: inject('dataDir'),
      backend: { flag: 'wasm' },
      queue: { clock: () => clock, tickMs: 2_000_000_000 }
    })
    try {
      const seen: ApiEvent[] = []
      sleeper.events.subscribe((e) => seen.push(e))
      const run = sleeper.queueAdd({ config: { ...config, name: 'sleeper', stages: [{ domain: 'press', steps: 400 }] } })
      await new Promise<void>((resolve) => {
        const stop = sleeper.events.subscribe((e) => e.type === 'run.progress' && e.progress.runId === run.id && (stop(), resolve()))
      })
      const stalls = (): number => seen.filter((e) => e.type === 'run.notice' && e.notice.kind === 'stalled').length
      clock += 40 * 60_000 // the lid closed for 40 minutes: one look after a long gap
      sleeper.queue.tick()
      expect(stalls()).toBe(0)
      for (let minute = 1; minute <= 16; minute++) {
        clock += 60_000 // awake, looking every minute, no progress reported in between
        sleeper.queue.tick()
      }
      expect(stalls()).toBe(1)
      sleeper.cancelRun(run.id)
      expect((await sleeper.host.waitFor(run.id)).status).toBe('cancelled')
    } finally {
      await sleeper.close()
    }
  }, 120_000)
})
