// `elle grow`: loads a checkpoint, grows it, writes the grown checkpoint with the growth state, and
// the load path (applyGrowthState) restores the masks so the grown model computes what the old one did.
import fs from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { parseCommandArgs, UsageError } from '../../../src/main/cli/args'
import { growCommand } from '../../../src/main/cli/commands/grow'
import { loadCheckpoint, saveCheckpoint } from '../../../src/main/engine/checkpoint/checkpoint'
import { applyGrowthState, parseGrowthState } from '../../../src/main/engine/growth'
import { useBackend } from '../../../src/main/engine/model/backend'
import { TransformerModel } from '../../../src/main/engine/model/model'
import { checkpointInput, tinyConfig, tinyTokenizer } from '../checkpoint/helpers'
import { tempDir } from '../../helpers/tmp'
import { logitAgreement, promptBatch } from './helpers'

const dir = tempDir('elle-grow-')
const source = path.join(dir, 'source')
// the grow job is recorded in a store of this test's own (the command runs it as a job, through the contract)
const run = async (...argv: string[]): Promise<number> => growCommand.run(parseCommandArgs(growCommand, [...argv, '--db', path.join(dir, 'jobs.sqlite'), '--backend', 'wasm']))

beforeAll(async () => {
  await useBackend('wasm')
  // 2 -> 3 heads: non-integer width on a post-LN BERT, so masks and gates go into the checkpoint.
  // with a method's state tensor beside the model (plugins.safetensors), which the grown checkpoint keeps with the state
  await saveCheckpoint(source, checkpointInput(tinyConfig('bert'), await tinyTokenizer(), { pluginTensors: { 'replay/x/y': { shape: [2], data: Float32Array.from([1, 2]) } } }))
  vi.spyOn(console, 'log').mockImplementation(() => {})
})
afterAll(() => {
  vi.restoreAllMocks()
  fs.rmSync(dir, { recursive: true, force: true })
})

function logits(model: TransformerModel, ids: tf.Tensor2D): Float32Array {
  const l = model.logits(ids)
  const out = l.dataSync() as Float32Array
  l.dispose()
  return out
}

describe('elle grow', () => {
  it('writes an exact grown checkpoint whose restored masks preserve the logits', async () => {
    const out = path.join(dir, 'exact')
    expect(await run(source, '--out', out, '--mode', 'exact', '--add-layers', '1', '--add-heads', '1', '--ramp-steps', '50')).toBe(0)
    const before = await loadCheckpoint(source, { optimizer: false })
    const after = await loadCheckpoint(out)
    expect(after.config).toMatchObject({ layers: 3, heads: 3, hidden: 48, ffn: 192 })
    expect(after.optimizerState).toBeNull() // dropped by default, as ELLE resets Adam
    expect(after.state.step).toBe(7) // the rest of the run state is kept
    expect(after.pluginTensors).toEqual(before.pluginTensors)
    expect(Object.keys(after.pluginTensors)).toEqual(['replay/x/y'])
    const growth = parseGrowthState(after.state.growth, after.config)
    expect(growth.ramp).toMatchObject({ hiddenFrom: 32, progress: 0, steps: 50 })
    expect(growth.history).toHaveLength(1)

    const ids = promptBatch(before.config)
    const m0 = new TransformerModel(before.config)
    const m1 = new TransformerModel(after.config)
    m0.setWeights(before.weights)
    m1.setWeights(after.weights)
    applyGrowthState(m1, growth)
    expect(logitAgreement(logits(m0, ids), logits(m1, ids), before.config.vocabSize).maxRelErr).toBeLessThan(1e-4)
    tf.dispose(ids)
    m0.dispose()
    m1.dispose()

    // Growing again while the masks still ramp is refused (one line), and --force is needed to replace.
    await expect(run(out, '--out', path.join(dir, 'again'), '--mode', 'exact', '--add-layers', '1')).rejects.toThrow(/still ramping/)
    await expect(run(source, '--out', out, '--mode', 'exact')).rejects.toThrow(UsageError)
  })

  it('elle mode with --optimizer grow carries the moments; depth bookkeeping continues from the saved state', async () => {
    const out = path.join(dir, 'elle')
    expect(await run(source, '--out', out, '--mode', 'elle', '--add-layers', '1', '--add-heads', '2', '--optimizer', 'grow', '--seed', '3')).toBe(0)
    const after = await loadCheckpoint(out)
    expect(after.config).toMatchObject({ layers: 3, heads: 4, hidden: 64 })
    expect(after.optimizerState?.step).toBe(7)
    expect(after.optimizerState?.m['layers.2.ffn.in.kernel']?.shape).toEqual([64, 256])
    const growth = parseGrowthState(after.state.growth, after.config)
    expect(growth.ramp).toBeNull()
    expect(growth.candidates).toHaveLength(1)
    const next = path.join(dir, 'elle2')
    expect(await run(out, '--out', next, '--mode', 'elle', '--add-layers', '1')).toBe(0)
    // Both originals copied once: the round ends and the bookkeeping resets to the 4 current layers.
    expect(parseGrowthState((await loadCheckpoint(next, { optimizer: false })).state.growth)).toMatchObject({ layerIds: [0, 1, 2, 3], candidates: [0, 1, 2, 3] })
  })

  it('rejects bad flags with one-line usage errors', async () => {
    const bad = async (argv: string[], msg: RegExp): Promise<void> => {
      await expect(run(source, ...argv)).rejects.toThrow(msg)
    }
    await bad(['--mode', 'exact'], /--out DIR is required/)
    await bad(['--out', path.join(dir, 'x')], /--mode must be exact or elle, got nothing/)
    await bad(['--out', path.join(dir, 'x'), '--mode', 'exact', '--add-layers=-1'], /--add-layers must be an integer/)
    await bad(['--out', path.join(dir, 'x'), '--mode', 'exact', '--noise', '0.01'], /apply to --mode elle only/)
    await bad(['--out', path.join(dir, 'x'), '--mode', 'elle', '--noise', 'lots'], /--noise must be a non-negative number/)
    await bad(['--out', path.join(dir, 'x'), '--mode', 'elle', '--optimizer', 'keep'], /--optimizer must be drop or grow/)
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false)
  })
})
