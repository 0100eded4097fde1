// The grow job's function-preservation check: logits before vs after on a fixed batch, stored in its result.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { saveCheckpoint } from '../../../src/main/engine/checkpoint/checkpoint'
import { growCheckpoint } from '../../../src/main/engine/jobs/bodies'
import { useBackend } from '../../../src/main/engine/model/backend'
import { GrowResult } from '../../../src/shared/jobs'
import { tempDir } from '../../helpers/tmp'
import { checkpointInput, tinyConfig, tinyTokenizer } from '../checkpoint/helpers'

const dir = tempDir('elle-preserve-')
const source = path.join(dir, 'source')

beforeAll(async () => {
  await useBackend('wasm')
  await saveCheckpoint(source, checkpointInput(tinyConfig('gpt'), await tinyTokenizer()))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe('grow result: function-preservation check', () => {
  it('exact growth agrees to rounding; elle growth with noise moves the logits; both stored as structure', async () => {
    const exact = GrowResult.parse(await growCheckpoint({ checkpoint: source, outDir: path.join(dir, 'exact'), mode: 'exact', addLayers: 1, addHeads: 1 }))
    const a = exact.agreement!
    expect(a.batch).toEqual({ source: 'random-tokens', sequences: 4, length: 16, seed: 0 })
    expect(a.maxAbsLogit).toBeGreaterThan(0)
    expect(a.maxAbsDiff).toBeLessThan(1e-4 * a.maxAbsLogit)
    expect(a.argmaxAgreement).toBe(1)
    expect(a.kl).toBeLessThan(1e-6)

    const elle = GrowResult.parse(
      await growCheckpoint({ checkpoint: source, outDir: path.join(dir, 'elle'), mode: 'elle', addLayers: 1, addHeads: 1, noise: 0.5, globalNoise: true, seed: 3 })
    )
    expect(elle.agreement!.maxAbsDiff).toBeGreaterThan(1e-3)
    expect(elle.agreement!.kl).toBeGreaterThan(0)
  })
})
