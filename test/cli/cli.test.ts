// The `elle` command as users run it: the built bundle through bin/elle.mjs, in a child process. Where a test runs
// several commands, the others go through the CLI's main() in this process (elleHere): a child costs 2-3 s of CPU
// before it reads its arguments.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { BackendReport } from '../../src/shared/contract'
import { ExperimentStore } from '../../src/main/engine/store/store'
import { sha256File, tempDir } from '../helpers/tmp'
import { config, createRun, simulateRun } from '../engine/compare/fixtures'
import { elleHere } from './in-process'

const BIN = path.resolve('bin/elle.mjs')

function elle(args: string[], env: NodeJS.ProcessEnv = {}): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ELLE_BACKEND: '', ELLE_DATA_DIR: inject('dataDir'), ...env },
    timeout: 60_000
  })
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr }
}

describe('elle backend', () => {
  it('names the active backend and why each faster one was skipped', () => {
    const { code, stdout } = elle(['backend', '--json'])
    expect(code).toBe(0)
    const report = BackendReport.parse(JSON.parse(stdout))
    const order = report.candidates.map((c) => c.name)
    expect(order).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm-native', 'wasm', 'cpu'])
    const activeIndex = report.candidates.findIndex((c) => c.status === 'active')
    expect(report.candidates[activeIndex]!.name).toBe(report.active)
    for (const better of report.candidates.slice(0, activeIndex)) {
      expect(better.status === 'skipped' || better.status === 'failed').toBe(true)
      expect(better.reason).toContain(better.package)
    }
  })

  it('uses onnxruntime for the wasm matmuls where it loads, says so, and falls back to wasm where it does not', () => {
    const native = BackendReport.parse(JSON.parse(elle(['backend', '--json'], { ELLE_ORT_THREADS: '2' }).stdout))
    expect(native).toMatchObject({ active: 'wasm-native', matmul: { kernel: 'onnxruntime-mlas', threads: 2, skipped: null } })
    expect(elle(['backend']).stdout).toContain('matmul kernel: onnxruntime-mlas (onnxruntime-node 1.30.0 MLAS GEMM')
    const hidden = elle(['backend', '--json'], { NODE_OPTIONS: `--require ${path.resolve('test/helpers/hide-ort.cjs')}` })
    expect(hidden.code).toBe(0)
    const report = BackendReport.parse(JSON.parse(hidden.stdout))
    expect(report.active).toBe('wasm')
    expect(report.candidates.find((c) => c.name === 'wasm-native')).toMatchObject({ status: 'failed', reason: expect.stringContaining('onnxruntime binding cannot be loaded') })
    expect(report.matmul).toMatchObject({ kernel: 'xnnpack-wasm', skipped: expect.stringContaining('onnxruntime-mlas: onnxruntime-node failed to load') })
    const bad = elle(['backend'], { ELLE_ORT_THREADS: 'many' })
    expect(bad).toMatchObject({ code: 1, stderr: 'elle backend: ELLE_ORT_THREADS must be an integer from 1 to 256, got "many"\n' })
  })

  it('honours ELLE_BACKEND and --backend, flag first', () => {
    expect(JSON.parse(elle(['backend', '--json'], { ELLE_BACKEND: 'cpu' }).stdout).active).toBe('cpu')
    const both = JSON.parse(elle(['backend', '--json', '--backend', 'wasm'], { ELLE_BACKEND: 'cpu' }).stdout)
    expect(both).toMatchObject({ active: 'wasm', requestedBy: 'flag' })
  })

  it('rejects an unknown backend with a one-line reason: a bad --backend is a usage error, a bad ELLE_BACKEND a failure', () => {
    const { code, stderr } = elle(['backend', '--backend', 'tpu'])
    expect(code).toBe(2)
    expect(stderr).toBe('elle backend: --backend must be one of tensorflow-gpu, webgpu, tensorflow, wasm-native, wasm, cpu, got "tpu"\n')
    const env = elle(['backend'], { ELLE_BACKEND: 'tpu' })
    expect(env.code).toBe(1)
    expect(env.stderr).toBe('elle backend: unknown backend "tpu" from ELLE_BACKEND; expected one of tensorflow-gpu, webgpu, tensorflow, wasm-native, wasm, cpu\n')
  })
})

/** `elle ARGS` through main() in this process, with the environment elle() gives the child. */
function elleIn(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return elleHere(args, env, 60_000)
}

describe('elle runs', () => {
  it('lists runs from the given store as JSON and as a table', async () => {
    const db = path.join(tempDir(), 'cli.sqlite')
    const store = ExperimentStore.open(db)
    const run = store.createRun(store.ensureExperiment('cli-experiment', { k: 1 }).id, { backend: 'wasm' })
    store.setRunStatus(run.id, 'running')
    store.close()
    const json = elle(['runs', '--db', db, '--json'])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({ store: db, runs: [{ id: run.id, experimentName: 'cli-experiment', status: 'running' }] })
    const text = await elleIn(['runs'], { ELLE_DB: db })
    expect(text.stdout).toMatch(/cli-experiment\s+running\s+wasm/)
    expect(JSON.parse((await elleIn(['runs', '--db', db, '--json', '--status', 'finished'])).stdout).runs).toEqual([])
  })

  it('fails with one line and leaves a non-SQLite file untouched', () => {
    const db = path.join(tempDir(), 'thesis.sqlite')
    fs.writeFileSync(db, 'chapter one\n'.repeat(100))
    const before = sha256File(db)
    const { code, stderr } = elle(['runs', '--db', db])
    expect(code).toBe(1)
    expect(stderr.trim()).toBe(`elle runs: ${db} is not an SQLite database (wrong file header); it was left untouched`)
    expect(sha256File(db)).toBe(before)
  })

  it('refuses bad flags with exit code 2', async () => {
    const cases = [['runs', '--status', 'exploded'], ['runs', '--limit', '-4'], ['runs', '--frobnicate'], ['nonsense']]
    // the first in a child process too, which must answer as main() does
    const child = elle(cases[0]!)
    for (const args of cases) {
      const { code, stderr, stdout } = await elleIn(args)
      if (args === cases[0]) expect(child, 'the child process answers as main() did').toEqual({ code, stdout, stderr })
      expect(code, args.join(' ')).toBe(2)
      expect(stderr.trim().split('\n'), args.join(' ')).toHaveLength(1)
    }
  })

  it('prints help for every command', async () => {
    const child = elle(['backend', '--help'])
    for (const command of ['backend', 'runs', 'serve', 'start']) {
      const { code, stdout, stderr } = await elleIn([command, '--help'])
      if (command === 'backend') expect(child, 'the child process answers as main() did').toEqual({ code, stdout, stderr })
      expect(code).toBe(0)
      expect(stdout).toContain(`usage: elle ${command}`)
    }
  })
})

describe('elle serve', () => {
  it('refuses a non-loopback host', () => {
    const db = path.join(tempDir(), 's.sqlite')
    const { code, stderr } = elle(['serve', '--host', '0.0.0.0', '--db', db])
    expect(code).toBe(2)
    expect(stderr).toBe('elle serve: browser mode listens on loopback only (127.0.0.1, localhost, ::1); refusing host "0.0.0.0"\n')
    expect(fs.existsSync(db)).toBe(false)
  })

  it('serves browser mode with a token URL and stops cleanly on SIGTERM', async () => {
    const db = path.join(tempDir(), 'serve.sqlite')
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--db', db, '--json'], { env: { ...process.env, ELLE_BACKEND: '', ELLE_DATA_DIR: inject('dataDir') } })
    const line = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        if (out.includes('\n')) resolve(out.split('\n')[0]!)
      })
      child.once('exit', (code) => reject(new Error(`serve exited early with ${code}`)))
    })
    const ready = JSON.parse(line) as { url: string; port: number; store: string }
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/)
    expect(ready.store).toBe(db)
    const base = `http://127.0.0.1:${ready.port}`
    expect((await fetch(`${base}/api/rpc/system.info`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status).toBe(401)
    const token = new URL(ready.url).searchParams.get('token')!
    const info = await fetch(`${base}/api/rpc/system.info`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: '{}' })
    expect(((await info.json()) as { result: { store: { path: string } } }).result.store.path).toBe(db)
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    expect(await exit).toBe(0)
    // the store was closed cleanly and is healthy
    const store = ExperimentStore.open(db)
    expect(store.integrityCheck()).toEqual([])
    store.close()
  })
})

describe('elle start', () => {
  it('falls back to browser mode and says why Electron was not used', async () => {
    const db = path.join(tempDir(), 'start.sqlite')
    const child = spawn(process.execPath, [BIN, 'start', '--port', '0', '--db', db], { env: { ...process.env, ELLE_BACKEND: '', DISPLAY: '', ELLE_DATA_DIR: inject('dataDir') } })
    const output = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        if (out.includes('Press Ctrl+C')) resolve(out)
      })
      child.once('exit', (code) => reject(new Error(`start exited early with ${code}: ${out}`)))
    })
    child.kill('SIGTERM')
    expect(output).toMatch(/Electron was not used: .+/)
    expect(output).toMatch(/open http:\/\/127\.0\.0\.1:\d+\/\?token=/)
    expect(output).toContain('active backend:')
  })
})

describe('elle compare', () => {
  it('compares runs of one stream, writes the report, and refuses runs of different streams', async () => {
    const dir = tempDir()
    const db = path.join(dir, 'compare.sqlite')
    const store = ExperimentStore.open(db)
    const stream = ['press', 'fiction']
    const elleRun = createRun(store, config('elle-run', stream, { grow: true }))
    simulateRun(store, elleRun, stream, { secondsPerStep: [0.05, 0.1], flopsPerStep: [1e10, 2e10], params: [1e5, 2e5], floor: 90 })
    const naive = createRun(store, config('naive-run', stream))
    simulateRun(store, naive, stream, { secondsPerStep: [0.2, 0.2], flopsPerStep: [4e10, 4e10], params: [2e5, 2e5], floor: 120 })
    const other = createRun(store, config('other-stream', ['press', 'learned']))
    simulateRun(store, other, ['press', 'learned'], { secondsPerStep: [0.2, 0.2], flopsPerStep: [4e10, 4e10], params: [2e5, 2e5], floor: 120 })
    store.close()

    const report = path.join(dir, 'report.html')
    const ok = elle(['compare', String(elleRun), String(naive), '--db', db, '--report', report])
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toMatch(/elle-run/)
    expect(ok.stdout).toMatch(/naive-run/)
    expect(fs.readFileSync(report, 'utf8')).toMatch(/<svg/)
    const refused = await elleIn(['compare', String(elleRun), String(other), '--db', db])
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    expect(refused.stderr).toMatch(/different streams: stages\.1\.domain/)
  })
})
