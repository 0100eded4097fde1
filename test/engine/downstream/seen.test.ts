// Which domains a checkpoint has seen, from its experiment's stages and the loop position in state.json.
import { describe, expect, it } from 'vitest'
import type { JsonObject } from '../../../src/main/engine/checkpoint/json'
import { seenDomains, wrongPromptSlot } from '../../../src/main/engine/downstream'

const experiment: JsonObject = {
  name: 'x',
  model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
  stages: [
    { domain: 'press', steps: 10 },
    { domain: 'hobbies', steps: 10, frwSteps: 4 },
    { domain: 'email', steps: 10 }
  ]
}
// phases: 0 train press, 1 warm-up on press, 2 train hobbies, 3 train email
const at = (stageIndex: number, stepInStage: number, exp: JsonObject = experiment) => seenDomains({ experiment: exp, state: { loop: { stageIndex, stepInStage } } })

describe('seenDomains', () => {
  it('counts a training phase once it has made an update; a warm-up adds nothing new', () => {
    expect(at(0, 0)).toEqual([])
    expect(at(0, 3)).toEqual(['press'])
    expect(at(1, 0)).toEqual(['press']) // end of press (the loop has moved to the next phase)
    expect(at(2, 0)).toEqual(['press']) // after the warm-up on press memory
    expect(at(2, 1)).toEqual(['press', 'hobbies'])
    expect(at(4, 0)).toEqual(['press', 'hobbies', 'email'])
  })

  it('a from-scratch run trains on the whole stream in one phase', () => {
    const scratch: JsonObject = {
      ...experiment,
      method: { name: 'scratch' },
      stages: [
        { domain: 'press', steps: 10 },
        { domain: 'hobbies', steps: 10 }
      ]
    }
    expect(at(0, 1, scratch)).toEqual(['press', 'hobbies'])
  })

  it('reads the stages of an experiment this version cannot parse, and gives null without a stream', () => {
    expect(at(1, 0, { ...experiment, importedFrom: { path: '/x' } })).toEqual(['press'])
    expect(at(1, 0, {})).toBeNull()
    expect(seenDomains({ experiment, state: {} })).toBeNull()
  })
})

describe('wrongPromptSlot', () => {
  const slots: Record<string, number> = { press: 0, hobbies: 2, email: 5 }
  const slotOf = (d: string) => slots[d] ?? null
  it("gives the next stream domain's slot, wrapping around, as pre-training does", () => {
    expect(wrongPromptSlot('press', 0, ['press', 'hobbies', 'email'], slotOf, 16)).toBe(2)
    expect(wrongPromptSlot('email', 5, ['press', 'hobbies', 'email'], slotOf, 16)).toBe(0)
    expect(wrongPromptSlot('press', 0, ['press'], slotOf, 16)).toBe(1)
    expect(wrongPromptSlot('press', 0, null, (d) => ({ press: 0, humanities: 1 })[d] ?? null, 16)).toBe(1)
  })
})
