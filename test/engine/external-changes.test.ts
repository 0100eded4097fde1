// A workbench that is open sees runs another process (an `elle run` in a terminal) starts and trains.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiEvent, RunProgress } from '../../src/shared/contract'
import { Engine } from '../../src/main/engine/engine'
import { ExperimentStore } from '../../src/main/engine/store/store'
import { tempDir } from '../helpers/tmp'

let engine: Engine
let other: ExperimentStore // stands for another process: its own connection to the same file
const events: ApiEvent[] = []

beforeAll(async () => {
  const db = path.join(tempDir(), 'shared.sqlite')
  engine = await Engine.open({ dbPath: db, dataDir: tempDir(), backend: {} })
  other = ExperimentStore.open(db)
  engine.events.subscribe((e) => events.push(e))
  engine.watchExternalChanges(50)
})
afterAll(async () => {
  other.close()
  await engine.close()
})

const waitFor = async (found: () => boolean): Promise<void> => {
  for (let i = 0; i < 100 && !found(); i++) await new Promise((r) => setTimeout(r, 20))
}

describe('changes made by another process', () => {
  it('are published as run.updated and run.progress events', async () => {
    const run = other.createRun(other.ensureExperiment('from-a-terminal', { k: 1 }).id, { backend: 'wasm' })
    await waitFor(() => events.some((e) => e.type === 'run.updated' && e.run.id === run.id))
    expect(events.find((e) => e.type === 'run.updated' && e.run.id === run.id)).toMatchObject({ run: { status: 'queued', experimentName: 'from-a-terminal' } })

    other.claimRun(run.id, 'a-terminal', null)
    other.setRunStatus(run.id, 'running', { owner: 'a-terminal' })
    await waitFor(() => events.some((e) => e.type === 'run.updated' && e.run.id === run.id && e.run.status === 'running'))
    expect(events.some((e) => e.type === 'run.updated' && e.run.status === 'running')).toBe(true)

    const progress: RunProgress = {
      runId: run.id,
      stage: 0,
      stages: 2,
      phase: 'train',
      domain: 'press',
      step: 7,
      totalSteps: 20,
      stepInStage: 7,
      stageSteps: 10,
      loss: 5.2,
      lr: 0.001,
      tokensPerS: 4000,
      tokensSeen: 7000,
      wallS: 2,
      etaS: 3,
      validation: null
    }
    other.heartbeat(run.id, 'a-terminal', progress)
    await waitFor(() => events.some((e) => e.type === 'run.progress' && e.progress.runId === run.id))
    expect(events.find((e) => e.type === 'run.progress')).toEqual({ type: 'run.progress', progress })
  })
})

describe('domains and streams changed by another process', () => {
  it('are published as domains.changed and streams.changed', async () => {
    const before = events.length
    other.createDomain({ name: 'from-a-terminal', files: [] }) // as `elle domains add` in a terminal
    await waitFor(() => events.slice(before).some((e) => e.type === 'domains.changed'))
    expect(events.slice(before).filter((e) => e.type === 'domains.changed')).toHaveLength(1)
    expect(events.slice(before).some((e) => e.type === 'streams.changed')).toBe(false)

    const next = events.length
    other.createStream({ name: 'terminal stream', domains: ['from-a-terminal'] })
    await waitFor(() => events.slice(next).some((e) => e.type === 'streams.changed'))
    expect(
      events
        .slice(next)
        .filter((e) => e.type !== 'run.progress')
        .map((e) => e.type)
    ).toEqual(['streams.changed'])
  })
})
