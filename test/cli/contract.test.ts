// Every `elle` command is a call of contract operations (issue 10). The command table (COMMANDS) says which
// methods stand behind each command; the CLI's client refuses any other, so a command cannot reach the
// engine past the contract (and `npm run lint` keeps engine internals out of src/main/cli). The commands
// added for streams, domains, jobs and checkpoints run here in-process, as main() runs them, on a real store.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { isMethod, METHODS } from '../../src/shared/contract'
import { COMMANDS } from '../../src/main/cli/index'
import { openCliApi } from '../../src/main/cli/api'
import { ExperimentStore } from '../../src/main/engine/store/store'
import { tempDir } from '../helpers/tmp'
import { elleInProcess } from './in-process'

describe('the command table', () => {
  it('puts at least one contract method behind every command', () => {
    expect(COMMANDS.length).toBeGreaterThan(10)
    for (const command of COMMANDS) {
      const { methods } = command
      if (methods === 'all') continue // serves the whole contract (elle serve, elle start)
      expect(methods.length, `elle ${command.name} declares no contract method`).toBeGreaterThan(0)
      for (const method of methods) expect(isMethod(method), `elle ${command.name}: "${method}" is not a contract method`).toBe(true)
    }
    // only the commands that host the workbench serve everything
    expect(COMMANDS.filter((c) => c.methods === 'all').map((c) => c.name)).toEqual(['start', 'serve'])
  })

  it('lists which contract methods the CLI reaches', () => {
    const reached = new Set(COMMANDS.flatMap((c) => (c.methods === 'all' ? [] : c.methods)))
    // each operation a terminal user needs has a command; what stays UI-only is said here, not discovered later
    const uiOnly = METHODS.filter((m) => !reached.has(m))
    expect(uiOnly.sort()).toEqual(['domains.add', 'runs.get', 'runs.progress'].sort())
  })

  it("refuses, at run time, a method the command's entry does not declare", async () => {
    const db = path.join(tempDir(), 'declared.sqlite')
    const api = await openCliApi({ name: 'probe', methods: ['runs.list'] }, { db, backend: 'wasm' })
    try {
      expect((await api.call('runs.list', {})).runs).toEqual([])
      await expect(api.call('streams.list', {})).rejects.toThrow('elle probe calls streams.list, which its entry in the command table does not declare')
    } finally {
      await api.close()
    }
  })
})

/** `elle ARGS` in this process, as bin/elle runs main(): exit code, stdout, stderr. */
const elle = elleInProcess

describe('streams, domains, jobs and checkpoints from the command line', () => {
  const dir = tempDir()
  const db = path.join(dir, 'cli-contract.sqlite')
  let runId = 0
  let jobId = 0

  beforeAll(() => {
    const store = ExperimentStore.open(db)
    for (const name of ['alpha', 'beta', 'gamma']) store.createDomain({ name, files: [] })
    runId = store.createRun(store.ensureExperiment('cli-contract', { k: 1 }).id, { backend: 'wasm' }).id
    jobId = store.createJob('export', { checkpointId: 1, format: 'hf', outDir: '/nowhere' }, 'elsewhere:1:x').id
    store.close()
  })
  afterAll(() => vi.restoreAllMocks())

  it('elle streams creates, lists, changes and deletes a stream', async () => {
    const created = await elle('streams', 'create', 'ab', 'alpha', 'beta', '--db', db, '--json')
    expect(created.code, created.err).toBe(0)
    const stream = JSON.parse(created.out) as { id: number; name: string; domains: string[] }
    expect(stream).toMatchObject({ name: 'ab', domains: ['alpha', 'beta'] })
    const listed = await elle('streams', '--db', db)
    expect(listed.out).toMatch(/ab\s+alpha → beta/)
    const changed = await elle('streams', 'update', 'ab', '--domains', 'beta,gamma', '--name', 'bg', '--db', db)
    expect(changed).toMatchObject({ code: 0, out: `changed stream ${stream.id} "bg": beta → gamma` })
    // a domain a stream lists cannot be deleted: the refusal names the stream, and nothing changes
    const refused = await elle('domains', 'delete', 'gamma', '--db', db)
    expect(refused.code).toBe(1)
    expect(refused.err).toMatch(/^elle domains: .*"bg"/)
    const deleted = await elle('streams', 'delete', 'bg', '--db', db)
    expect(deleted).toMatchObject({ code: 0, out: `deleted stream ${stream.id} "bg": beta → gamma` })
    expect(await elle('domains', 'delete', 'gamma', '--db', db)).toMatchObject({ code: 0, out: 'deleted domain "gamma"' })
    const unknown = await elle('streams', 'delete', 'nope', '--db', db)
    expect(unknown).toMatchObject({ code: 1, err: 'elle streams: no stream named "nope"; see "elle streams"' })
    expect((await elle('streams', 'create', 'only-name', '--db', db)).code).toBe(2)
    expect((await elle('streams', 'update', '1', '--db', db)).err).toBe('elle streams: elle streams update needs --name or --domains')
  })

  it('elle domains show and rename, elle streams duplicate', async () => {
    const shown = await elle('domains', 'show', 'alpha', '--db', db, '--json')
    expect(shown.code, shown.err).toBe(0)
    expect(JSON.parse(shown.out)).toMatchObject({ name: 'alpha', files: 0, runs: [], tasks: [], preview: [], previewProblem: expect.any(String) })
    const made = await elle('streams', 'create', 'solo', 'alpha', '--db', db)
    expect(made.code, made.err).toBe(0)
    const copy = await elle('streams', 'duplicate', 'solo', 'solo copy', '--db', db)
    expect(copy).toMatchObject({ code: 0, out: expect.stringMatching(/^created stream \d+ "solo copy": alpha$/) })
    const renamed = await elle('domains', 'rename', 'alpha', 'alpha2', '--db', db)
    expect(renamed).toMatchObject({ code: 0, out: 'renamed domain "alpha" to "alpha2"' })
    // streams follow a rename
    expect((await elle('streams', '--db', db)).out).toMatch(/solo copy\s+alpha2/)
    expect((await elle('domains', 'show', 'alpha2', '--db', db)).out).toMatch(/^domain \d+ "alpha2"\n/)
    expect((await elle('domains', 'rename', 'alpha2', 'bad name', '--db', db)).code).toBe(2)
    expect(await elle('domains', 'show', 'nope', '--db', db)).toMatchObject({ code: 1, err: 'elle domains: no domain named "nope"' })
    for (const s of ['solo', 'solo copy']) expect((await elle('streams', 'delete', s, '--db', db)).code).toBe(0)
    expect((await elle('domains', 'rename', 'alpha2', 'alpha', '--db', db)).code).toBe(0)
  })

  it('elle jobs lists, shows and cancels recorded jobs', async () => {
    const listed = await elle('jobs', '--db', db, '--json')
    expect(listed.code, listed.err).toBe(0)
    expect((JSON.parse(listed.out) as { jobs: Array<{ id: number; kind: string; status: string }> }).jobs).toEqual([
      expect.objectContaining({ id: jobId, kind: 'export', status: 'queued' })
    ])
    expect((await elle('jobs', 'list', '--kind', 'grow', '--db', db)).out).toBe('no jobs yet')
    expect((await elle('jobs', 'get', String(jobId), '--db', db)).out).toMatch(new RegExp(`^job ${jobId} \\(export\\) queued`))
    // its owner is a process on another machine: the cancel is a request its owner reads
    const cancelled = await elle('jobs', 'cancel', String(jobId), '--db', db, '--json')
    expect(cancelled.code, cancelled.err).toBe(0)
    expect(JSON.parse(cancelled.out)).toMatchObject({ id: jobId, owner: 'elsewhere:1:x' })
    const store = ExperimentStore.open(db)
    expect(store.jobCancelRequests('elsewhere:1:x')).toEqual([jobId])
    store.close()
    expect(await elle('jobs', 'get', '987654', '--db', db)).toMatchObject({ code: 1, err: 'elle jobs: no job with id 987654' })
    expect((await elle('jobs', 'get', 'x', '--db', db)).code).toBe(2)
  })

  it('elle experiments saves, lists, shows, plans and deletes a designed experiment', async () => {
    const design = {
      name: 'grow-once',
      model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
      training: { seqLen: 32, batchSize: 8 },
      growth: { mode: 'elle' },
      method: { name: 'elle' },
      stages: [
        { domain: 'alpha', steps: 10 },
        { domain: 'beta', steps: 10, frwSteps: 2, grow: { layers: 2, heads: 1 } }
      ]
    }
    const file = path.join(dir, 'design.json')
    fs.writeFileSync(file, JSON.stringify(design))
    expect((await elle('streams', 'create', 'alpha-beta', 'alpha', 'beta', '--db', db)).code).toBe(0)

    const planned = await elle('experiments', 'plan', file, '--stream', 'alpha-beta', '--db', db, '--json')
    expect(planned.code, planned.err).toBe(0)
    const plan = JSON.parse(planned.out) as { issues: unknown[]; stages: Array<{ shape: { layers: number; heads: number } }>; referenceFlags: { flags: string[] } }
    expect(plan.issues).toEqual([])
    expect(plan.stages.map((st) => [st.shape.layers, st.shape.heads])).toEqual([
      [1, 2],
      [3, 3]
    ])
    expect(plan.referenceFlags.flags.join(' ')).toContain('--added_layer_num 2')
    // a stream in the other order: the problem is named at its field, and the exit code says so
    expect((await elle('streams', 'create', 'beta-alpha', 'beta', 'alpha', '--db', db)).code).toBe(0)
    const wrong = await elle('experiments', 'plan', file, '--stream', 'beta-alpha', '--db', db)
    expect(wrong.code).toBe(1)
    expect(wrong.err).toMatch(/^stages\[0\]\.domain: /m)

    const saved = await elle('experiments', 'save', 'first design', file, '--db', db, '--json')
    expect(saved.code, saved.err).toBe(0)
    const { id } = JSON.parse(saved.out) as { id: number }
    expect((await elle('experiments', '--db', db)).out).toMatch(/first design\s+elle\s+alpha → beta/)
    const shown = await elle('experiments', 'show', String(id), '--db', db)
    expect(JSON.parse(shown.out)).toMatchObject({ name: 'grow-once', stages: [{ domain: 'alpha' }, { domain: 'beta', grow: { layers: 2, heads: 1 } }] })
    expect(await elle('experiments', 'delete', String(id), '--db', db)).toMatchObject({ code: 0, out: `deleted experiment ${id} "first design" (elle: alpha → beta)` })
    expect((await elle('experiments', 'show', String(id), '--db', db)).code).toBe(1)
    expect((await elle('experiments', 'show', 'x', '--db', db)).code).toBe(2)
  })

  it('elle checkpoints lists a run’s checkpoints; an unknown run is refused', async () => {
    expect(await elle('checkpoints', String(runId), '--db', db)).toMatchObject({ code: 0, out: `run ${runId} has no checkpoints yet` })
    const unknown = await elle('checkpoints', '987654', '--db', db)
    expect(unknown.code).toBe(1)
    expect(unknown.err).toMatch(/^elle checkpoints: .*987654/)
  })
})
