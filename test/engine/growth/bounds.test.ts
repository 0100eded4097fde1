// Bounds on growth requests: the grown shape is measured before anything is allocated, so an absurd
// request (`elle grow --add-layers 100000`) is refused at once with the estimate, and a growth larger
// than the memory budget is refused with what it needs and what the machine has.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { parseCommandArgs } from '../../../src/main/cli/args'
import { growCommand } from '../../../src/main/cli/commands/grow'
import { saveCheckpoint } from '../../../src/main/engine/checkpoint/checkpoint'
import { growModel } from '../../../src/main/engine/growth'
import { useBackend } from '../../../src/main/engine/model/backend'
import { budgetOf } from '../../../src/main/engine/resources'
import { checkpointInput, randomWeights, tinyConfig, tinyTokenizer } from '../checkpoint/helpers'
import { tempDir } from '../../helpers/tmp'

const dir = tempDir('elle-grow-bounds-')
const source = path.join(dir, 'source')

beforeAll(async () => {
  await useBackend('wasm')
  await saveCheckpoint(source, checkpointInput(tinyConfig('gpt'), await tinyTokenizer()))
  vi.spyOn(console, 'log').mockImplementation(() => {})
})
afterAll(() => {
  vi.restoreAllMocks()
  fs.rmSync(dir, { recursive: true, force: true })
})

const cfg = tinyConfig('gpt')
const weights = randomWeights(cfg)

describe('growth bounds', () => {
  it('refuses more layers than a model may have, with the estimate', () => {
    // 2 + 200 layers: the old operator built all of them
    expect(() => growModel(cfg, weights, { addLayers: 200, addHeads: 0, mode: 'elle', seed: 1 })).toThrow(
      /^growth: the grown model \(202 layers, 2 heads of 16 = hidden 32, ffn 128\) has [\d.]+ M parameters and needs about [\d.]+ MB to build; a model has at most 96 layers/
    )
  })

  it('refuses 100000 added layers at once, before allocating them', () => {
    const roomy = budgetOf(1e13) // so the layer limit, not this machine's memory, is what refuses it
    expect(() => growModel(cfg, weights, { addLayers: 100_000, addHeads: 0, mode: 'exact', seed: 1, memoryBudget: roomy })).toThrow(
      /100002 layers.*1\.3 B parameters and needs about 10\.2 GB to build; a model has at most 96 layers/
    )
  })

  it('refuses a growth the memory budget cannot hold, naming both', () => {
    const budget = budgetOf(1_000_000) // 1 MB available, 80% of it plannable
    expect(() => growModel(cfg, weights, { addLayers: 1, addHeads: 2, mode: 'elle', seed: 1, memoryBudget: budget })).toThrow(
      /^growth: the grown model \(3 layers, 4 heads of 16 = hidden 64, ffn 256\) has [\d.]+ k parameters and needs about 1\.\d MB to build; this machine has 1\.0 MB available, of which 80% \(800\.0 kB\) may be planned for$/
    )
    // the same growth within a budget goes through
    expect(growModel(cfg, weights, { addLayers: 1, addHeads: 2, mode: 'elle', seed: 1, memoryBudget: budgetOf(1e9) }).config.hidden).toBe(64)
  })

  it('elle grow --add-layers 100000 fails with the engine message and writes nothing', async () => {
    const out = path.join(dir, 'huge')
    await expect(growCommand.run(parseCommandArgs(growCommand, [source, '--out', out, '--mode', 'elle', '--add-layers', '100000']))).rejects.toThrow(
      // this machine's budget decides which refusal comes first; both carry the estimate
      /growth: the grown model \(100002 layers.*1\.3 B parameters and needs about 10\.2 GB to build; (a model has at most 96 layers|this machine has)/
    )
    expect(fs.existsSync(out)).toBe(false)
  })
})
