// The renderer's chart queue (components/charts/init-queue.ts): charts are made one per frame and task, and none
// while the view holds them (the Compare view, while its curves are asked again). Frames are faked with a timer.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { holdChartInits, queueChartInit } from '../../src/renderer/src/components/charts/init-queue'

const g = globalThis as unknown as { requestAnimationFrame?: (cb: () => void) => number }
const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5))
const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await turn()
}

beforeEach(() => {
  g.requestAnimationFrame = (cb) => setTimeout(cb, 1) as unknown as number
})
afterEach(() => {
  holdChartInits(null)
  delete g.requestAnimationFrame
})

describe('chart init queue', () => {
  it('makes the queued charts in order, each in a task of its own, none in the task that queued them', async () => {
    const made: number[] = []
    // set by a chart, cleared when its task ends (microtasks run before the next task): a chart that finds it set
    // was made in the same task as the one before
    let busy = false
    let shared = 0
    for (let i = 0; i < 4; i++)
      queueChartInit(() => {
        if (busy) shared++
        busy = true
        queueMicrotask(() => (busy = false))
        made.push(i)
      })
    expect(made).toEqual([])
    await turns(20)
    expect(made).toEqual([0, 1, 2, 3])
    expect(shared).toBe(0)
  })

  it('makes none while held, and goes on when the hold lets go', async () => {
    let release = (): void => undefined
    const held = new Promise<void>((resolve) => (release = resolve))
    holdChartInits(() => held)
    const made: string[] = []
    queueChartInit(() => made.push('a'))
    queueChartInit(() => made.push('b'))
    await turns(10)
    expect(made).toEqual([])
    release()
    holdChartInits(null)
    await turns(10)
    expect(made).toEqual(['a', 'b'])
  })
})
