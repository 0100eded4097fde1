// The workbench's keyboard shortcuts: one table (what the "?" overlay lists and docs/workbench.md describes) and
// the pure function that turns a key press into an action, so the renderer only forwards keydown events and the
// rules (which keys, when a text field swallows them, the "g then letter" sequence) are unit-tested.

/** The views a shortcut can open (the renderer's navigation ids). */
export const SHORTCUT_VIEWS = ['streams', 'schedules', 'runs', 'queue', 'compare'] as const
export type ShortcutView = (typeof SHORTCUT_VIEWS)[number]

export type ShortcutAction = { kind: 'view'; view: ShortcutView } | { kind: 'help' } | { kind: 'close' }

export interface Shortcut {
  /** how the overlay shows the keys, e.g. ["Alt+1", "g s"] */
  keys: readonly string[]
  description: string
  action: ShortcutAction
}

/** The letter after "g" for each view: s(treams), d(esigner: Schedules), r(uns), q(ueue), c(ompare). */
export const GO_LETTERS: Readonly<Record<ShortcutView, string>> = { streams: 's', schedules: 'd', runs: 'r', queue: 'q', compare: 'c' }

const VIEW_LABELS: Readonly<Record<ShortcutView, string>> = {
  streams: 'Streams: domains and streams',
  schedules: 'Schedules: the experiment designer',
  runs: 'Runs: training runs and their curves',
  queue: 'Queue: the run queue, its order, time window and ETA',
  compare: 'Compare: ELLE against the baselines'
}

export const SHORTCUTS: readonly Shortcut[] = [
  ...SHORTCUT_VIEWS.map((view, i): Shortcut => ({ keys: [`Alt+${i + 1}`, `g ${GO_LETTERS[view]}`], description: `Go to ${VIEW_LABELS[view]}`, action: { kind: 'view', view } })),
  { keys: ['?'], description: 'Show or hide this list of shortcuts', action: { kind: 'help' } },
  { keys: ['Esc'], description: 'Close this list', action: { kind: 'close' } }
]

/** What of a keydown event the rules read (a KeyboardEvent has all of it). */
export interface KeyPress {
  key: string
  /** the physical key (`Digit1`): Alt+1 types "¡" on a Mac keyboard, so digits are read from the code */
  code: string
  altKey: boolean
  ctrlKey: boolean
  metaKey: boolean
  shiftKey?: boolean
}

export interface ShortcutState {
  /** "g" was pressed and the next letter picks a view */
  pending: 'g' | null
  /** focus is in a text field, select or editable element: plain letters and "?" belong to it */
  typing: boolean
}

/** The action a key press triggers (or null), and the sequence state after it. */
export function resolveShortcut(press: KeyPress, state: ShortcutState): { action: ShortcutAction | null; pending: 'g' | null } {
  if (press.ctrlKey || press.metaKey) return { action: null, pending: null }
  if (press.altKey) {
    const digit = /^Digit([1-9])$/.exec(press.code)?.[1]
    const view = digit ? SHORTCUT_VIEWS[Number(digit) - 1] : undefined
    return { action: view ? { kind: 'view', view } : null, pending: null }
  }
  if (press.key === 'Escape') return { action: { kind: 'close' }, pending: null }
  if (state.typing) return { action: null, pending: null }
  if (state.pending === 'g') {
    const view = SHORTCUT_VIEWS.find((v) => GO_LETTERS[v] === press.key.toLowerCase())
    return { action: view ? { kind: 'view', view } : null, pending: null }
  }
  if (press.key === '?') return { action: { kind: 'help' }, pending: null }
  if (press.key === 'g') return { action: null, pending: 'g' }
  return { action: null, pending: null }
}

/** Whether an element takes typed text (so plain-letter shortcuts leave it alone). */
export function isTypingTarget(target: { tagName?: string; isContentEditable?: boolean; type?: string } | null): boolean {
  if (!target?.tagName) return false
  if (target.isContentEditable) return true
  const tag = target.tagName.toUpperCase()
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true
  if (tag !== 'INPUT') return false
  return !['checkbox', 'radio', 'button', 'submit', 'reset', 'file', 'range', 'color'].includes((target.type ?? 'text').toLowerCase())
}
