// runs.compare through the real API handler (the path both transports take).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RunComparison } from '../../../src/shared/contract'
import { createApiHandler, type ApiHandler } from '../../../src/main/engine/api/handler'
import type { Engine } from '../../../src/main/engine/engine'
import { rejection } from '../../helpers/api'
import { tempEngine } from '../../helpers/engine'
import { config, simulateRun } from './fixtures'

let engine: Engine
let handle: ApiHandler
beforeAll(async () => {
  engine = await tempEngine()
  handle = createApiHandler(engine, 'browser')
})
afterAll(() => engine?.close())

describe('runs.compare', () => {
  it('returns the comparison, and validates ids', async () => {
    const stream = ['press', 'fiction']
    const elle = engine.createRun('elle', config('elle', stream, { grow: true }))
    simulateRun(engine.store, elle.id, stream, { secondsPerStep: [0.1, 0.2], flopsPerStep: [1e9, 2e9], params: [1e5, 2e5], floor: 90 })
    const naive = engine.createRun('naive', config('naive', stream))
    simulateRun(engine.store, naive.id, stream, { secondsPerStep: [0.3, 0.3], flopsPerStep: [3e9, 3e9], params: [2e5, 2e5], floor: 120 })
    const other = engine.createRun('other', config('other', ['press', 'learned']))

    const c = RunComparison.parse(await handle('runs.compare', { ids: [elle.id, naive.id] }))
    expect(c.runs.map((r) => r.id)).toEqual([elle.id, naive.id])
    expect(c.computeSaved).toEqual([expect.objectContaining({ elleRunId: elle.id, otherRunId: naive.id, reached: true })])

    expect((await rejection(handle('runs.compare', { ids: [] }))).message).toMatch(/^runs\.compare: ids: /)
    expect((await rejection(handle('runs.compare', { ids: ['3'] }))).message).toMatch(/^runs\.compare: ids\.0: /)
    expect((await rejection(handle('runs.compare', { ids: [0] }))).code).toBe('bad_request')
    expect((await rejection(handle('runs.compare', { ids: [1.5] }))).code).toBe('bad_request')
    expect((await rejection(handle('runs.compare', {}))).message).toContain('ids')
    expect((await rejection(handle('runs.compare', { ids: [1], extra: 1 }))).message).toContain('extra')
    const missing = await rejection(handle('runs.compare', { ids: [elle.id, 424242] }))
    expect(missing).toMatchObject({ code: 'not_found', message: 'no run with id 424242' })
    const streams = await rejection(handle('runs.compare', { ids: [elle.id, other.id] }))
    expect(streams.code).toBe('bad_request')
    expect(streams.message).toBe(`runs.compare: runs ${elle.id} and ${other.id} have different streams: stages.1.domain is "fiction" vs "learned"`)
    expect((await rejection(handle('runs.compare', { ids: [elle.id, elle.id] }))).message).toContain('listed twice')
  })

  it('runs.report takes the downstream reference run, and refuses one that is not compared', async () => {
    const stream = ['press', 'fiction']
    const a = engine.createRun('ra', config('ra', stream))
    simulateRun(engine.store, a.id, stream, { secondsPerStep: [0.1, 0.2], flopsPerStep: [1e9, 2e9], params: [1e5, 1e5] })
    const b = engine.createRun('rb', config('rb', stream))
    simulateRun(engine.store, b.id, stream, { secondsPerStep: [0.1, 0.2], flopsPerStep: [1e9, 2e9], params: [1e5, 1e5] })
    engine.store.addEvaluations(
      [0, 1].flatMap((seed) => [a.id, b.id].map((runId) => ({ runId, task: 'genre', domain: 'press', metric: 'accuracy', value: 0.5 + seed / 10, seed })))
    )
    const { html } = (await handle('runs.report', { ids: [a.id, b.id], reference: b.id })) as { html: string }
    expect(html).toContain(`#${b.id} naive (reference)`)
    expect(html).toContain(`Against the reference run #${b.id}`)
    const bad = await rejection(handle('runs.report', { ids: [a.id, b.id], reference: 424242 }))
    expect(bad).toMatchObject({ code: 'bad_request', message: 'runs.report: reference 424242 is not one of the compared runs (ids)' })
  })
})
