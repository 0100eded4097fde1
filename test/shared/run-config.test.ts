// The run config's shared schema: rules between fields report the field's path (so the renderer can
// validate as you type), runs.start and presets.list carry it, and docs/run-config.schema.json is current.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiHandler, type ApiHandler } from '../../src/main/engine/api/handler'
import type { Engine } from '../../src/main/engine/engine'
import { PRESETS } from '../../src/main/engine/training/presets'
import { RunConfig, runConfigJsonSchema, type RunConfigInput } from '../../src/shared/run-config'
import { rejection } from '../helpers/api'
import { tempEngine } from '../helpers/engine'
import { tempDir } from '../helpers/tmp'

const root = path.resolve(__dirname, '../..')
const base = (over: Partial<RunConfigInput> = {}): RunConfigInput => ({
  name: 'shared-schema',
  model: { kind: 'gpt', layers: 1, heads: 2, headSize: 8 },
  stages: [
    { domain: 'press', steps: 5 },
    { domain: 'hobbies', steps: 5 }
  ],
  ...over
})
const issues = (raw: unknown): Array<[string, string]> => {
  const parsed = RunConfig.safeParse(raw)
  return parsed.success ? [] : parsed.error.issues.map((i) => [i.path.join('.'), i.message])
}

describe('the shared run-config schema', () => {
  it('reports each rule between fields at the field to change, all at once', () => {
    const bad = base({
      method: { name: 'naive' },
      replay: { ratio: 0.1 },
      stages: [
        { domain: 'press', steps: 5, grow: { layers: 1 } },
        { domain: 'hobbies', steps: 5, grow: { heads: 1, hidden: 32 } },
        { domain: 'learned', steps: 5, frwSteps: 3 }
      ]
    })
    expect(issues(bad)).toEqual([
      ['stages.0.grow', 'the first stage trains the initial model; growth applies before later stages'],
      ['stages.1.grow.hidden', '32 does not match 3 heads x head size 8 = 24; width grows by whole heads'],
      ['stages.0.grow', 'method "naive" trains at a fixed size; growth belongs to "elle" (remove it, or use method "elle")'],
      ['stages.1.grow', 'method "naive" trains at a fixed size; growth belongs to "elle" (remove it, or use method "elle")'],
      ['stages.2.frwSteps', 'the function-recovering warm-up belongs to "elle", not method "naive"'],
      ['replay.ratio', 'must be 0: method "naive" has no memory (use "er" to replay)']
    ])
    expect(issues(base({ stages: [{ domain: 'press', steps: 5, frwSteps: 2 }] }))).toEqual([['stages.0.frwSteps', 'the first stage has no earlier domain to recover on']])
    expect(issues(base({ method: { name: 'er' } }))).toEqual([['replay.ratio', 'method "er" replays memory: set a ratio above 0']])
    expect(issues(base({ training: { validationSequences: 64, validationTokens: 20_000 } }))).toEqual([
      ['training.validationTokens', 'set either validationSequences or validationTokens (a block count or a token floor), not both']
    ])
    expect(issues(base({ training: { validationTokens: 20_000 } }))).toEqual([])
  })

  it('accepts growth by whole heads and every preset, filling defaults', () => {
    expect(
      issues(
        base({
          stages: [
            { domain: 'press', steps: 5 },
            { domain: 'hobbies', steps: 5, grow: { heads: 1, hidden: 24 }, frwSteps: 2 }
          ]
        })
      )
    ).toEqual([])
    for (const p of PRESETS) expect(issues(p.config), p.name).toEqual([])
    expect(RunConfig.parse(base()).training.seqLen).toBe(64)
  })
})

describe('runs.start and presets.list carry the shared schema', () => {
  let engine: Engine
  let handle: ApiHandler
  beforeAll(async () => {
    engine = await tempEngine()
    handle = createApiHandler(engine, 'browser')
  })
  afterAll(() => engine.close())

  it('a config breaking a rule between fields is a bad_request naming the field, and nothing is stored', async () => {
    const config = base({
      stages: [
        { domain: 'press', steps: 5 },
        { domain: 'hobbies', steps: 5, grow: { heads: 2, hidden: 64 } }
      ]
    })
    const error = await rejection(handle('runs.start', { config }))
    expect(error.code).toBe('bad_request')
    expect(error.message).toBe('runs.start: config.stages.1.grow.hidden: 64 does not match 4 heads x head size 8 = 32; width grows by whole heads')
    const typo = await rejection(handle('runs.start', { config: { ...base(), training: { seqlen: 32 } } }))
    expect(typo.message).toMatch(/^runs\.start: config\.training: Unrecognized key: "seqlen"/)
    expect(engine.store.listExperiments()).toEqual([])
    expect(engine.store.listRuns()).toEqual([])
  })

  it('presets come as full configs of the schema', async () => {
    const { presets } = (await handle('presets.list', {})) as { presets: Array<{ name: string; config: unknown }> }
    expect(presets.map((p) => p.name)).toEqual(PRESETS.map((p) => p.name))
    for (const p of presets) expect(RunConfig.parse(p.config)).toEqual(p.config)
    expect(presets[0]?.config).toMatchObject({ training: { prompts: 'own', clipNorm: 1 }, memory: { fraction: 0.1 } })
  })
})

describe('docs/run-config.schema.json', () => {
  const script = path.join(root, 'scripts/run-config-schema.mjs')
  const committed = path.join(root, 'docs/run-config.schema.json')
  const check = (file: string) => promisify(execFile)(process.execPath, [script, '--check', '--file', file], { cwd: root })

  it('is the JSON Schema of the shared schema as it is now (npm run schema writes it)', () => {
    expect(JSON.parse(fs.readFileSync(committed, 'utf8'))).toEqual(runConfigJsonSchema())
  })

  it('schema:check passes on the current file and fails on a stale one, saying what to run', async () => {
    await expect(check(committed)).resolves.toBeDefined()
    const dir = tempDir()
    const old = JSON.parse(fs.readFileSync(committed, 'utf8')) as { properties: Record<string, unknown> }
    // laid out differently (as a formatter may) is still current
    const compact = path.join(dir, 'compact.json')
    fs.writeFileSync(compact, JSON.stringify(old))
    await expect(check(compact)).resolves.toBeDefined()
    const stale = path.join(dir, 'run-config.schema.json')
    delete old.properties.method
    fs.writeFileSync(stale, `${JSON.stringify(old, null, 2)}\n`)
    const failure = await check(stale).then(
      () => null,
      (e: unknown) => e as { code: number; stderr: string }
    )
    expect(failure?.code).toBe(1)
    expect(failure?.stderr).toMatch(/run-config\.schema\.json is not current with src\/shared\/run-config\.ts: run `npm run schema` and commit the file/)
  })

  it('describes what a config file holds, with the defaults a user may leave out', () => {
    const schema = runConfigJsonSchema() as { required: string[]; properties: { training: { properties: { seqLen: { default: number; description: string } } } } }
    expect(schema.required).toEqual(['name', 'model', 'stages'])
    expect(schema.properties.training.properties.seqLen).toMatchObject({ default: 64, description: expect.stringContaining('tokens per sequence') })
  })
})
