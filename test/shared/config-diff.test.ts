// Config diff of selected runs: identical fields hidden, absent fields differ, arrays by index.
import { describe, expect, it } from 'vitest'
import { configDiff, flattenConfig } from '../../src/shared/config-diff'

describe('flattenConfig', () => {
  it('gives every leaf as a dotted path, arrays by index', () => {
    expect(flattenConfig({ model: { kind: 'gpt', layers: 2 }, stages: [{ domain: 'a' }, { domain: 'b', grow: { layers: 1 } }], method: {}, x: null })).toEqual({
      'model.kind': 'gpt',
      'model.layers': 2,
      'stages.0.domain': 'a',
      'stages.1.domain': 'b',
      'stages.1.grow.layers': 1,
      method: '{}',
      x: null
    })
  })
})

describe('configDiff', () => {
  it('hides identical fields and lists the differing ones with each run’s value', () => {
    const a = { model: { kind: 'gpt', layers: 2 }, training: { lr: 0.001, seed: 0 }, stages: [{ domain: 'a' }] }
    const b = { model: { kind: 'gpt', layers: 2 }, training: { lr: 0.002, seed: 1 }, stages: [{ domain: 'a' }, { domain: 'b' }] }
    const c = { model: { kind: 'gpt', layers: 2 }, training: { lr: 0.001, seed: 2 }, stages: [{ domain: 'a' }] }
    expect(configDiff([a, b, c])).toEqual([
      { field: 'stages.1.domain', values: [undefined, 'b', undefined] },
      { field: 'training.lr', values: [0.001, 0.002, 0.001] },
      { field: 'training.seed', values: [0, 1, 2] }
    ])
    expect(configDiff([a, structuredClone(a)])).toEqual([])
    expect(configDiff([])).toEqual([])
  })

  it('orders stages numerically and tells a number from the same text', () => {
    const stages = (n: number, v: unknown) => ({ stages: Array.from({ length: 12 }, (_, i) => ({ steps: i === n ? v : 1 })) })
    expect(configDiff([stages(10, 2), stages(2, 2)]).map((d) => d.field)).toEqual(['stages.2.steps', 'stages.10.steps'])
    expect(configDiff([{ a: 1 }, { a: '1' }])).toEqual([{ field: 'a', values: [1, '1'] }])
  })
})
