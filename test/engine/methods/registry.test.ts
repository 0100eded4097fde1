// The method registry: every method name has an entry, each puts its plugins on the loop in the order the
// update needs (model-shaping first, replay, then the method, gradient projection last), and each plans its
// own phases (joint and scratch are not special cases of the loop).
import { describe, expect, it } from 'vitest'
import { METHODS, methodPlugins, planPhases } from '../../../src/main/engine/methods/registry'
import { METHOD_NAMES, parseRunConfig } from '../../../src/main/engine/training/config'
import { methodConfig } from './helpers'

describe('method registry', () => {
  it('has an entry for every method name the config accepts', () => {
    expect(Object.keys(METHODS).sort()).toEqual([...METHOD_NAMES].sort())
  })

  it('puts each method’s plugins on the loop in order', () => {
    const names = (method: Parameters<typeof methodConfig>[1], replay = 0): string[] =>
      methodPlugins(methodConfig('gpt', method, replay > 0 ? { replay: { ratio: replay, weights: 'uniform' } } : {})).map((p) => p.name)
    expect(names({ name: 'naive' })).toEqual([])
    expect(names({ name: 'er' })).toEqual(['replay'])
    expect(names({ name: 'elle' })).toEqual(['growth', 'replay'])
    expect(names({ name: 'agem' }, 0.5)).toEqual(['replay', 'agem'])
    expect(names({ name: 'ewc' })).toEqual(['ewc'])
    expect(names({ name: 'logit-kd' }, 0.25)).toEqual(['replay', 'logit-kd'])
    expect(names({ name: 'pnn' })).toEqual(['pnn'])
    expect(names({ name: 'joint' })).toEqual(['final-size', 'mixture'])
    expect(names({ name: 'scratch' })).toEqual(['final-size', 'mixture'])
    expect(names({ name: 'rewarm' })).toEqual(['replay', 'rewarm'])
  })

  it('lets each method plan its phases: the stream by stage, joint on every domain seen, scratch in one phase', () => {
    const stages = [
      { domain: 'alpha', steps: 4 },
      { domain: 'beta', steps: 6 },
      { domain: 'gamma', steps: 5 }
    ]
    const phases = (name: 'naive' | 'joint' | 'scratch') =>
      planPhases(parseRunConfig({ name: 'p', model: { kind: 'gpt', layers: 1, heads: 1, headSize: 8 }, method: { name }, stages })).map((p) => [p.domains, p.steps])
    expect(phases('naive')).toEqual([
      [['alpha'], 4],
      [['beta'], 6],
      [['gamma'], 5]
    ])
    expect(phases('joint')).toEqual([
      [['alpha'], 4],
      [['beta', 'alpha'], 6],
      [['gamma', 'alpha', 'beta'], 5]
    ])
    expect(phases('scratch')).toEqual([[['alpha', 'beta', 'gamma'], 15]])
  })
})
