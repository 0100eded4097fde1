// The pure part of the renderer's navigation (src/renderer/src/stores/navigation.ts): how old and new addresses
// are read and which route path a place has. The routes themselves are driven in Chromium (test/e2e/runs-view.test.ts).
import { describe, expect, it } from 'vitest'
import { parseHash, pathOf, targetOfRoute, viewOfRoute } from '../../src/renderer/src/stores/navigation'

describe('navigation addresses', () => {
  it('reads new, old and malformed hashes', () => {
    expect(parseHash('#/schedules/experiment/3')).toEqual({ view: 'schedules', target: { kind: 'experiment', id: 3 } })
    expect(parseHash('#schedules')).toEqual({ view: 'schedules', target: null })
    expect(parseHash('#/runs/run/x')).toEqual({ view: 'runs', target: null })
    expect(parseHash('#/runs/run/0')).toEqual({ view: 'runs', target: null })
    expect(parseHash('')).toEqual({ view: 'runs', target: null })
    expect(parseHash('#/nowhere/run/2')).toEqual({ view: 'runs', target: { kind: 'run', id: 2 } })
  })

  it('gives each place its route path, dropping a target the view has no route for', () => {
    expect(pathOf('streams', { kind: 'stream', id: 2 })).toBe('/streams/stream/2')
    expect(pathOf('schedules', { kind: 'run', id: 7 })).toBe('/schedules/run/7')
    expect(pathOf('runs', { kind: 'run', id: 7 })).toBe('/runs/run/7')
    expect(pathOf('runs', { kind: 'experiment', id: 7 })).toBe('/runs')
    expect(pathOf('compare', { kind: 'run', id: 1 })).toBe('/compare')
  })

  it('reads the view and target of a resolved route', () => {
    expect(viewOfRoute({ meta: {} })).toBe('runs')
    expect(targetOfRoute({ meta: { view: 'runs', kind: 'run' }, params: { id: '4' } })).toEqual({ kind: 'run', id: 4 })
    expect(targetOfRoute({ meta: { view: 'runs' }, params: {} })).toBeNull()
  })
})
