// The run queue through the real API handler on a real store (docs/queue.md): order, priority, moves,
// dependencies, sweeps, settings and refusals; everything survives reopening the store. The queue is paused
// throughout, so nothing trains here (training through the queue: restart.test.ts and window.test.ts).
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { ApiError, type Method, type Params, type QueueEntry, type QueueRunEntry, type QueueState, type Result } from '../../../src/shared/contract'
import type { RunConfigInput } from '../../../src/shared/run-config'
import { createApiHandler } from '../../../src/main/engine/api/handler'
import { Engine } from '../../../src/main/engine/engine'
import { tempDir } from '../../helpers/tmp'

/** The queue's run entries (every entry here is a run). */
const runEntries = (state: { entries: QueueEntry[] }): QueueRunEntry[] => state.entries.filter((e): e is QueueRunEntry => e.kind === 'run')

const dbPath = path.join(tempDir(), 'queue.sqlite')
let engine: Engine
let call: <M extends Method>(method: M, params: Params<M>) => Promise<Result<M>>

async function open(): Promise<void> {
  engine = await Engine.open({ dbPath, dataDir: inject('dataDir'), backend: { flag: 'wasm' }, queue: { tickMs: 0 } })
  const handler = createApiHandler(engine, 'cli')
  call = async (method, params) => (await handler(method, params)) as never
}

beforeAll(open)
afterAll(async () => engine.close())

const config = (name: string, extra: Partial<RunConfigInput> = {}): RunConfigInput => ({
  name,
  model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
  training: { seqLen: 32, batchSize: 8, checkpointEvery: 10 },
  stages: [{ domain: 'press', steps: 20 }],
  ...extra
})
const order = (state: QueueState): string[] => runEntries(state).map((e) => e.configName)
const refused = async (promise: Promise<unknown>): Promise<ApiError> => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(ApiError)
  return error as ApiError
}

describe('the run queue', () => {
  it('keeps entries in order: bottom by default, ahead of lower priorities, runs.start at the top', async () => {
    await call('queue.pause', {})
    for (const name of ['a', 'b', 'c']) await call('queue.add', { config: config(name) })
    const urgent = await call('queue.add', { config: config('urgent'), priority: 5 })
    expect(urgent.entries).toEqual([expect.objectContaining({ configName: 'urgent', state: 'waiting', position: 0, priority: 5, blockedBy: 'the queue is paused' })])
    await call('runs.start', { config: config('started') })
    const state = await call('queue.list', {})
    expect(order(state)).toEqual(['started', 'urgent', 'a', 'b', 'c'])
    expect(state.entries.map((e) => e.position)).toEqual([0, 1, 2, 3, 4])
    expect(state.paused).toBe(true)
    expect(state.entries[0]).toMatchObject({ method: 'naive', seed: 0, run: { status: 'queued' }, estimate: { source: expect.any(String) } })
    expect(state.etaS).toBeGreaterThan(0)
    expect(state.finishAt).not.toBeNull()
  })

  it('moves entries to the top, the bottom, an index, or swaps two', async () => {
    const ids = Object.fromEntries(runEntries(await call('queue.list', {})).map((e) => [e.configName, e.runId]))
    expect(order(await call('queue.move', { runId: ids.c!, to: 'top' }))).toEqual(['c', 'started', 'urgent', 'a', 'b'])
    expect(order(await call('queue.move', { runId: ids.c!, to: 'bottom' }))).toEqual(['started', 'urgent', 'a', 'b', 'c'])
    expect(order(await call('queue.move', { runId: ids.a!, to: 1 }))).toEqual(['started', 'a', 'urgent', 'b', 'c'])
    expect(order(await call('queue.move', { runId: ids.a!, swapWith: ids.c! }))).toEqual(['started', 'c', 'urgent', 'b', 'a'])
    expect((await refused(call('queue.move', { runId: ids.a!, to: 'top', swapWith: ids.b! }))).message).toMatch(/give exactly one of to or swapWith/)
    expect((await refused(call('queue.move', { runId: 987654, to: 'top' }))).code).toBe('not_found')
  })

  it('waits for dependencies and refuses unknown runs, cycles and zero budgets, changing nothing', async () => {
    const ids = Object.fromEntries(runEntries(await call('queue.list', {})).map((e) => [e.configName, e.runId]))
    const before = await call('queue.list', {})
    const unknown = await refused(call('queue.add', { config: config('d'), after: [987654] }))
    expect(unknown).toMatchObject({ code: 'bad_request', message: 'queue.add: after: no run with id 987654' })
    const zero = await refused(call('queue.add', { config: config('d'), budget: { hours: 0 } }))
    expect(zero.message).toMatch(/^queue\.add: budget\.hours: /)
    expect((await refused(call('queue.add', { config: config('d'), budget: {} }))).message).toMatch(/budget\.hours: give hours, until or both/)
    expect(order(await call('queue.list', {}))).toEqual(order(before))

    const b = await call('queue.update', { runId: ids.b!, after: [ids.a!] })
    expect(b.after).toEqual([ids.a])
    const cycle = await refused(call('queue.update', { runId: ids.a!, after: [ids.b!] }))
    expect(cycle).toMatchObject({ code: 'bad_request', message: `queue.update: after: dependency cycle ${ids.a} → ${ids.b} → ${ids.a}` })
    expect(runEntries(await call('queue.list', {})).find((e) => e.runId === ids.a)!.after).toEqual([])
    // with the queue running, b waits for a
    await call('queue.resume', {})
    await call('queue.settings', { window: { kind: 'cron', cron: '0 0 1 1 *', minutes: 1 } }) // closed: nothing starts
    const waiting = runEntries(await call('queue.list', {})).find((e) => e.runId === ids.b)!
    expect(waiting.blockedBy).toBe(`after run ${ids.a} (queued)`)
    await call('queue.settings', { window: null })
    await call('queue.pause', {})
  })

  it('removes an entry (its run is cancelled) and retries it', async () => {
    const ids = Object.fromEntries(runEntries(await call('queue.list', {})).map((e) => [e.configName, e.runId]))
    const removed = await call('queue.remove', { runId: ids.urgent! })
    expect(removed).toMatchObject({ state: 'cancelled', run: { status: 'cancelled' } })
    expect(order(await call('queue.list', {}))).not.toContain('urgent')
    expect((await refused(call('queue.retry', { runId: ids.urgent! }))).code).toBe('not_found')
    // cancelling through runs.cancel keeps the entry, which can be retried
    await call('runs.cancel', { id: ids.c! })
    expect(runEntries(await call('queue.list', {})).find((e) => e.runId === ids.c)!.state).toBe('cancelled')
    expect(await call('queue.retry', { runId: ids.c! })).toMatchObject({ state: 'waiting', run: { status: 'queued' } })
  })

  it('queues a sweep: methods × seeds × an option, as one group', async () => {
    const swept = await call('queue.sweep', {
      config: config('base'),
      group: 'lambda-sweep',
      methods: ['naive', 'ewc'],
      seeds: [1, 2],
      options: [{ path: 'method.lambda', values: [10, 100] }]
    })
    // naive has no lambda: it runs once per seed; ewc once per seed and lambda
    const { group } = swept
    const entries = runEntries(swept)
    expect(group).toBe('lambda-sweep')
    expect(entries.map((e) => e.configName)).toEqual([
      'lambda-sweep naive seed=1',
      'lambda-sweep naive seed=2',
      'lambda-sweep ewc seed=1 method.lambda=10',
      'lambda-sweep ewc seed=1 method.lambda=100',
      'lambda-sweep ewc seed=2 method.lambda=10',
      'lambda-sweep ewc seed=2 method.lambda=100'
    ])
    expect(entries.every((e) => e.group === 'lambda-sweep')).toBe(true)
    const ewc = entries.find((e) => e.configName === 'lambda-sweep ewc seed=2 method.lambda=100')!
    expect(ewc).toMatchObject({ method: 'ewc', seed: 2 })
    expect((await call('runs.config', { id: ewc.runId })).config.method).toMatchObject({ name: 'ewc', lambda: 100 })
    const bad = await refused(call('queue.sweep', { config: config('base'), group: 'g', methods: ['naive', 'bogus'] }))
    expect(bad.message).toMatch(/^queue\.sweep: methods\.1: unknown method "bogus"/)
  })

  it('refuses windows that cannot work, naming the field, and keeps the settings', async () => {
    const zero = await refused(call('queue.settings', { window: { kind: 'daily', start: '20:00', end: '20:00', days: [1] } }))
    expect(zero.message).toMatch(/^queue\.settings: window\.end: .*zero length/)
    const never = await refused(call('queue.settings', { window: { kind: 'cron', cron: '0 0 30 2 *', minutes: 60 } }))
    expect(never.message).toMatch(/^queue\.settings: window\.cron: .*never fires/)
    const time = await refused(call('queue.settings', { window: { kind: 'daily', start: '25:00', end: '07:00', days: [1] } }))
    expect(time.message).toMatch(/window\.start: expected a time HH:MM/)
    const settings = await call('queue.settings', { slots: 2, window: { kind: 'daily', start: '20:00', end: '07:30', days: [1, 2, 3, 4, 5] }, notifyCommand: ['true'] })
    expect(settings).toMatchObject({ slots: 2, autoResume: true, window: { start: '20:00' } })
  })

  it('keeps order, settings and the paused flag across a restart', async () => {
    const before = await call('queue.list', {})
    await engine.close()
    await open()
    const after = await call('queue.list', {})
    expect(order(after)).toEqual(order(before))
    expect(after.paused).toBe(true)
    expect(after.settings).toEqual(before.settings)
    expect(engine.store.integrityCheck()).toEqual([])
  })
})
