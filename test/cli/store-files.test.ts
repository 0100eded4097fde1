// `--db` and ELLE_DB as users type them: another application's file is refused untouched, a typo in the
// folder creates nothing, a new store is announced, and reading commands work on read-only media. The commands go
// through the CLI's main() in this process (a child costs 2-3 s of CPU before it reads its arguments); one refusal
// and the silent first start also run the built CLI in a child process.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { ExperimentStore } from '../../src/main/engine/store/store'
import { mountScratch, type ScratchMount } from '../helpers/readonly-mount'
import { sha256File, tempDir } from '../helpers/tmp'
import { elleHere } from './in-process'

const BIN = path.resolve('bin/elle.mjs')

function elleChild(args: string[], env: NodeJS.ProcessEnv = {}): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ELLE_BACKEND: '', ELLE_DB: '', ELLE_DATA_DIR: inject('dataDir'), ...env },
    timeout: 60_000
  })
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr }
}

/** `elle ARGS` through main() in this process, with the environment elleChild gives the child. */
function elle(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return elleHere(args, { ELLE_DB: '', ...env }, 60_000)
}

describe('another application’s database', () => {
  it('is refused by name, byte for byte unchanged and still in its journal mode', async () => {
    const file = path.join(tempDir(), 'other-app.sqlite')
    const db = new Database(file)
    db.exec("CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO contacts (name) VALUES ('Ada')")
    db.close()
    const before = sha256File(file)
    const cases = [
      ['runs', '--db', file],
      ['domains', 'add', 'x', file, '--db', file]
    ]
    // the first case also as the built CLI in a child process, which must answer as main() does
    const child = elleChild(cases[0]!)
    for (const args of cases) {
      const { code, stderr, stdout } = await elle(args)
      if (args === cases[0]) expect(child, 'the child process answers as main() did').toEqual({ code, stdout, stderr })
      expect(code, args.join(' ')).toBe(1)
      expect(stderr.trim()).toBe(`elle ${args[0]}: ${file} is not an ELLE store (it holds contacts, with no ELLE schema version); it was left untouched`)
    }
    expect(sha256File(file)).toBe(before)
    expect(fs.existsSync(`${file}-wal`)).toBe(false)
    const after = new Database(file, { readonly: true })
    expect(after.pragma('journal_mode', { simple: true })).toBe('delete')
    after.close()
  })
})

describe('store paths', () => {
  it('refuses a folder that does not exist, from --db and from ELLE_DB, and creates nothing', async () => {
    const root = tempDir()
    const typo = path.join(root, 'experimnets', 'store.sqlite')
    const viaFlag = await elle(['runs', '--db', typo])
    expect(viaFlag.code).toBe(2)
    expect(viaFlag.stderr.trim()).toBe(`elle runs: --db ${typo}: the folder ${path.dirname(typo)} does not exist; a new store is only created in an existing folder (a typo?)`)
    const viaEnv = await elle(['domains', 'add', 'recipes', root], { ELLE_DB: typo })
    expect(viaEnv.code).toBe(2)
    expect(viaEnv.stderr).toContain(`ELLE_DB ${typo}: the folder ${path.dirname(typo)} does not exist`)
    expect(fs.readdirSync(root)).toEqual([])
  })

  it('refuses a folder, with or without a trailing separator, and creates nothing', async () => {
    const root = tempDir()
    const existing = path.join(root, 'stores')
    fs.mkdirSync(existing)
    for (const db of [existing, `${existing}/`, path.join(root, 'missing') + '/']) {
      const { code, stderr } = await elle(['runs', '--db', db])
      expect(code, db).toBe(2)
      expect(stderr, db).toContain(`--db ${db}`)
      expect(stderr, db).toContain('give a store file')
    }
    expect(fs.readdirSync(root)).toEqual(['stores'])
    expect(fs.readdirSync(existing)).toEqual([])
  })

  it('does not create a store for a command that only reads', async () => {
    const root = tempDir()
    const file = path.join(root, 'experiment.sqlite')
    const { code, stderr } = await elle(['runs', '--db', file])
    expect(code).toBe(1)
    expect(stderr.trim()).toBe(`elle runs: no store at ${file}: the file does not exist`)
    expect(fs.readdirSync(root)).toEqual([])
  })

  it('announces a store it creates at the user’s path, on stderr, and only the first time', async () => {
    const file = path.join(tempDir(), 'fresh.sqlite')
    const first = await elle(['domains', '--json', '--db', file])
    expect(first.code, first.stderr).toBe(0)
    expect(first.stderr).toContain(`created new store at ${file}`)
    expect(JSON.parse(first.stdout).domains.length).toBeGreaterThan(0) // stdout stays pure JSON
    const again = await elle(['domains', '--json', '--db', file])
    expect(again.code).toBe(0)
    expect(again.stderr).not.toContain('created new store')
  })

  it('creates the default data directory and its store silently', async () => {
    const dataDir = path.join(tempDir(), 'not', 'yet')
    // in a child process: nothing at all on its stderr, warnings of node or of the bundle included
    const { code, stdout, stderr } = elleChild(['runs'], { ELLE_DATA_DIR: dataDir })
    expect(code).toBe(0)
    expect(stdout.trim()).toBe(`no runs yet in ${path.join(dataDir, 'experiments.sqlite')}`)
    expect(stderr).toBe('')
  })
})

describe('a store on a read-only mount', () => {
  let media: ScratchMount | string
  let file = ''
  let runId = 0

  beforeAll(async () => {
    media = mountScratch()
    if (typeof media === 'string') return
    file = path.join(media.dir, 'store.sqlite')
    const registered = await elle(['domains', '--json', '--db', file]) // registers the built-in domains: later listings only read
    expect(registered.code, registered.stderr).toBe(0)
    const store = ExperimentStore.open(file)
    runId = store.createRun(store.ensureExperiment('archived', { a: 1 }).id, { backend: 'wasm' }).id
    store.close()
    media.seal()
  })

  afterAll(() => {
    if (typeof media !== 'string') media.unmount()
  })

  it('is listed by elle runs and elle domains', async (ctx) => {
    if (typeof media === 'string') ctx.skip(media)
    const runs = await elle(['runs', '--db', file, '--json'])
    expect(runs.code, runs.stderr).toBe(0)
    expect(JSON.parse(runs.stdout)).toMatchObject({ store: file, runs: [{ id: runId, experimentName: 'archived' }] })
    const domains = await elle(['domains', '--json', '--db', file])
    expect(domains.code, domains.stderr).toBe(0)
    expect(JSON.parse(domains.stdout).domains.map((d: { name: string }) => d.name)).toContain('press')
  })

  it('is refused by a command that writes, saying the file system is read-only', async (ctx) => {
    if (typeof media === 'string') ctx.skip(media)
    const { code, stderr } = await elle(['domains', 'add', 'recipes', path.dirname(file), '--db', file])
    expect(code).toBe(1)
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toContain(`cannot write store ${file}: it is on a read-only file system`)
  })
})
