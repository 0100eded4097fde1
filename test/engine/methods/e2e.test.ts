// Every method as the run config selects it: a 2-stage tiny run on BERT and GPT, end to end, with the
// tensor count flat across updates (no leaks from penalties, projections, teachers or columns).
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { METHOD_NAMES } from '../../../src/main/engine/training/config'
import type { RunData } from '../../../src/main/engine/training/data'
import { makeRunData, useBackend } from '../training/fixtures'
import { methodConfig, runMethod } from './helpers'

let data: RunData
beforeAll(async () => {
  await useBackend('wasm')
  data = await makeRunData()
})

describe('every method runs a two-stage run', () => {
  for (const kind of ['gpt', 'bert'] as const) {
    for (const name of METHOD_NAMES) {
      it(`${kind} ${name}`, async () => {
        const before = tf.memory().numTensors
        const config = methodConfig(kind, { name })
        const run = await runMethod(data, config)
        const { steps, tensorsAt, validations } = run.recorder
        expect(steps).toHaveLength(24)
        expect(steps.every((s) => Number.isFinite(s.loss) && Number.isFinite(s.penalty))).toBe(true)
        // flat within the second stage, where every method is active
        expect(tensorsAt.get(24)).toBe(tensorsAt.get(14))
        const last = validations.at(-1)!
        expect(last.domains.map((d) => d.domain).sort()).toEqual(['alpha', 'beta'])
        expect(last.domains.every((d) => Number.isFinite(d.ppl))).toBe(true)
        run.close()
        expect(tf.memory().numTensors).toBe(before)
      })
    }
  }
})
