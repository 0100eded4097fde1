// Adding a user domain (issue 9): a corpus too small for one training batch is refused at add time with
// the numbers, and two adds at once (two connections, two processes) get different prompt slots.
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { buildSync } from 'esbuild'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { DataError } from '../../../src/main/engine/data/errors'
import { ExperimentStore } from '../../../src/main/engine/store/store'
import { BlockBatcher } from '../../../src/main/engine/data/batches'
import { addUserDomain, DEFAULT_SHAPE_SEQ_LEN, loadRunData, tokensNeeded, type RunShape } from '../../../src/main/engine/training/data'
import { syntheticText, tempDir } from './helpers'

const root = tempDir('elle-add-domain-')
let n = 0
const fresh = (name: string): string => {
  const d = path.join(root, `${name}-${n++}`)
  fs.mkdirSync(d, { recursive: true })
  return d
}

/** A folder of `docs` synthetic documents of `words` words each. */
function corpus(docs: number, words: number): string {
  const d = fresh('corpus')
  for (let i = 0; i < docs; i++) fs.writeFileSync(path.join(d, `doc${i}.txt`), syntheticText(i + 1, words))
  return d
}

const stores: ExperimentStore[] = []
function openStore(file = path.join(fresh('db'), 'store.sqlite')): ExperimentStore {
  const store = ExperimentStore.open(file)
  stores.push(store)
  return store
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close()
})

async function refusal(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (e) {
    return e as Error
  }
  throw new Error('expected the add to be refused')
}

describe('a corpus too small for one training batch is refused when it is added', () => {
  it('names how many tokens it has and how many the default shape needs; nothing is stored', async () => {
    const store = openStore()
    const dir = corpus(3, 8)
    const e = await refusal(addUserDomain(store, inject('dataDir'), { name: 'tiny', source: { paths: [dir] } }))
    expect(e).toBeInstanceOf(DataError)
    expect((e as DataError).code).toBe('TOO_SMALL')
    const need = DEFAULT_SHAPE_SEQ_LEN + 1
    expect(e.message).toMatch(
      new RegExp(
        `^corpus ${dir} has \\d+ tokens; at least ${2 * need} are needed for one training batch of the default shape \\(seqLen ${DEFAULT_SHAPE_SEQ_LEN}: ${need} tokens for a training sequence and ${need} for a validation sequence\\)$`
      )
    )
    expect(Number(/has (\d+) tokens/.exec(e.message)?.[1])).toBeLessThan(2 * need)
    expect(store.findDomain('tiny')).toBeNull()
  })

  it('one long document has no validation split: refused, naming the split', async () => {
    const store = openStore()
    const dir = corpus(1, 2000)
    const e = await refusal(addUserDomain(store, inject('dataDir'), { name: 'one-doc', source: { paths: [dir] } }))
    expect((e as DataError).code).toBe('TOO_SMALL')
    expect(e.message).toMatch(
      /^corpus .* has [\d,]+ tokens, but its validation split has 0 \(0 of 1 documents\); at least 65 are needed for one validation sequence of the default shape \(seqLen 64\)/
    )
    expect(store.findDomain('one-doc')).toBeNull()
  })

  it('a corpus just big enough is accepted', async () => {
    const store = openStore()
    const added = await addUserDomain(store, inject('dataDir'), { name: 'enough', source: { paths: [corpus(4, 120)] } })
    expect(added).toMatchObject({ name: 'enough', documents: 4, skipped: [] })
    expect(added.tokens).toBeGreaterThanOrEqual(2 * (DEFAULT_SHAPE_SEQ_LEN + 1))
  })
})

describe('a run that needs more than a domain has is refused while its data loads, with the numbers', () => {
  it('tokensNeeded is exactly what BlockBatcher needs for one block', () => {
    const specialIds = { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4, bos: 5, eos: 6 }
    const ids = { specialIds, promptId: (slot: number): number => 7 + slot }
    const split = (docLens: number[]) => {
      const offsets = [0]
      for (const len of docLens) offsets.push((offsets.at(-1) as number) + len)
      return { domain: 'toy', split: 'validation' as const, tokens: new Uint16Array(offsets.at(-1) as number).fill(100), offsets: Uint32Array.from(offsets) }
    }
    const shapes: RunShape[] = [
      { kind: 'gpt', seqLen: 16, prompts: 'own' },
      { kind: 'gpt', seqLen: 16, prompts: 'off' },
      { kind: 'bert', seqLen: 16, prompts: 'own' }
    ]
    for (const shape of shapes) {
      for (const docs of [1, 3]) {
        const need = tokensNeeded(shape, docs)
        const lens = (total: number): number[] => Array.from({ length: docs }, (_, i) => Math.floor(total / docs) + (i < total % docs ? 1 : 0))
        const make = (total: number) =>
          new BlockBatcher(split(lens(total)), ids, { style: shape.kind, seqLen: shape.seqLen, promptSlot: 0, prompt: shape.prompts === 'off' ? 'off' : 'own' })
        expect(make(need).numBlocks).toBeGreaterThanOrEqual(1)
        if (need - 1 >= docs) expect(() => make(need - 1)).toThrow(/too few for one block/)
      }
    }
  })

  it('loadRunData with the run shape names the domain, the split and the numbers', async () => {
    const store = openStore()
    await addUserDomain(store, inject('dataDir'), { name: 'smallish', source: { paths: [corpus(4, 120)] } })
    const shape: RunShape = { kind: 'gpt', seqLen: 4096, prompts: 'own' }
    const e = await refusal(loadRunData(store, inject('dataDir'), ['press', 'smallish'], undefined, shape))
    expect((e as DataError).code).toBe('TOO_SMALL')
    expect(e.message).toMatch(
      /^domain "smallish" has \d+ tokens in its train split \(\d documents\); at least \d+ are needed for one training sequence of this run's shape \(gpt, seqLen 4096, prompts own\)$/
    )
    const ok = await loadRunData(store, inject('dataDir'), ['press', 'smallish'], undefined, { kind: 'gpt', seqLen: 32, prompts: 'off' })
    expect([...ok.domains.keys()]).toEqual(['press', 'smallish'])
  })
})

describe('prompt slots under concurrent adds', () => {
  it('another connection taking the lowest free slot between the read and the insert does not fail the add', async () => {
    const file = path.join(fresh('db'), 'store.sqlite')
    const a = openStore(file)
    const b = openStore(file)
    await addUserDomain(a, inject('dataDir'), { name: 'first', source: { paths: [corpus(4, 120)] } }) // registers the built-in domains
    const lowest = a.freePromptSlot(16, 6) as number
    // Connection A adds a domain; just before its insert, connection B inserts one at the lowest free slot
    // (what a second process does when it finishes tokenizing first).
    let raced = false
    const racing = new Proxy(a, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown
        if (prop !== 'createDomain' || typeof value !== 'function') return value
        return (input: Parameters<ExperimentStore['createDomain']>[0]) => {
          if (!raced) {
            raced = true
            b.createDomain({ name: 'from-b', files: [], promptSlot: b.freePromptSlot(16, 6) })
          }
          return (value as ExperimentStore['createDomain']).call(target, input)
        }
      }
    })
    const added = await addUserDomain(racing, inject('dataDir'), { name: 'from-a', source: { paths: [corpus(4, 120)] } })
    expect(raced).toBe(true)
    expect(b.findDomain('from-b')?.promptSlot).toBe(lowest)
    expect(added.promptSlot).toBe(lowest + 1)
    expect(a.findDomain('from-a')?.promptSlot).toBe(lowest + 1)
  })

  it('createDomain with an automatic slot picks the lowest free one inside its transaction, and says when none is left', () => {
    const file = path.join(fresh('db'), 'store.sqlite')
    const a = openStore(file)
    const b = openStore(file)
    expect(a.freePromptSlot(3, 1)).toBe(1) // A reads...
    b.createDomain({ name: 'b1', files: [], promptSlot: { auto: { slots: 3, from: 1 } } }) // ...B inserts...
    expect(a.createDomain({ name: 'a1', files: [], promptSlot: { auto: { slots: 3, from: 1 } } }).promptSlot).toBe(2) // ...A still succeeds
    expect(() => a.createDomain({ name: 'a2', files: [], promptSlot: { auto: { slots: 3, from: 1 } } })).toThrow('all 3 prompt slots are taken')
    expect(a.findDomain('a2')).toBeNull()
  })

  it('two processes adding domains at once both succeed, with different slots', async () => {
    const dbFile = path.join(fresh('db'), 'store.sqlite')
    openStore(dbFile).close() // the schema exists; the built-in domains are registered by the racing adds
    const bundle = path.join(fresh('bundle'), 'add.mjs')
    buildSync({
      stdin: {
        contents: `import { ExperimentStore } from './src/main/engine/store/store'
          import { addUserDomain } from './src/main/engine/training/data'
          const [dbFile, dataDir, name, dir] = process.argv.slice(2)
          const store = ExperimentStore.open(dbFile)
          addUserDomain(store, dataDir, { name, source: { paths: [dir] } })
            .then((r) => process.stdout.write(JSON.stringify({ slot: r.promptSlot })), (e) => process.stdout.write(JSON.stringify({ error: e.message })))
            .finally(() => store.close())`,
        resolveDir: path.resolve('.'),
        loader: 'ts'
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      outfile: bundle,
      logLevel: 'silent'
    })
    // The bundle lives outside the checkout; it finds the project's packages through a node_modules link.
    fs.symlinkSync(path.resolve('node_modules'), path.join(path.dirname(bundle), 'node_modules'))
    const run = (name: string, dir: string): Promise<{ slot?: number; error?: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [bundle, dbFile, inject('dataDir'), name, dir], { stdio: ['ignore', 'pipe', 'pipe'] })
        let out = ''
        let err = ''
        child.stdout.on('data', (d: Buffer) => (out += d.toString()))
        child.stderr.on('data', (d: Buffer) => (err += d.toString()))
        child.on('exit', () => (out ? resolve(JSON.parse(out) as { slot?: number; error?: string }) : reject(new Error(`child failed: ${err}`))))
      })
    const results = await Promise.all([run('proc-one', corpus(6, 150)), run('proc-two', corpus(6, 160))])
    expect(results.map((r) => r.error)).toEqual([undefined, undefined])
    expect(results.map((r) => r.slot).sort()).toEqual([6, 7])
  })
})
