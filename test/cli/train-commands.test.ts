// `elle run`, `elle eval` and `elle domains` as users run them, on the built-in default stream. Training and one
// eval per model run the built CLI in a child process; the other commands go through the CLI's main() in this
// process (elleHere), since a child costs 2-3 s of CPU before it reads its arguments, and a refused command
// shows in a child process that it answers there exactly as main() does.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { ExperimentStore } from '../../src/main/engine/store/store'
import { tempDir } from '../helpers/tmp'
import { elleHere } from './in-process'

const BIN = path.resolve('bin/elle.mjs')

function elle(args: string[], db: string): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ELLE_BACKEND: 'wasm', ELLE_DB: db, ELLE_DATA_DIR: inject('dataDir') },
    timeout: 240_000
  })
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr }
}

/** `elle ARGS` through main() in this process, with the environment elle() gives the child. */
function elleIn(args: string[], db: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return elleHere(args, { ELLE_BACKEND: 'wasm', ELLE_DB: db }, 240_000)
}

function storeAt(db: string): ExperimentStore {
  return ExperimentStore.open(db)
}

describe('elle run and elle eval', () => {
  for (const kind of ['gpt', 'bert'] as const) {
    it(`a tiny ${kind} on the press domain lowers validation perplexity and writes a checkpoint`, async () => {
      const dir = tempDir()
      const db = path.join(dir, 'store.sqlite')
      const out = path.join(dir, 'final')
      // 12 steps validate at every step (quickRunConfig: every steps/10); with seed 0 on wasm each validation is lower
      // than the one before for both models (7722 to 5753 for gpt). 40 steps cost the suite ~25 s of CPU more.
      const { code, stdout, stderr } = elle(['run', '--model', kind, '--size', 'tiny', '--domain', 'press', '--steps', '12', '--out', out, '--json'], db)
      expect(code, stderr).toBe(0)
      const summary = JSON.parse(stdout) as { run: { id: number; status: string }; checkpoint: string }
      expect(summary.run.status).toBe('finished')
      expect(summary.checkpoint).toBe(out)
      expect(fs.readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors', 'state.json', 'tokenizer.json'])
      const store = storeAt(db)
      const ppl = store.readMetrics(summary.run.id, { name: 'ppl/press' })
      store.close()
      expect(ppl.length).toBeGreaterThanOrEqual(4)
      expect(ppl.at(-1)!.value).toBeLessThan(ppl[0]!.value)
      expect(stderr).toMatch(/stage 1\/1 press .*100%/) // progress lines when not on a terminal

      const text = path.join(dir, 'notes.txt')
      fs.writeFileSync(text, 'The committee met on Tuesday to discuss the new budget for the city schools. '.repeat(40))
      const evaluated = await elleIn(['eval', out, '--text', text, '--json'], db)
      expect(evaluated.code, evaluated.stderr).toBe(0)
      const result = JSON.parse(evaluated.stdout) as { loss: number; ppl: number; tokens: number }
      expect(Number.isFinite(result.loss)).toBe(true)
      expect(result.ppl).toBeCloseTo(Math.exp(result.loss), 6)
      expect(result.tokens).toBeGreaterThan(0)
      const onDomain = elle(['eval', out, '--domain', 'press'], db)
      // a domain's validation has many documents: the perplexity comes with its bootstrap interval
      expect(onDomain.stdout).toMatch(/^loss \d+\.\d+ {2}perplexity \d+\.\d+ \(95% CI \d+\.\d+-\d+\.\d+\) {2}tokens [\d,]+/)
      // three commands, each starting an engine (and eval a job worker): over 60 s when the shared machine is loaded
    }, 240_000)
  }

  it('refuses bad configs with the field named, and stores nothing', async () => {
    const dir = tempDir()
    const db = path.join(dir, 'store.sqlite')
    const write = (name: string, content: string): string => {
      const file = path.join(dir, name)
      fs.writeFileSync(file, content)
      return file
    }
    const cases: Array<[string, RegExp]> = [
      [write('broken.json', '{"name": "x", '), /broken\.json is not valid JSON/],
      [write('shape.json', JSON.stringify({ name: 'x', model: { kind: 'gpt', layers: 2, heads: 0, headSize: 16 }, stages: [{ domain: 'press', steps: 5 }] })), /model\.heads/],
      [
        write('domain.json', JSON.stringify({ name: 'x', model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 }, stages: [{ domain: 'atlantis', steps: 5 }] })),
        /stages\.0\.domain: unknown domain "atlantis"/
      ],
      [write('extra.json', JSON.stringify({ name: 'x', model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 }, stages: [{ domain: 'press', steps: 5 }], lr: 3 })), /lr/],
      [path.join(dir, 'missing.json'), /cannot read .*missing\.json: ENOENT/]
    ]
    // the first case also in a child process, which must answer as main() did
    const child = elle(['run', cases[0]![0]], db)
    for (const [file, message] of cases) {
      const { code, stderr, stdout } = await elleIn(['run', file], db)
      if (file === cases[0]![0]) expect(child, 'the child process answers as main() did').toEqual({ code, stdout, stderr })
      expect(code, file).toBe(1)
      // one line for the error; the first config that reaches the store also announces the new store
      expect(
        stderr
          .trim()
          .split('\n')
          .filter((line) => !line.startsWith('created new store at')),
        file
      ).toHaveLength(1)
      expect(stderr, file).toMatch(message)
    }
    const store = storeAt(db)
    expect(store.listExperiments()).toEqual([])
    expect(store.listRuns()).toEqual([])
    store.close()
  })

  it('names the missing file of a broken checkpoint', async () => {
    const dir = tempDir()
    fs.mkdirSync(path.join(dir, 'ckpt'))
    fs.writeFileSync(path.join(dir, 'ckpt', 'config.json'), '{}')
    const { code, stderr } = await elleIn(['eval', path.join(dir, 'ckpt'), '--text', BIN], path.join(dir, 's.sqlite'))
    expect(code).toBe(1)
    expect(stderr).toMatch(/ckpt/)
  })
})

describe('elle domains', () => {
  it('lists the built-in stream and adds a folder of text as a new domain with its own prompt slot', async () => {
    const dir = tempDir()
    const db = path.join(dir, 'store.sqlite')
    const listed = JSON.parse(elle(['domains', '--json'], db).stdout) as { domains: Array<{ name: string; promptSlot: number; builtin: boolean }> }
    expect(listed.domains.map((d) => d.name)).toEqual(['press', 'humanities', 'hobbies', 'learned', 'fiction', 'email'])
    expect(listed.domains.every((d) => d.builtin)).toBe(true)

    const corpus = path.join(dir, 'recipes')
    fs.mkdirSync(corpus)
    for (let i = 0; i < 6; i++)
      fs.writeFileSync(path.join(corpus, `r${i}.txt`), `Recipe ${i}: whisk two eggs with flour, add milk slowly and bake for ${20 + i} minutes. `.repeat(20))
    const added = await elleIn(['domains', 'add', 'recipes', corpus, '--json'], db)
    expect(added.code, added.stderr).toBe(0)
    expect(JSON.parse(added.stdout)).toMatchObject({ name: 'recipes', promptSlot: 6, documents: 6 })
    const again = JSON.parse((await elleIn(['domains', '--json'], db)).stdout) as { domains: Array<{ name: string; promptSlot: number; tokens: number }> }
    expect(again.domains.find((d) => d.name === 'recipes')).toMatchObject({ promptSlot: 6, tokens: expect.any(Number) })

    const duplicate = await elleIn(['domains', 'add', 'recipes', corpus], db)
    expect(duplicate.code).toBe(1)
    expect(duplicate.stderr).toMatch(/domain "recipes" already exists/)
  })

  it('refuses unreadable corpora with the file or field named, and stores nothing', async () => {
    const dir = tempDir()
    const db = path.join(dir, 'store.sqlite')
    const file = (name: string, content: string | Buffer): string => {
      const p = path.join(dir, name)
      fs.writeFileSync(p, content)
      return p
    }
    const emptyFolder = path.join(dir, 'nothing-here')
    fs.mkdirSync(emptyFolder)
    fs.writeFileSync(path.join(emptyFolder, 'photo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]))
    const cases: Array<[string[], RegExp]> = [
      [[file('empty.txt', '')], /empty\.txt/],
      [[file('binary.txt', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 0, 0, 0]))], /binary\.txt/],
      [[file('latin1.txt', Buffer.from('caf\xe9 au lait, tr\xe8s bien', 'latin1'))], /latin1\.txt.*UTF-8|UTF-8.*latin1\.txt/],
      [[emptyFolder], /nothing-here/],
      [[file('docs.jsonl', '{"body": "no text field here"}\n')], /docs\.jsonl.*text|text.*docs\.jsonl/]
    ]
    for (const [paths, message] of cases) {
      const { code, stderr } = await elleIn(['domains', 'add', 'broken', ...paths], db)
      expect(code, paths.join(' ')).toBe(1)
      expect(stderr, paths.join(' ')).toMatch(message)
    }
    const store = storeAt(db)
    expect(store.findDomain('broken')).toBeNull()
    store.close()
  })
})
