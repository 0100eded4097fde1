// Charts are made one per task, and not while the view holds them: the comparison of 100 runs makes its charts in
// one layout's ResizeObserver callback, which took the page's one thread for half a second; a smoothing toggled
// meanwhile waited for all of them before its click was handled, and its curves' redraw after them again. One chart
// per task lets the click in between, and the Compare view holds the rest while its curves are being asked again.

type Hold = () => Promise<void>

let hold: Hold | null = null
const queue: Array<() => void> = []
let running = false

/** While set, each chart waiting to be made first awaits `until()` (the Compare view: its curves are not loading). */
export function holdChartInits(until: Hold | null): void {
  hold = until
}

/** Make a chart in a task of its own, after the charts queued before it; `make` checks that its host still stands. */
export function queueChartInit(make: () => void): void {
  queue.push(make)
  if (!running) void drain()
}

// after the next frame: what was drawn before (the curves' redraw) is painted before the next chart takes the thread
// (a hidden page has no frames: its charts are made when it shows again)
const afterNextFrame = (): Promise<void> =>
  // through globalThis: the node tsconfig (which checks this file for its test) has no DOM types
  new Promise((resolve) => (globalThis as unknown as { requestAnimationFrame(cb: () => void): number }).requestAnimationFrame(() => setTimeout(resolve, 0)))

async function drain(): Promise<void> {
  running = true
  try {
    while (queue.length > 0) {
      await afterNextFrame()
      if (hold) {
        await hold()
        await afterNextFrame()
      }
      queue.shift()!()
    }
  } finally {
    running = false
  }
}
