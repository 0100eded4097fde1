// Bad command lines, as users type them: every problem with the arguments is one line on stderr that
// names it, exit code 2, and nothing is stored or written. Each case runs through the CLI's main() in this
// process, and one or two of each test also as the built CLI in a child process (node scripts/build.mjs), which
// must answer exactly the same: a child costs 2-3 s of CPU before it reads its arguments.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { checkCommandSpec } from '../../src/main/cli/args'
import { compareCommand } from '../../src/main/cli/commands/compare'
import { COMMANDS, main } from '../../src/main/cli/index'
import { COMPARE_MAX_RUNS, DOMAIN_DESCRIPTION_MAX, DOMAIN_NAME_MAX, RUNS_LIST_MAX } from '../../src/shared/contract'
import { ExperimentStore } from '../../src/main/engine/store/store'
import { tempDir } from '../helpers/tmp'
import { config, createRun, simulateRun } from '../engine/compare/fixtures'
import { elle, type ElleResult } from './elle'
import { elleHere } from './in-process'

/** A usage error: exit 2 and exactly one stderr line; returns that line. */
function usageLine(result: ElleResult, what: string): string {
  expect(result.code, `${what}: ${result.stderr}${result.stdout}`).toBe(2)
  const lines = result.stderr.split('\n')
  expect(lines, what).toHaveLength(2) // the line and the final newline
  expect(lines[1], what).toBe('')
  return lines[0]!
}

/**
 * Each case through main() in this process, in turn; the cases at `children` also as the built `elle` in a child
 * process (bin/elle.mjs, the bundle, its exit code), whose answer must be the same, byte for byte.
 */
async function elleCases(cases: ReadonlyArray<readonly string[]>, env: NodeJS.ProcessEnv, children: readonly number[] = [0], timeoutMs = 30_000): Promise<ElleResult[]> {
  const results: ElleResult[] = []
  for (const args of cases) results.push(await elleHere(args, env, timeoutMs))
  const spawned = await Promise.all(children.map((i) => elle(cases[i]!, env, timeoutMs)))
  children.forEach((i, k) => expect(spawned[k], `${cases[i]!.join(' ')}: the child process answers as main() did`).toEqual(results[i]))
  return results
}

/** A config that parses and names a domain no store has: training never starts from it. */
function unknownDomainConfig(dir: string, prefix = ''): string {
  const file = path.join(dir, `config-${prefix ? 'bom' : 'plain'}.json`)
  fs.writeFileSync(file, prefix + JSON.stringify({ name: 'usage', model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 }, stages: [{ domain: 'atlantis', steps: 5 }] }))
  return file
}

describe('every command', () => {
  it('declares only inputs it has', () => {
    expect(COMMANDS.length).toBeGreaterThan(10)
    for (const command of COMMANDS) expect(() => checkCommandSpec(command), command.name).not.toThrow()
  })

  it('refuses an unknown option: exit 2, one line naming it', async () => {
    // in-process through main(), the CLI's own entry, since this is parsing only: 12 child processes would
    // add half a minute; the child-process cases below cover the bundle and bin/elle.mjs
    const err: string[] = []
    const spy = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')))
    try {
      for (const { name } of COMMANDS) {
        err.length = 0
        expect(await main([name, '--frobnicate', 'x']), name).toBe(2)
        expect(err, name).toEqual([`elle ${name}: unknown option --frobnicate (see "elle ${name} --help")`])
      }
    } finally {
      spy.mockRestore()
    }
  })

  it('refuses an extra positional wherever it takes a bounded number: exit 2, one line, nothing stored', async () => {
    const dir = tempDir()
    const db = path.join(dir, 'never.sqlite')
    const cases: string[][] = []
    for (const command of COMMANDS) {
      const max = command.positionals?.max ?? 0
      if (!Number.isFinite(max)) continue
      // serve and start would listen if they ignored the argument: on any free port, not the default
      const port = 'port' in command.flags ? ['--port', '0'] : []
      cases.push([command.name, ...Array.from({ length: max + 1 }, (_, i) => String(i + 1)), ...port])
    }
    // runs and views take subcommands with their own counts (runs tag ID TAG...): checked below
    expect(cases.map((c) => c[0])).toEqual(expect.arrayContaining(['backend', 'serve', 'start', 'run', 'compare', 'export', 'import', 'eval', 'grow', 'finetune']))
    // serve in a child, since its refusal is what keeps it from listening
    const results = await elleCases(cases, { ELLE_DB: db, DISPLAY: '', WAYLAND_DISPLAY: '' }, [cases.findIndex((c) => c[0] === 'serve')], 20_000)
    cases.forEach((args, i) =>
      expect(usageLine(results[i]!, args.join(' '))).toMatch(new RegExp(`^elle ${args[0]}: takes (no positional arguments|one [A-Z_.a-z]+|at most (one|\\d+) [A-Z_.a-z]+), got `))
    )
    const sub = await elleCases(
      [
        ['runs', 'table', '1'],
        ['views', 'show', '1', '2']
      ],
      { ELLE_DB: db },
      [],
      20_000
    )
    expect(sub.map((r) => [r.code, r.stderr.trim().split('\n').length])).toEqual([
      [2, 1],
      [2, 1]
    ])
    expect(fs.existsSync(db)).toBe(false)
  })
})

describe('conflicting inputs', () => {
  it('are refused with the two inputs named, before anything is stored', async () => {
    const dir = tempDir()
    const db = path.join(dir, 'never.sqlite')
    const file = unknownDomainConfig(dir)
    const cases: Array<[string[], string]> = [
      [['run', '--model', 'gpt', file], 'elle run: CONFIG.json cannot be combined with --model'],
      [['run', file, '--steps', '5'], 'elle run: CONFIG.json cannot be combined with --steps'],
      [['run', '--preset', 'anything', '--model', 'gpt'], 'elle run: --preset cannot be combined with --model'],
      [['run', '--resume', '1', '--fresh'], 'elle run: --resume cannot be combined with --fresh'],
      [['eval', path.join(dir, 'ckpt'), '--domain', 'press', '--prompt', 'press'], 'elle eval: --domain cannot be combined with --prompt'],
      [['finetune', path.join(dir, 'ckpt'), '--run', '1'], 'elle finetune: CHECKPOINT cannot be combined with --run'],
      [['domains', '--description', 'a note for nothing'], 'elle domains: --description goes with add NAME PATH...'],
      [['runs', '--limit', '3', '--limit', '4'], 'elle runs: --limit is given twice ("3" and "4")']
    ]
    const results = await elleCases(
      cases.map(([args]) => args),
      { ELLE_DB: db }
    )
    cases.forEach(([args, line], i) => expect(usageLine(results[i]!, args.join(' '))).toBe(line))
    expect(fs.existsSync(db)).toBe(false)
  })
})

describe('negative numbers', () => {
  it('reach the range check of their flag or positional instead of being taken for options', async () => {
    const dir = tempDir()
    const db = path.join(dir, 'never.sqlite')
    const cases: Array<[string[], string | RegExp]> = [
      [['run', '--model', 'gpt', '--domain', 'press', '--steps', '-5'], 'elle run: --steps must be an integer from 1 to 10000000, got "-5"'],
      [['run', '--model', 'gpt', '--domain', 'press', '--seed', '-1'], 'elle run: --seed must be an integer from 0 to 2147483647, got "-1"'],
      [['run', '--resume', '-1'], `elle run: --resume must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}, got "-1"`],
      [['runs', '--limit', '-4'], `elle runs: --limit must be an integer from 1 to ${RUNS_LIST_MAX}, got "-4"`],
      [['serve', '--port', '-1'], 'elle serve: --port must be an integer from 0 to 65535, got "-1"'],
      [['compare', '3', '-1'], 'elle compare: run ids are positive integers, got "-1"'],
      [['finetune', '--run', '-2'], 'elle finetune: --run must be an integer from 1 to 9007199254740991, got "-2"'],
      [
        ['grow', path.join(dir, 'ckpt'), '--out', path.join(dir, 'out'), '--mode', 'exact', '--add-layers', '-2'],
        /^elle grow: --add-layers must be an integer from 0 to \d+, got "-2"$/
      ]
    ]
    const results = await elleCases(
      cases.map(([args]) => args),
      { ELLE_DB: db }
    )
    cases.forEach(([args, line], i) =>
      expect(usageLine(results[i]!, args.join(' '))).toMatch(typeof line === 'string' ? new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : line)
    )
    expect(fs.existsSync(db)).toBe(false)
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false)
  })
})

describe('limits', () => {
  it("are the API's: runs --limit, compare RUN_IDs, domains add NAME and --description", async () => {
    const dir = tempDir()
    const db = path.join(dir, 'never.sqlite')
    const corpus = path.join(dir, 'notes.txt')
    fs.writeFileSync(corpus, 'A few sentences of plain text about whisking eggs and baking bread. '.repeat(40))
    const ids = Array.from({ length: COMPARE_MAX_RUNS + 1 }, (_, i) => String(i + 1))
    const cases: Array<[string[], string]> = [
      [['runs', '--limit', String(RUNS_LIST_MAX + 1)], `elle runs: --limit must be an integer from 1 to ${RUNS_LIST_MAX}, got "${RUNS_LIST_MAX + 1}"`],
      [['compare', ...ids], `elle compare: takes at most ${COMPARE_MAX_RUNS} RUN_IDs, got ${ids.length}`],
      [
        ['domains', 'add', 'notes', corpus, '--description', 'x'.repeat(DOMAIN_DESCRIPTION_MAX + 1)],
        `elle domains: --description must be at most ${DOMAIN_DESCRIPTION_MAX} characters, got ${DOMAIN_DESCRIPTION_MAX + 1}`
      ],
      [['domains', 'add', 'n'.repeat(DOMAIN_NAME_MAX + 1), corpus], `elle domains: the domain name must be at most ${DOMAIN_NAME_MAX} characters, got ${DOMAIN_NAME_MAX + 1}`],
      [['domains', 'add', 'notes', corpus, '--text-field', ''], 'elle domains: --text-field must not be empty']
    ]
    const results = await elleCases(
      cases.map(([args]) => args),
      { ELLE_DB: db }
    )
    cases.forEach(([args, line], i) => expect(usageLine(results[i]!, args.slice(0, 3).join(' '))).toBe(line))
    expect(fs.existsSync(db)).toBe(false) // no domain was added, no store was even opened
  })

  it('a --out that is a file is a usage error, not a raw ENOTDIR', async () => {
    const dir = tempDir()
    const db = path.join(dir, 'never.sqlite')
    const file = path.join(dir, 'a-file')
    fs.writeFileSync(file, 'keep me')
    const line = usageLine(await elleHere(['run', '--model', 'gpt', '--domain', 'press', '--steps', '5', '--out', file], { ELLE_DB: db }), 'run --out FILE')
    expect(line).toBe(`elle run: --out ${file} exists and is not an empty directory; nothing was written`)
    expect(fs.readFileSync(file, 'utf8')).toBe('keep me')
    expect(fs.existsSync(db)).toBe(false)
  })
})

describe('config files', () => {
  it('a UTF-8 byte-order mark is read past, like any editor does', async () => {
    const dir = tempDir()
    const db = path.join(dir, 'store.sqlite')
    ExperimentStore.open(db).close() // an existing store: its creation would be announced on stderr too
    // a config that parses but names an unknown domain: the error proves it was read, without training
    const result = await elleHere(['run', unknownDomainConfig(dir, '\uFEFF')], { ELLE_DB: db, ELLE_BACKEND: 'cpu' })
    expect(result.code, result.stderr).toBe(1)
    expect(result.stderr).toMatch(/^elle run: .*stages\.0\.domain: unknown domain "atlantis".*\n$/)
    const store = ExperimentStore.open(db)
    expect(store.listRuns()).toEqual([])
    store.close()
  })
})

describe('elle compare --report', () => {
  function twoRuns(db: string): [number, number] {
    const store = ExperimentStore.open(db)
    const stream = ['press', 'fiction']
    const a = createRun(store, config('elle-run', stream, { grow: true }))
    simulateRun(store, a, stream, { secondsPerStep: [0.05, 0.1], flopsPerStep: [1e10, 2e10], params: [1e5, 2e5], floor: 90 })
    const b = createRun(store, config('naive-run', stream))
    simulateRun(store, b, stream, { secondsPerStep: [0.2, 0.2], flopsPerStep: [4e10, 4e10], params: [2e5, 2e5], floor: 120 })
    store.close()
    return [a, b]
  }

  it('refuses a directory, or a folder path through a file, with one line and leaves no temp file', async () => {
    const dir = tempDir()
    const db = path.join(dir, 'compare.sqlite')
    const [a, b] = twoRuns(db)
    const out = path.join(tempDir(), 'reports')
    fs.mkdirSync(out)
    const notAFolder = path.join(path.dirname(out), 'notes.txt')
    fs.writeFileSync(notAFolder, 'not a folder')
    const [onDir, throughFile] = (await elleCases(
      [
        ['compare', String(a), String(b), '--db', db, '--report', out],
        ['compare', String(a), String(b), '--db', db, '--report', path.join(notAFolder, 'r.html')]
      ],
      {},
      [1]
    )) as [ElleResult, ElleResult]
    expect(usageLine(onDir, 'report DIR')).toBe(`elle compare: --report ${out} is a directory; give a file name, e.g. ${path.join(out, 'report.html')}`)
    expect(usageLine(throughFile, 'report FILE/x')).toBe(`elle compare: --report ${path.join(notAFolder, 'r.html')}: ${notAFolder} is a file, not a folder`)
    expect(onDir.stdout + throughFile.stdout).toBe('') // refused before comparing anything
    expect(fs.readdirSync(path.dirname(out)).sort()).toEqual(['notes.txt', 'reports'])
    expect(fs.readdirSync(out)).toEqual([])
    expect(fs.readFileSync(notAFolder, 'utf8')).toBe('not a folder')

    // a report into folders that do not exist yet is still written (docs/compare.md), without a temp file left
    const nested = path.join(out, 'new', 'cmp.html')
    const ok = await elleHere(['compare', String(a), String(b), '--db', db, '--report', nested])
    expect(ok.code, ok.stderr).toBe(0)
    expect(fs.readdirSync(path.dirname(nested))).toEqual(['cmp.html'])
  })

  it('removes its temp file when writing the report fails', async () => {
    const dir = tempDir()
    const db = path.join(dir, 'compare.sqlite')
    const [a, b] = twoRuns(db)
    const out = path.join(tempDir(), 'cmp.html')
    // a failure between writing the temp file and renaming it (a full disk, a file system that refuses
    // the rename) cannot be produced for real here, so the rename is made to fail
    const rename = vi.spyOn(fs, 'renameSync').mockImplementation(() => {
      throw Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' })
    })
    vi.spyOn(console, 'log').mockImplementation(() => {})
    try {
      await expect(compareCommand.run({ values: { db, report: out }, positionals: [String(a), String(b)] })).rejects.toThrow('EXDEV')
      expect(rename).toHaveBeenCalledTimes(1)
    } finally {
      vi.restoreAllMocks()
    }
    expect(fs.readdirSync(path.dirname(out))).toEqual([])
  })
})
