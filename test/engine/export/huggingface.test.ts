import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { helpText, parseCommandArgs, UsageError } from '../../../src/main/cli/args'
import { exportCommand } from '../../../src/main/cli/commands/export'
import { importCommand } from '../../../src/main/cli/commands/import'
import { loadCheckpoint, saveCheckpoint } from '../../../src/main/engine/checkpoint/checkpoint'
import { readSafetensors, toFloat32, writeSafetensors, type TensorInput } from '../../../src/main/engine/checkpoint/safetensors'
import type { Tokenizer } from '../../../src/main/engine/data/tokenizer'
import { exportHuggingFace, importHuggingFace, LAYER_NORM_EPS } from '../../../src/main/engine/export/huggingface'
import type { ModelConfig } from '../../../src/main/engine/model/config'
import { TransformerModel, type Weights } from '../../../src/main/engine/model/model'
import { gelu, layerNorm } from '../../../src/main/engine/model/ops'
import { tempDir } from '../../helpers/tmp'
import { checkpointInput, expectSameWeights, snapshot, tinyConfig, tinyTokenizer } from '../checkpoint/helpers'

let tok: Tokenizer
const root = tempDir('elle-hf-')
let n = 0
const fresh = (): string => path.join(root, `d${n++}`)

beforeAll(async () => {
  await tf.setBackend('cpu')
  tok = await tinyTokenizer()
})

async function checkpoint(cfg: ModelConfig): Promise<{ dir: string; weights: Weights }> {
  const dir = fresh()
  const input = checkpointInput(cfg, tok)
  await saveCheckpoint(dir, input)
  return { dir, weights: input.weights }
}

async function hfTensors(dir: string): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const st = await readSafetensors(path.join(dir, 'model.safetensors'))
  return new Map([...st.tensors].map(([k, t]) => [k, { shape: t.shape, data: toFloat32(t) }]))
}

const readJson = (file: string): Record<string, any> => JSON.parse(fs.readFileSync(file, 'utf8'))

function bertNames(L: number, d: number, f: number, V: number, T: number): Array<[string, number[]]> {
  const out: Array<[string, number[]]> = [
    ['bert.embeddings.word_embeddings.weight', [V, d]],
    ['bert.embeddings.position_embeddings.weight', [T, d]],
    ['bert.embeddings.token_type_embeddings.weight', [2, d]],
    ['bert.embeddings.LayerNorm.weight', [d]],
    ['bert.embeddings.LayerNorm.bias', [d]]
  ]
  for (let i = 0; i < L; i++) {
    const p = `bert.encoder.layer.${i}`
    for (const m of ['query', 'key', 'value']) out.push([`${p}.attention.self.${m}.weight`, [d, d]], [`${p}.attention.self.${m}.bias`, [d]])
    out.push(
      [`${p}.attention.output.dense.weight`, [d, d]],
      [`${p}.attention.output.dense.bias`, [d]],
      [`${p}.attention.output.LayerNorm.weight`, [d]],
      [`${p}.attention.output.LayerNorm.bias`, [d]],
      [`${p}.intermediate.dense.weight`, [f, d]],
      [`${p}.intermediate.dense.bias`, [f]],
      [`${p}.output.dense.weight`, [d, f]],
      [`${p}.output.dense.bias`, [d]],
      [`${p}.output.LayerNorm.weight`, [d]],
      [`${p}.output.LayerNorm.bias`, [d]]
    )
  }
  out.push(
    ['cls.predictions.transform.dense.weight', [d, d]],
    ['cls.predictions.transform.dense.bias', [d]],
    ['cls.predictions.transform.LayerNorm.weight', [d]],
    ['cls.predictions.transform.LayerNorm.bias', [d]],
    ['cls.predictions.bias', [V]],
    ['cls.predictions.decoder.weight', [V, d]]
  )
  return out
}

function gptNames(L: number, d: number, f: number, V: number, T: number): Array<[string, number[]]> {
  const out: Array<[string, number[]]> = [
    ['transformer.wte.weight', [V, d]],
    ['transformer.wpe.weight', [T, d]]
  ]
  for (let i = 0; i < L; i++) {
    const p = `transformer.h.${i}`
    out.push(
      [`${p}.ln_1.weight`, [d]],
      [`${p}.ln_1.bias`, [d]],
      [`${p}.attn.c_attn.weight`, [d, 3 * d]],
      [`${p}.attn.c_attn.bias`, [3 * d]],
      [`${p}.attn.c_proj.weight`, [d, d]],
      [`${p}.attn.c_proj.bias`, [d]],
      [`${p}.ln_2.weight`, [d]],
      [`${p}.ln_2.bias`, [d]],
      [`${p}.mlp.c_fc.weight`, [d, f]],
      [`${p}.mlp.c_fc.bias`, [f]],
      [`${p}.mlp.c_proj.weight`, [f, d]],
      [`${p}.mlp.c_proj.bias`, [d]]
    )
  }
  out.push(['transformer.ln_f.weight', [d]], ['transformer.ln_f.bias', [d]], ['lm_head.weight', [V, d]])
  return out
}

/** logits of a model with these weights on fixed ids: [B, T, V] as nested arrays. */
function logitsOf(cfg: ModelConfig, weights: Weights, ids: number[][]): number[][][] {
  const m = new TransformerModel(cfg)
  m.setWeights(weights)
  const x = tf.tensor2d(ids, [ids.length, ids[0]!.length], 'int32')
  const out = m.logits(x)
  const arr = out.arraySync()
  for (const t of [x, out]) t.dispose()
  m.dispose()
  return arr
}

const IDS = [
  [2, 9, 40, 41, 120, 299, 4, 77, 3],
  [2, 8, 10, 11, 12, 13, 14, 15, 3]
]

function maxDiff(a: number[][][], b: number[][][]): number {
  let m = 0
  a.forEach((r, i) => r.forEach((c, j) => c.forEach((v, k) => (m = Math.max(m, Math.abs(v - b[i]![j]![k]!))))))
  return m
}

describe('the model functions the export relies on', () => {
  it('GELU is the tanh approximation (HF "gelu_new"), not the erf one ("gelu")', () => {
    const xs = [-3, -1.5, -0.5, 0.3, 1, 2.2]
    const got = tf.tidy(() => Array.from(gelu(tf.tensor1d(xs)).dataSync()))
    const tanhGelu = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))
    xs.forEach((x, i) => expect(got[i]).toBeCloseTo(tanhGelu(x), 6))
    // erf GELU at -1.5 is -0.10020; tanh GELU is -0.10008: the test tells them apart.
    expect(Math.abs(got[1]! - -0.1002026)).toBeGreaterThan(5e-5)
  })

  it(`LayerNorm uses epsilon ${LAYER_NORM_EPS}`, () => {
    const x = [0, 0.002, 0.004, 0.006] // variance 5e-6, so epsilon matters
    const got = tf.tidy(() => Array.from(layerNorm(tf.tensor2d([x]), tf.ones([4]), tf.zeros([4])).dataSync()))
    const mean = 0.003
    const v = x.reduce((a, b) => a + (b - mean) ** 2, 0) / 4
    x.forEach((xi, i) => expect(got[i]).toBeCloseTo((xi - mean) / Math.sqrt(v + LAYER_NORM_EPS), 4))
  })
})

describe('exportHuggingFace: BERT as BertForMaskedLM', () => {
  let src: { dir: string; weights: Weights }
  let out: string
  const cfg = tinyConfig('bert')
  beforeAll(async () => {
    src = await checkpoint(cfg)
    out = fresh()
    await exportHuggingFace(src.dir, out)
  })

  it('writes the HF files with exactly the listed names and shapes', async () => {
    expect(fs.readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json'])
    const t = await hfTensors(out)
    const expected = bertNames(2, 32, 128, 300, 16)
    expect([...t.keys()].sort()).toEqual(expected.map(([k]) => k).sort())
    for (const [k, shape] of expected) expect(t.get(k)!.shape, k).toEqual(shape)
    expect((await readSafetensors(path.join(out, 'model.safetensors'))).metadata).toEqual({ format: 'pt' })
  })

  it('transposes the nn.Linear weights: query.weight[o][i] = q.kernel[i][o]', async () => {
    const t = await hfTensors(out)
    const d = 32
    const q = src.weights['layers.1.attn.q.kernel']!.data
    const hq = t.get('bert.encoder.layer.1.attention.self.query.weight')!.data
    for (const [i, o] of [
      [0, 1],
      [3, 17],
      [31, 0],
      [5, 5]
    ] as const)
      expect(hq[o * d + i]).toBe(q[i * d + o])
    const fin = src.weights['layers.0.ffn.in.kernel']!.data // [32, 128]
    const hin = t.get('bert.encoder.layer.0.intermediate.dense.weight')!.data // [128, 32]
    expect(hin[100 * d + 7]).toBe(fin[7 * 128 + 100])
    expect(Array.from(t.get('bert.encoder.layer.0.attention.output.LayerNorm.weight')!.data)).toEqual(Array.from(src.weights['layers.0.ln1.gamma']!.data))
    expect(Array.from(t.get('cls.predictions.decoder.weight')!.data)).toEqual(Array.from(src.weights['embed.token']!.data))
    expect(t.get('bert.embeddings.token_type_embeddings.weight')!.data.every((x) => x === 0)).toBe(true)
  })

  it('writes a config with the model epsilon, activation, sizes and token ids', () => {
    const c = readJson(path.join(out, 'config.json'))
    expect(c).toMatchObject({
      architectures: ['BertForMaskedLM'],
      model_type: 'bert',
      vocab_size: 300,
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 128,
      hidden_act: 'gelu_new',
      layer_norm_eps: 1e-5,
      max_position_embeddings: 16,
      type_vocab_size: 2,
      pad_token_id: tok.specialIds.pad,
      tie_word_embeddings: true
    })
    expect(c.elle).toMatchObject({ format: 'elle-checkpoint', version: 1, state: { step: 7 } })
    expect(readJson(path.join(out, 'special_tokens_map.json'))).toMatchObject({
      cls_token: '<cls>',
      mask_token: '<mask>',
      additional_special_tokens: ['<p0>', '<p1>', '<p2>', '<p3>']
    })
    expect(readJson(path.join(out, 'tokenizer_config.json'))).toMatchObject({ tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: 16 })
  })

  it('the exported tokenizer wraps text in <cls> ... <sep>, as BERT blocks are in training', async () => {
    const { Tokenizer } = await import('../../../src/main/engine/data/tokenizer')
    const hfTok = Tokenizer.fromJSON(fs.readFileSync(path.join(out, 'tokenizer.json'), 'utf8'))
    const [enc] = await hfTok.nativeTokenizer().encodeBatch(['<p1> the quick fox'], { addSpecialTokens: true })
    const ids = enc!.getIds()
    expect(ids[0]).toBe(tok.specialIds.cls)
    expect(ids[1]).toBe(tok.promptId(1))
    expect(ids[ids.length - 1]).toBe(tok.specialIds.sep)
    expect(ids.slice(2, -1)).toEqual(Array.from(tok.encode(' the quick fox')))
  })

  it('export -> import gives the same weights, tokenizer, state and logits', async () => {
    const back = fresh()
    const result = await importHuggingFace(out, back)
    expect(result.architecture).toBe('BertForMaskedLM')
    const loaded = await loadCheckpoint(back)
    expect(loaded.config).toEqual(cfg)
    expectSameWeights(loaded.weights, src.weights)
    expect(loaded.optimizerState).toBeNull()
    expect(loaded.tokenizer.json).toBe(tok.json) // byte-identical: the export's post-processor is removed again
    expect(loaded.state).toEqual(checkpointInput(cfg, tok).state)
    expect(loaded.experiment).toEqual({ name: 'tiny', seed: 1 })
    expect(logitsOf(loaded.config, loaded.weights, IDS)).toEqual(logitsOf(cfg, src.weights, IDS))
  })

  it('import folds a non-zero segment-0 embedding into the position embeddings', async () => {
    const edited = fresh()
    fs.cpSync(out, edited, { recursive: true })
    const t = await hfTensors(edited)
    const tt = t.get('bert.embeddings.token_type_embeddings.weight')!
    tt.data.fill(0.5)
    await writeSafetensors(path.join(edited, 'model.safetensors'), t as Map<string, TensorInput>, { format: 'pt' })
    const back = fresh()
    await importHuggingFace(edited, back)
    const pos = (await loadCheckpoint(back)).weights['embed.position']!.data
    const orig = src.weights['embed.position']!.data
    expect(pos[37]).toBeCloseTo(orig[37]! + 0.5, 6)
  })
})

describe('exportHuggingFace: GPT as GPT2LMHeadModel', () => {
  let src: { dir: string; weights: Weights }
  let out: string
  const cfg = tinyConfig('gpt', { ffn: 96 })
  beforeAll(async () => {
    src = await checkpoint(cfg)
    out = fresh()
    await exportHuggingFace(src.dir, out)
  })

  it('writes exactly the listed names and shapes, Conv1D weights not transposed', async () => {
    const t = await hfTensors(out)
    const expected = gptNames(2, 32, 96, 300, 16)
    expect([...t.keys()].sort()).toEqual(expected.map(([k]) => k).sort())
    for (const [k, shape] of expected) expect(t.get(k)!.shape, k).toEqual(shape)
    expect(Array.from(t.get('transformer.h.1.mlp.c_fc.weight')!.data)).toEqual(Array.from(src.weights['layers.1.ffn.in.kernel']!.data))
    expect(Array.from(t.get('lm_head.weight')!.data)).toEqual(Array.from(src.weights['embed.token']!.data))
  })

  it('c_attn holds q, k, v concatenated along the output axis', async () => {
    const t = await hfTensors(out)
    const d = 32
    const w = t.get('transformer.h.0.attn.c_attn.weight')!.data // [d, 3d]
    const b = t.get('transformer.h.0.attn.c_attn.bias')!.data
    for (const [j, m] of ['q', 'k', 'v'].entries()) {
      const kern = src.weights[`layers.0.attn.${m}.kernel`]!.data
      const bias = src.weights[`layers.0.attn.${m}.bias`]!.data
      for (const [i, o] of [
        [0, 0],
        [4, 9],
        [31, 30]
      ] as const)
        expect(w[i * 3 * d + j * d + o]).toBe(kern[i * d + o])
      expect(b[j * d + 5]).toBe(bias[5])
    }
  })

  it('writes a GPT-2 config', () => {
    expect(readJson(path.join(out, 'config.json'))).toMatchObject({
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      n_embd: 32,
      n_layer: 2,
      n_head: 2,
      n_inner: 96,
      n_positions: 16,
      vocab_size: 300,
      activation_function: 'gelu_new',
      layer_norm_epsilon: 1e-5,
      bos_token_id: tok.specialIds.bos,
      eos_token_id: tok.specialIds.eos
    })
    // GPT blocks have no template: the tokenizer file is the checkpoint's own.
    expect(fs.readFileSync(path.join(out, 'tokenizer.json'), 'utf8')).toBe(tok.json)
  })

  it('export -> import gives the same weights and logits', async () => {
    const back = fresh()
    await importHuggingFace(out, back)
    const loaded = await loadCheckpoint(back)
    expect(loaded.config).toEqual(cfg)
    expectSameWeights(loaded.weights, src.weights)
    expect(logitsOf(loaded.config, loaded.weights, IDS)).toEqual(logitsOf(cfg, src.weights, IDS))
  })
})

// An independent reference: the HF classes' forward written out in plain torch, reading our files. Skipped
// without torch, except where ELLE_REQUIRE_TORCH=1 (.ci/run installs Debian's python3-torch and sets it).
const torchOk = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { timeout: 30_000 }).status === 0
describe.skipIf(!torchOk && process.env.ELLE_REQUIRE_TORCH !== '1')('torch reference forward of the exported files (python3 + torch)', () => {
  for (const kind of ['bert', 'gpt'] as const) {
    it(`${kind}: HF-style logits equal the workbench's`, async () => {
      if (!torchOk) throw new Error('/usr/bin/python3 cannot import torch: apt-get install -y python3-torch libopenblas0-pthread (or unset ELLE_REQUIRE_TORCH to skip this check)')
      const cfg = tinyConfig(kind)
      const src = await checkpoint(cfg)
      const out = fresh()
      await exportHuggingFace(src.dir, out)
      const idsFile = path.join(root, `ids-${kind}.json`)
      fs.writeFileSync(idsFile, JSON.stringify(IDS))
      const r = spawnSync('/usr/bin/python3', [path.resolve('test/engine/export/hf_reference.py'), out, idsFile], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 })
      expect(r.status, r.stderr).toBe(0)
      const ref = JSON.parse(r.stdout).logits as number[][][]
      const ours = logitsOf(cfg, src.weights, IDS)
      // float32 noise is ~1e-6; the erf GELU instead of the tanh one would differ by ~5e-4 here
      expect(maxDiff(ref, ours)).toBeLessThan(2e-5)
    })
  }
})

describe('refusals', () => {
  it('refuses a pre-LN BERT and a post-LN GPT, writing nothing', async () => {
    for (const [kind, norm] of [
      ['bert', 'pre'],
      ['gpt', 'post']
    ] as const) {
      const { dir } = await checkpoint(tinyConfig(kind, { norm }))
      const out = fresh()
      const err = await exportHuggingFace(dir, out).catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'UNSUPPORTED', field: 'model.norm' })
      expect((err as Error).message).toMatch(kind === 'bert' ? /BertForMaskedLM has post-LN blocks only/ : /GPT2LMHeadModel has pre-LN blocks only/)
      expect(fs.existsSync(out)).toBe(false)
    }
  })

  it('refuses a non-empty output directory unless asked to replace an earlier export', async () => {
    const { dir } = await checkpoint(tinyConfig('gpt'))
    const out = fresh()
    fs.mkdirSync(out)
    fs.writeFileSync(path.join(out, 'keep.txt'), 'x')
    await expect(exportHuggingFace(dir, out)).rejects.toMatchObject({ code: 'NOT_REPLACEABLE' })
    await expect(exportHuggingFace(dir, out, { overwrite: true })).rejects.toThrow(/does not hold a Hugging Face model/)
    expect(fs.readdirSync(out)).toEqual(['keep.txt'])
    const ok = fresh()
    await exportHuggingFace(dir, ok)
    await expect(exportHuggingFace(dir, ok)).rejects.toThrow(/not empty \(overwrite it with --force\)/)
    await exportHuggingFace(dir, ok, { overwrite: true })
  })

  describe('import refuses what the model cannot compute, naming the field or tensor', () => {
    let hf: string
    beforeAll(async () => {
      const { dir } = await checkpoint(tinyConfig('gpt'))
      hf = fresh()
      await exportHuggingFace(dir, hf)
    })
    const variant = (edit: (dir: string) => void): string => {
      const d = fresh()
      fs.cpSync(hf, d, { recursive: true })
      edit(d)
      return d
    }
    const editConfig =
      (f: (c: Record<string, any>) => void) =>
      (d: string): void => {
        const c = readJson(path.join(d, 'config.json'))
        f(c)
        fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(c))
      }
    const cases: Array<[string, (d: string) => void, RegExp]> = [
      ['the erf GELU', editConfig((c) => (c.activation_function = 'gelu')), /activation_function is "gelu"; the workbench's model uses the tanh GELU/],
      ['another LayerNorm epsilon', editConfig((c) => (c.layer_norm_epsilon = 1e-12)), /layer_norm_epsilon is 1e-12; the workbench's LayerNorm uses 0\.00001/],
      ['another architecture', editConfig((c) => (c.architectures = ['LlamaForCausalLM'])), /architectures is \["LlamaForCausalLM"\]; only BertForMaskedLM and GPT2LMHeadModel/],
      ['a missing tokenizer', (d) => fs.rmSync(path.join(d, 'tokenizer.json')), /missing tokenizer\.json/],
      ['a wrong shape', editConfig((c) => (c.n_inner = 64)), /tensor "transformer\.h\.0\.mlp\.c_fc\.weight" has shape \[32, 128\] but config\.json needs \[32, 64\]/]
    ]
    for (const [what, edit, message] of cases) {
      it(what, async () => {
        const d = variant(edit)
        const before = snapshot(d)
        const out = fresh()
        await expect(importHuggingFace(d, out)).rejects.toThrow(message)
        expect(snapshot(d)).toEqual(before)
        expect(fs.existsSync(out)).toBe(false)
      })
    }

    it('an untied output layer or an unknown tensor', async () => {
      for (const [name, change] of [
        ['lm_head.weight', (t: Map<string, { shape: number[]; data: Float32Array }>) => t.get('lm_head.weight')!.data.set([0.5], 3)],
        [
          'transformer.h.0.attn.rotary.weight',
          (t: Map<string, { shape: number[]; data: Float32Array }>) => t.set('transformer.h.0.attn.rotary.weight', { shape: [1], data: new Float32Array(1) })
        ]
      ] as const) {
        const d = fresh()
        fs.cpSync(hf, d, { recursive: true })
        const t = await hfTensors(d)
        change(t)
        await writeSafetensors(path.join(d, 'model.safetensors'), t as Map<string, TensorInput>, { format: 'pt' })
        await expect(importHuggingFace(d, fresh())).rejects.toMatchObject({ code: 'UNSUPPORTED', field: name })
      }
    })
  })
})

describe('elle export / elle import commands', () => {
  const logs: string[] = []
  const orig = console.log
  beforeAll(() => {
    console.log = (...a: unknown[]) => void logs.push(a.join(' '))
  })
  afterAll(() => {
    console.log = orig
  })
  const run = async (cmd: typeof exportCommand, argv: string[]): Promise<number> => cmd.run(parseCommandArgs(cmd, argv)) // async: a usage error from parsing rejects too

  it('export and import a checkpoint, printing one line each', async () => {
    const { dir, weights } = await checkpoint(tinyConfig('bert'))
    const out = fresh()
    expect(await run(exportCommand, [dir, '--format', 'hf', '--out', out])).toBe(0)
    expect(logs.pop()).toMatch(new RegExp(`^exported BertForMaskedLM to ${out} \\(5 files, .*; checkpoint sha256 [0-9a-f]{12}\\)$`))
    const back = fresh()
    expect(await run(importCommand, [out, '-o', back, '--json'])).toBe(0)
    expect(JSON.parse(logs.pop()!)).toMatchObject({ architecture: 'BertForMaskedLM', path: back })
    expectSameWeights((await loadCheckpoint(back)).weights, weights)
    expect(await run(importCommand, [out, '--out', back, '--force'])).toBe(0)
    expect(logs.pop()).toMatch(/^imported BertForMaskedLM \(2 layers, hidden 32, vocab 300\) into .*no optimizer state\)$/)
  })

  it('bad flags are usage errors with one line', async () => {
    await expect(run(exportCommand, ['--out', 'x'])).rejects.toThrow(new UsageError('missing CHECKPOINT (a checkpoint directory)'))
    await expect(run(exportCommand, ['ck', '--format', 'onnx', '--out', 'x'])).rejects.toThrow('--format must be one of hf, got "onnx"')
    await expect(run(exportCommand, ['ck'])).rejects.toThrow('--out DIR is required')
    await expect(run(exportCommand, ['a', 'b', '--out', 'x'])).rejects.toBeInstanceOf(UsageError)
    await expect(run(importCommand, [])).rejects.toThrow('missing HF_DIR')
    await expect(run(importCommand, ['x'])).rejects.toThrow('--out DIR is required')
    expect(() => parseCommandArgs(importCommand, ['x', '--format', 'hf'])).toThrow(UsageError)
  })

  it('errors from the engine name the file', async () => {
    const missing = path.join(root, 'no-such-checkpoint')
    await expect(run(exportCommand, [missing, '--out', fresh()])).rejects.toThrow(`checkpointPath: no checkpoint folder at ${missing}`)
  })

  it('has help text', () => {
    expect(helpText(exportCommand)).toMatch(/usage: elle export CHECKPOINT --out DIR \[--format hf\]/)
    expect(helpText(exportCommand)).toMatch(/--format VALUE .*\(default: hf\)/)
    expect(helpText(importCommand)).toMatch(/usage: elle import HF_DIR --out DIR/)
  })
})
