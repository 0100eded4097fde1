// Saved experiments (schema v7) on a real store and through the API handler: save, list, get, replace, delete,
// an event on each change, validation with the shared schema, unknown ids 4xx with nothing changed; the
// designer's estimate (throughput measured on this backend, memory per stage against the budget).
import Database from 'better-sqlite3'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiHandler, type ApiHandler } from '../../src/main/engine/api/handler'
import type { Engine } from '../../src/main/engine/engine'
import { ExperimentStore } from '../../src/main/engine/store/store'
import { LATEST_SCHEMA_VERSION } from '../../src/main/engine/store/migrations'
import { DesignEstimate, SavedExperiment, type ApiEvent } from '../../src/shared/contract'
import { validateDesign } from '../../src/shared/designer'
import type { RunConfigInput } from '../../src/shared/run-config'
import { rejection } from '../helpers/api'
import { tempEngine } from '../helpers/engine'
import { tempDir } from '../helpers/tmp'

let engine: Engine
let handle: ApiHandler
const events: ApiEvent[] = []

const design = (name = 'designed', over: Partial<RunConfigInput> = {}): RunConfigInput => ({
  name,
  model: { kind: 'gpt', layers: 1, heads: 2, headSize: 8 },
  training: { seqLen: 16, batchSize: 2 },
  method: { name: 'elle' },
  stages: [
    { domain: 'press', steps: 4 },
    { domain: 'hobbies', steps: 4, grow: { layers: 1, heads: 1 }, frwSteps: 1 }
  ],
  ...over
})

beforeAll(async () => {
  engine = await tempEngine()
  handle = createApiHandler(engine, 'browser')
  engine.events.subscribe((e) => events.push(e))
})
afterAll(() => engine.close())

describe('saved experiments', () => {
  it('migrates a store from schema 6 to the latest, with the saved_experiments table (added in 7)', () => {
    expect(engine.store.schemaVersion).toBe(LATEST_SCHEMA_VERSION)
    const file = path.join(tempDir(), 'v6.sqlite')
    ExperimentStore.open(file, { targetVersion: 6 }).close()
    const store = ExperimentStore.open(file)
    expect(store.schemaVersion).toBe(LATEST_SCHEMA_VERSION)
    store.close()
    const db = new Database(file, { readonly: true })
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'saved_experiments'").pluck().get()).toBe('saved_experiments')
    db.close()
  })

  it('saves, lists, gets, replaces and deletes, publishing experiments.changed each time', async () => {
    events.length = 0
    const saved = SavedExperiment.parse(await handle('experiments.save', { name: 'two-growth', config: design() }))
    expect(saved).toMatchObject({ name: 'two-growth', method: 'elle', domains: ['press', 'hobbies'] })
    expect(saved.config.training.lr).toBe(1e-3) // stored as parsed by the shared schema, defaults filled
    expect(events.filter((e) => e.type === 'experiments.changed')).toHaveLength(1)

    const list = (await handle('experiments.list', {})) as { saved: Array<{ id: number; name: string }>; experiments: unknown[] }
    expect(list.saved.map((s) => s.name)).toEqual(['two-growth'])
    expect(await handle('experiments.get', { id: saved.id })).toEqual(saved)

    const replaced = SavedExperiment.parse(
      await handle('experiments.save', { id: saved.id, name: 'two-growth-b', config: design('b', { stages: [{ domain: 'press', steps: 9 }] }) })
    )
    expect(replaced).toMatchObject({ id: saved.id, name: 'two-growth-b', domains: ['press'], createdAt: saved.createdAt })
    expect(replaced.config.stages[0]!.steps).toBe(9)

    const second = SavedExperiment.parse(await handle('experiments.save', { name: 'clone', config: design() }))
    // a name another saved experiment has is a conflict; nothing changes
    expect(await rejection(handle('experiments.save', { id: second.id, name: 'two-growth-b', config: design() }))).toMatchObject({ code: 'conflict' })
    expect(SavedExperiment.parse(await handle('experiments.get', { id: second.id })).name).toBe('clone')

    events.length = 0
    expect(await handle('experiments.delete', { id: second.id })).toMatchObject({ id: second.id, name: 'clone' })
    expect(events.map((e) => e.type)).toEqual(['experiments.changed'])
    expect(((await handle('experiments.list', {})) as { saved: unknown[] }).saved).toHaveLength(1)
  })

  it('refuses unknown ids (404) and invalid configs (400 naming the field), storing nothing', async () => {
    const before = engine.store.listSavedExperiments()
    expect(await rejection(handle('experiments.get', { id: 4242 }))).toMatchObject({ code: 'not_found', message: 'no saved experiment with id 4242' })
    expect(await rejection(handle('experiments.delete', { id: 4242 }))).toMatchObject({ code: 'not_found' })
    expect(await rejection(handle('experiments.save', { id: 4242, name: 'ghost', config: design() }))).toMatchObject({ code: 'not_found' })
    const badGrowth = design('bad', {
      stages: [
        { domain: 'press', steps: 4 },
        { domain: 'hobbies', steps: 4, grow: { layers: 1, heads: 1, hidden: 20 } }
      ]
    })
    const bad = await rejection(handle('experiments.save', { name: 'bad', config: badGrowth }))
    expect(bad.code).toBe('bad_request')
    expect(bad.message).toContain('config.stages.1.grow.hidden')
    const unknown = await rejection(handle('experiments.save', { name: 'bad', config: { ...design(), colour: 'red' } }))
    expect(unknown.message).toContain('colour')
    expect(await rejection(handle('experiments.save', { name: '  ', config: design() }))).toMatchObject({ code: 'bad_request' })
    expect(engine.store.listSavedExperiments()).toEqual(before)
  })

  it('gives the config a run was started with, for cloning', async () => {
    const config = design('cloned-run')
    const experiment = engine.store.ensureExperiment('cloned-run', config)
    const run = engine.store.createRun(experiment.id)
    const got = (await handle('runs.config', { id: run.id })) as { config: { name: string; stages: unknown[] } }
    expect(got.config.name).toBe('cloned-run')
    expect(got.config.stages).toHaveLength(2)
    expect(await rejection(handle('runs.config', { id: 999 }))).toMatchObject({ code: 'not_found' })
  })
})

describe('designer estimate', () => {
  it('returns measured throughput of earlier stages on this backend, and memory per stage against the budget', async () => {
    const config = design('measured')
    const experiment = engine.store.ensureExperiment('measured', engine.store.getSavedExperiment(engine.store.listSavedExperiments()[0]!.id).config)
    const run = engine.store.createRun(experiment.id, { backend: engine.backend.active })
    const other = engine.store.createRun(experiment.id, { backend: 'not-this-one' })
    const point = (runId: number, stage: number, step: number, wallS: number) => ({
      runId,
      phase: { kind: 'train', stage, domain: 'press' },
      step,
      tokensSeen: step * 32,
      wallS,
      flops: step * 1e6,
      name: 'loss',
      value: 3
    })
    engine.store.insertMetrics([point(run.id, 0, 1, 1), point(run.id, 0, 5, 3), point(other.id, 0, 1, 1), point(other.id, 0, 5, 2)])
    const estimate = DesignEstimate.parse(await handle('experiments.estimate', { config }))
    expect(estimate.backend).toBe(engine.backend.active)
    expect(estimate.samples).toHaveLength(1)
    expect(estimate.samples[0]).toMatchObject({ runId: run.id, stage: 0, tokensPerS: (4 * 32) / 2, flopsPerS: 4e6 / 2, layers: 1, hidden: 16 })
    expect(estimate.stageBytes).toHaveLength(2)
    expect(estimate.stageBytes![1]!).toBeGreaterThan(estimate.stageBytes![0]!)
    expect(estimate.budgetText).toContain('available')
    // a config that does not parse gets throughput but no memory estimate
    const partial = DesignEstimate.parse(await handle('experiments.estimate', { config: { name: 'x' } }))
    expect(partial.stageBytes).toBeNull()
    // the designer turns a budget too small for the grown stage into an error at that stage's growth
    const check = validateDesign(config, {
      memory: { stageBytes: estimate.stageBytes!, budgetBytes: (estimate.stageBytes![0]! + estimate.stageBytes![1]!) / 2, budgetText: 'tiny' }
    })
    expect(check.issues.map((i) => i.path)).toEqual(['stages[1].grow'])
  })
})
