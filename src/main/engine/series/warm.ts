// After an overview was answered from the slice summaries, the full series it stands for are read into the
// store's series cache in the background, one series per turn of the event loop: the next redraw (smoothing
// toggled on, a zoom) finds them in memory instead of reading 10 million points, and requests that arrive in the
// meantime wait for one series' read at most.
import type { XAxisKind } from '../../../shared/charts/types'

export type WarmRead = (runId: number, name: string, x: XAxisKind) => unknown

export class SeriesWarmer {
  private queue: Array<[number, string, XAxisKind]> = []
  private timer: NodeJS.Immediate | null = null

  constructor(private readonly read: WarmRead) {}

  /** Warm these series (replacing what was still waiting: the newest overview is what the user looks at). */
  warm(series: ReadonlyArray<[number, string, XAxisKind]>): void {
    this.queue = [...series]
    if (this.timer === null && this.queue.length > 0) this.timer = setImmediate(() => this.step())
  }

  private step(): void {
    this.timer = null
    const next = this.queue.shift()
    if (!next) return
    try {
      this.read(...next)
    } catch {
      // derived data only: a series that cannot be read now is read when it is asked for
    }
    if (this.queue.length > 0) this.timer = setImmediate(() => this.step())
  }

  /** Nothing more is read (the store is closing). */
  stop(): void {
    this.queue = []
    if (this.timer !== null) clearImmediate(this.timer)
    this.timer = null
  }
}
