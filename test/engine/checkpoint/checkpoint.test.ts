import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { CHECKPOINT_FILES, checkpointSha256, listCheckpointFiles, loadCheckpoint, saveCheckpoint, verifyCheckpoint } from '../../../src/main/engine/checkpoint/checkpoint'
import { CheckpointError } from '../../../src/main/engine/checkpoint/errors'
import type { Tokenizer } from '../../../src/main/engine/data/tokenizer'
import { TransformerModel } from '../../../src/main/engine/model/model'
import { Trainer } from '../../../src/main/engine/model/train'
import { tempDir } from '../../helpers/tmp'
import { checkpointInput, expectSameWeights, randomWeights, snapshot, tinyConfig, tinyTokenizer } from './helpers'

let tok: Tokenizer
beforeAll(async () => {
  tok = await tinyTokenizer()
})

const root = tempDir('elle-ckpt-')
let n = 0
const fresh = (): string => path.join(root, `c${n++}`)
const siblings = (dir: string): string[] => fs.readdirSync(path.dirname(dir)).filter((f) => f.startsWith(path.basename(dir) + '.'))

describe('saveCheckpoint / loadCheckpoint', () => {
  it('round-trips weights, optimizer, tokenizer and every JSON object exactly', async () => {
    const dir = fresh()
    const input = checkpointInput(tinyConfig('bert'), tok)
    const saved = await saveCheckpoint(dir, input)
    expect(saved.path).toBe(path.resolve(dir))
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors', 'optimizer.safetensors', 'state.json', 'tokenizer.json'])
    expect(saved.bytes).toBe(fs.readdirSync(dir).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0))

    const loaded = await loadCheckpoint(dir)
    expect(loaded.config).toEqual(input.config)
    expectSameWeights(loaded.weights, input.weights)
    expect(loaded.optimizerState!.step).toBe(7)
    expectSameWeights(loaded.optimizerState!.m, input.optimizerState!.m)
    expectSameWeights(loaded.optimizerState!.v, input.optimizerState!.v)
    expect(loaded.tokenizer.json).toBe(tok.json)
    expect(loaded.state).toEqual(input.state)
    expect(loaded.training).toEqual(input.training)
    expect(loaded.experiment).toEqual(input.experiment)
    expect(loaded.sha256).toBe(saved.sha256)
    expect(loaded.files.map((f) => f.name)).toEqual(['config.json', 'model.safetensors', 'optimizer.safetensors', 'tokenizer.json', 'state.json'])

    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'))
    expect(config).toMatchObject({ format: 'elle-checkpoint', version: 1, model: input.config, optimizer: { type: 'adamw', step: 7 } })
  })

  it('has the documented sha256: sha256sum of the files in fixed order, hashed again', async () => {
    const dir = fresh()
    const saved = await saveCheckpoint(dir, checkpointInput(tinyConfig('gpt'), tok))
    const names = ['config.json', 'model.safetensors', 'optimizer.safetensors', 'tokenizer.json', 'state.json']
    const manifest = execFileSync('sha256sum', names, { cwd: dir })
    const expected = execFileSync('sha256sum', { input: manifest }).toString().split(' ')[0]
    expect(saved.sha256).toBe(expected)
    expect(await checkpointSha256(dir)).toBe(expected)
    expect((await listCheckpointFiles(dir)).map((f) => f.name)).toEqual(names)
    // Equal inputs give byte-identical checkpoints.
    expect((await saveCheckpoint(fresh(), checkpointInput(tinyConfig('gpt'), tok))).sha256).toBe(expected)
  })

  it('keeps the state’s tensors in plugins.safetensors, hashed last, and none without them', async () => {
    const dir = fresh()
    const pluginTensors = {
      'ewc/importance/embed.token': { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6e-30]) },
      'pnn/column0.laterals/x': { shape: [0], data: new Float32Array(0) }
    }
    const saved = await saveCheckpoint(dir, checkpointInput(tinyConfig('gpt'), tok, { pluginTensors }))
    const names = ['config.json', 'model.safetensors', 'optimizer.safetensors', 'tokenizer.json', 'state.json', 'plugins.safetensors']
    expect(saved.files.map((f) => f.name)).toEqual(names)
    const manifest = execFileSync('sha256sum', names, { cwd: dir })
    expect(saved.sha256).toBe(execFileSync('sha256sum', { input: manifest }).toString().split(' ')[0])
    const loaded = await loadCheckpoint(dir)
    expectSameWeights(loaded.pluginTensors, pluginTensors)
    expect(loaded.sha256).toBe(saved.sha256)
    // a checkpoint without plugin tensors has no such file, and loads with none
    const plain = fresh()
    await saveCheckpoint(plain, checkpointInput(tinyConfig('gpt'), tok, { pluginTensors: {} }))
    expect(fs.existsSync(path.join(plain, 'plugins.safetensors'))).toBe(false)
    expect((await loadCheckpoint(plain)).pluginTensors).toEqual({})
    // a tensor whose data does not fill its shape is refused before anything is written
    const bad = fresh()
    await expect(saveCheckpoint(bad, checkpointInput(tinyConfig('gpt'), tok, { pluginTensors: { x: { shape: [4], data: new Float32Array(3) } } }))).rejects.toThrow(
      /pluginTensors\["x"\] holds 3 values for shape \[4\]/
    )
    expect(fs.existsSync(bad)).toBe(false)
  })

  it('saves weights-only checkpoints and can skip reading the moments', async () => {
    const dir = fresh()
    const input = checkpointInput(tinyConfig('gpt'), tok, { optimizerState: undefined })
    await saveCheckpoint(dir, input)
    expect(fs.existsSync(path.join(dir, CHECKPOINT_FILES.optimizer))).toBe(false)
    expect((await loadCheckpoint(dir)).optimizerState).toBeNull()

    const withOpt = fresh()
    const full = await saveCheckpoint(withOpt, checkpointInput(tinyConfig('gpt'), tok))
    const light = await loadCheckpoint(withOpt, { optimizer: false })
    expect(light.optimizerState).toBeNull()
    expect(light.optimizerStep).toBe(7)
    expect(light.sha256).toBe(full.sha256)
  })

  it('replaces an existing checkpoint and leaves no temp or backup directories', async () => {
    const dir = fresh()
    await saveCheckpoint(dir, checkpointInput(tinyConfig('bert'), tok))
    const second = checkpointInput(tinyConfig('bert'), tok, { weights: randomWeights(tinyConfig('bert'), 99), state: { step: 8 } })
    await saveCheckpoint(dir, second)
    const loaded = await loadCheckpoint(dir)
    expectSameWeights(loaded.weights, second.weights)
    expect(loaded.state).toEqual({ step: 8 })
    expect(siblings(dir)).toEqual([])
  })

  it('resumes training exactly: the step after a reload equals the step without one', async () => {
    await tf.setBackend('cpu')
    const cfg = tinyConfig('gpt', { vocabSize: tok.vocabSize })
    const batch = {
      inputIds: tf.tensor2d(
        Int32Array.from({ length: 2 * 8 }, (_, i) => (i * 37) % 250),
        [2, 8],
        'int32'
      )
    }
    const opts = { schedule: { peak: 1e-2, warmupSteps: 1, totalSteps: 10 } }
    const a = new TransformerModel(cfg, { seed: 3 })
    const ta = new Trainer(a, opts)
    await ta.trainStep([batch])
    const dir = fresh()
    await saveCheckpoint(dir, { config: cfg, weights: await a.readWeights(), optimizerState: await ta.optimizer.readState(), tokenizer: tok, state: { step: 1 } })
    const continued = await ta.trainStep([batch])

    const loaded = await loadCheckpoint(dir)
    const b = new TransformerModel(loaded.config, { seed: 99 })
    const tb = new Trainer(b, opts)
    b.setWeights(loaded.weights)
    tb.optimizer.setState(loaded.optimizerState!)
    const resumed = await tb.trainStep([batch])
    expect(resumed.loss).toBe(continued.loss)
    expectSameWeights(await b.readWeights(), await a.readWeights())
    for (const x of [ta, tb, a, b]) x.dispose()
    batch.inputIds.dispose()
  })
})

describe('atomic saves', () => {
  async function withPrevious(): Promise<{ dir: string; before: Record<string, string>; sha: string }> {
    const dir = fresh()
    const { sha256 } = await saveCheckpoint(dir, checkpointInput(tinyConfig('bert'), tok))
    return { dir, before: snapshot(dir), sha: sha256 }
  }
  const next = (): ReturnType<typeof checkpointInput> => checkpointInput(tinyConfig('bert'), tok, { weights: randomWeights(tinyConfig('bert'), 5) })

  it('a crash after some files were written leaves the previous checkpoint intact and loadable', async () => {
    const { dir, before, sha } = await withPrevious()
    const crash = {
      afterFile: (name: string): void => {
        if (name === 'model.safetensors') throw new Error('simulated crash')
      }
    }
    await expect(saveCheckpoint(dir, next(), { hooks: { ...crash } })).rejects.toThrow('simulated crash')
    expect(snapshot(dir)).toEqual(before)
    expect((await loadCheckpoint(dir)).sha256).toBe(sha)
    expect(siblings(dir)).toEqual([])
  })

  it('a failure between moving the old one aside and renaming the new one restores the old one', async () => {
    const { dir, before } = await withPrevious()
    await expect(
      saveCheckpoint(dir, next(), {
        hooks: {
          afterBackup: () => {
            throw new Error('disk gone')
          }
        }
      })
    ).rejects.toThrow('disk gone')
    expect(snapshot(dir)).toEqual(before)
    expect(siblings(dir)).toEqual([])
  })

  it('a process killed between the two renames is recovered: the previous checkpoint comes back', async () => {
    const { dir, before, sha } = await withPrevious()
    fs.renameSync(dir, `${dir}.previous`) // what a kill right after the first rename leaves
    fs.mkdirSync(`${dir}.partial-999999999-abc`) // and the dead writer's complete-or-not temp dir
    expect((await loadCheckpoint(dir)).sha256).toBe(sha)
    expect(snapshot(dir)).toEqual(before)
    await saveCheckpoint(dir, next())
    expect(siblings(dir)).toEqual([]) // the next save removes the dead writer's temp dir
  })

  it('refuses to replace a non-empty directory that is not a checkpoint', async () => {
    const dir = fresh()
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine')
    await expect(saveCheckpoint(dir, next())).rejects.toMatchObject({ code: 'NOT_REPLACEABLE', message: expect.stringContaining('does not hold a checkpoint') })
    expect(fs.readdirSync(dir)).toEqual(['notes.txt'])
    expect(siblings(dir)).toEqual([])
  })
})

describe('bad input on save fails before anything is written', () => {
  const cases: Array<[string, (t: Tokenizer) => Parameters<typeof saveCheckpoint>[1], RegExp]> = [
    [
      'a weight of the wrong shape (names tensor and both shapes)',
      (t) => {
        const input = checkpointInput(tinyConfig('bert'), t)
        input.weights['layers.1.ffn.in.kernel'] = { shape: [32, 64], data: new Float32Array(32 * 64) }
        return input
      },
      /tensor "layers\.1\.ffn\.in\.kernel" has shape \[32, 64\] but the model config needs \[32, 128\]/
    ],
    [
      'a missing weight',
      (t) => {
        const input = checkpointInput(tinyConfig('bert'), t)
        delete input.weights['head.bias']
        return input
      },
      /weights lacks tensor "head\.bias"/
    ],
    [
      'an unknown weight',
      (t) => {
        const input = checkpointInput(tinyConfig('gpt'), t)
        input.weights['head.bias'] = { shape: [300], data: new Float32Array(300) }
        return input
      },
      /weights has tensor "head\.bias" that the model config does not have/
    ],
    [
      'a tokenizer of another vocabulary size',
      (t) => checkpointInput(tinyConfig('gpt', { vocabSize: 310 }), t, { weights: randomWeights(tinyConfig('gpt', { vocabSize: 310 })), optimizerState: undefined }),
      /tokenizer has 300 tokens but config model\.vocabSize is 310/
    ],
    ['an invalid config', (t) => checkpointInput(tinyConfig('gpt'), t, { config: { ...tinyConfig('gpt'), hidden: 33 } }), /config\.hidden: 33 is not divisible by heads/],
    ['a state that JSON would change', (t) => checkpointInput(tinyConfig('gpt'), t, { state: { step: 1, loss: NaN } }), /state\.loss: NaN is not representable in JSON/],
    [
      'optimizer moments of the wrong shape',
      (t) => {
        const input = checkpointInput(tinyConfig('gpt'), t)
        input.optimizerState!.v['embed.position'] = { shape: [8, 32], data: new Float32Array(256) }
        return input
      },
      /tensor "embed\.position" has shape \[8, 32\] but the model config needs \[16, 32\]/
    ]
  ]
  for (const [what, make, message] of cases) {
    it(`refuses ${what}`, async () => {
      const dir = fresh()
      await saveCheckpoint(dir, checkpointInput(tinyConfig('bert'), tok))
      const before = snapshot(dir)
      const err = await saveCheckpoint(dir, make(tok)).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(CheckpointError)
      expect((err as Error).message).toMatch(message)
      expect(snapshot(dir)).toEqual(before)
      expect(siblings(dir)).toEqual([])
    })
  }
})

describe('loading validates and never changes the files', () => {
  async function saved(kind: 'bert' | 'gpt' = 'bert'): Promise<string> {
    const dir = fresh()
    await saveCheckpoint(dir, checkpointInput(tinyConfig(kind), tok))
    return dir
  }
  async function expectLoadError(dir: string, match: Partial<{ code: string; file: string; field: string }>, message: RegExp): Promise<void> {
    const before = snapshot(dir)
    const err = await loadCheckpoint(dir).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CheckpointError)
    expect(err).toMatchObject(match)
    expect((err as Error).message).toMatch(message)
    expect(snapshot(dir)).toEqual(before)
    const v = await verifyCheckpoint(dir)
    expect(v).toMatchObject({ ok: false, code: match.code })
  }
  const edit = (dir: string, f: (c: Record<string, any>) => void): void => {
    const file = path.join(dir, 'config.json')
    const c = JSON.parse(fs.readFileSync(file, 'utf8'))
    f(c)
    fs.writeFileSync(file, JSON.stringify(c))
  }

  for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'state.json', 'optimizer.safetensors']) {
    it(`names a missing ${file}`, async () => {
      const dir = await saved()
      fs.rmSync(path.join(dir, file))
      await expectLoadError(dir, { code: 'MISSING_FILE', file: path.join(dir, file) }, new RegExp(`missing ${file.replace('.', '\\.')}`))
    })
  }

  it('names the tensor and both shapes when config.json does not match the weights', async () => {
    const dir = await saved()
    edit(dir, (c) => (c.model.ffn = 64))
    await expectLoadError(
      dir,
      { code: 'SHAPE_MISMATCH', field: 'layers.0.ffn.in.kernel' },
      /model\.safetensors: tensor "layers\.0\.ffn\.in\.kernel" has shape \[32, 128\] but config\.json \(bert, layers 2, hidden 32, ffn 64.*\) needs \[32, 64\]/
    )
  })

  it('names the tensors config.json lacks or adds', async () => {
    const fewer = await saved()
    edit(fewer, (c) => (c.model.layers = 1))
    await expectLoadError(fewer, { code: 'SHAPE_MISMATCH' }, /model\.safetensors has 16 tensors "layers\.1\.attn\.q\.kernel".* that config\.json .* does not have/)
    const more = await saved()
    edit(more, (c) => (c.model.layers = 3))
    await expectLoadError(more, { code: 'SHAPE_MISMATCH', field: 'layers.2.attn.q.kernel' }, /model\.safetensors lacks 16 tensors: "layers\.2\.attn\.q\.kernel"/)
  })

  it('refuses a tokenizer whose vocabulary differs from model.vocabSize', async () => {
    const dir = await saved()
    const other = await tinyTokenizer(290)
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), other.json)
    await expectLoadError(dir, { code: 'TOKENIZER_MISMATCH', field: 'model.vocabSize' }, /tokenizer\.json: tokenizer has 290 tokens but config\.json model\.vocabSize is 300/)
  })

  it('refuses an unknown format version or format', async () => {
    const dir = await saved()
    edit(dir, (c) => (c.version = 2))
    await expectLoadError(dir, { code: 'FORMAT_VERSION', field: 'version' }, /config\.json: format version 2 is not supported \(this workbench reads version 1\)/)
    const other = await saved()
    edit(other, (c) => (c.format = 'keras'))
    await expectLoadError(other, { code: 'FORMAT', field: 'format' }, /config\.json: format is "keras"/)
  })

  it('names an invalid config field', async () => {
    const dir = await saved('gpt')
    edit(dir, (c) => (c.model.norm = 'sandwich'))
    await expectLoadError(dir, { code: 'BAD_CONFIG', field: 'model.norm' }, /config\.json: model\.norm: must be 'post' or 'pre'/)
  })

  it('names a corrupt safetensors file and a corrupt state.json', async () => {
    const dir = await saved()
    const model = path.join(dir, 'model.safetensors')
    fs.truncateSync(model, fs.statSync(model).size - 10)
    await expectLoadError(dir, { code: 'SAFETENSORS', file: model }, /model\.safetensors: tensor "head\.bias": data_offsets .* run past the end/)
    const state = await saved()
    fs.writeFileSync(path.join(state, 'state.json'), '{"step": ')
    await expectLoadError(state, { code: 'BAD_JSON' }, /state\.json: not valid JSON/)
    const opt = await saved()
    const optFile = path.join(opt, 'optimizer.safetensors')
    fs.writeFileSync(optFile, fs.readFileSync(optFile).subarray(0, 4))
    await expectLoadError(opt, { code: 'SAFETENSORS', file: optFile }, /optimizer\.safetensors: truncated/)
  })

  it('verifyCheckpoint reports success, and a sha256 mismatch', async () => {
    const dir = await saved()
    const v = await verifyCheckpoint(dir)
    expect(v).toMatchObject({ ok: true, optimizerStep: 7, config: tinyConfig('bert') })
    if (!v.ok) throw new Error('unreachable')
    expect(await verifyCheckpoint(dir, { sha256: v.sha256 })).toMatchObject({ ok: true })
    expect(await verifyCheckpoint(dir, { sha256: 'f'.repeat(64) })).toMatchObject({ ok: false, code: 'HASH_MISMATCH' })
    expect(await verifyCheckpoint(path.join(root, 'absent'))).toMatchObject({ ok: false, code: 'NOT_FOUND' })
  })
})

describe('the optimizer carries two counters: bias correction and the phase schedule', () => {
  it('saves and loads both; a checkpoint written before the schedule counter existed still loads (without it)', async () => {
    const dir = fresh()
    const input = checkpointInput(tinyConfig('gpt'), tok)
    input.optimizerState = { ...input.optimizerState!, step: 30, scheduleStep: 4 }
    await saveCheckpoint(dir, input)
    const loaded = await loadCheckpoint(dir)
    expect(loaded.optimizerState).toMatchObject({ step: 30, scheduleStep: 4 })
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).optimizer).toEqual({ type: 'adamw', step: 30, scheduleStep: 4 })
    // an older checkpoint: config.json has only the step
    const cfgPath = path.join(dir, 'config.json')
    const cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8'))
    delete cfg.optimizer.scheduleStep
    fs.writeFileSync(cfgPath, JSON.stringify(cfg))
    const old = await loadCheckpoint(dir)
    expect(old.optimizerState!.step).toBe(30)
    expect(old.optimizerState!.scheduleStep).toBeUndefined()
    cfg.optimizer.scheduleStep = -1
    fs.writeFileSync(cfgPath, JSON.stringify(cfg))
    await expect(loadCheckpoint(dir)).rejects.toMatchObject({ field: 'optimizer.scheduleStep' })
  })
})
