// The Queue view's derivations (src/shared/queue-view.ts): durations, windows as fields, the notify command,
// keyboard moves, sweep values, budgets and the morning summary.
import { describe, expect, it } from 'vitest'
import type { RunSummary } from '../../src/shared/contract'
import {
  entryChanges,
  entryFields,
  stopAtChange,
  budgetFromFields,
  defaultSince,
  describeWindow,
  formatCommand,
  formatDuration,
  formatLocalTime,
  formToWindow,
  keyMove,
  morningSummary,
  parseCommand,
  parseSeeds,
  parseValues,
  reorder,
  sweepSize,
  toLocalInput,
  windowToForm
} from '../../src/shared/queue-view'

describe('queue view derivations', () => {
  it('says durations and local finish times as people read them', () => {
    expect(formatDuration(42)).toBe('42 s')
    expect(formatDuration(12 * 60)).toBe('12 min')
    expect(formatDuration(2 * 3600 + 5 * 60)).toBe('2 h 05 min')
    expect(formatDuration(27 * 3600)).toBe('1 d 3 h')
    const now = new Date(2026, 11, 2, 21, 0)
    expect(formatLocalTime(new Date(2026, 11, 2, 23, 40).toISOString(), now, 'en-GB')).toBe('today 23:40')
    expect(formatLocalTime(new Date(2026, 11, 3, 7, 12).toISOString(), now, 'en-GB')).toBe('tomorrow 07:12')
    expect(formatLocalTime(new Date(2026, 11, 5, 7, 12).toISOString(), now, 'en-GB')).toMatch(/^Sat 5 Dec 07:12$/)
  })

  it('edits the time window as simple fields or cron, both ways', () => {
    const daily = { kind: 'daily' as const, start: '20:00', end: '07:30', days: [5, 1, 2, 3, 4] }
    const form = windowToForm(daily)
    expect(form).toMatchObject({ mode: 'daily', start: '20:00', end: '07:30', days: [1, 2, 3, 4, 5] })
    expect(formToWindow(form)).toEqual({ kind: 'daily', start: '20:00', end: '07:30', days: [1, 2, 3, 4, 5] })
    expect(formToWindow({ ...form, mode: 'cron', cron: ' 0 20 * * 1-5 ', minutes: 690 })).toEqual({ kind: 'cron', cron: '0 20 * * 1-5', minutes: 690 })
    expect(formToWindow({ ...form, mode: 'always' })).toBeNull()
    expect(describeWindow(daily)).toBe('20:00–07:30 (next day), starting Mon–Fri')
    expect(describeWindow({ kind: 'daily', start: '09:00', end: '17:00', days: [0, 6] })).toBe('09:00–17:00, starting Sun, Sat')
    expect(describeWindow({ kind: 'cron', cron: '0 20 * * 1-5', minutes: 690 })).toBe('cron 0 20 * * 1-5 for 11 h 30 min')
  })

  it('reads the notify command as arguments (quotes group, no shell)', () => {
    expect(parseCommand('  ')).toBeNull()
    expect(parseCommand(`mail -s 'ELLE run' me@example.org`)).toEqual(['mail', '-s', 'ELLE run', 'me@example.org'])
    expect(parseCommand('notify ""')).toEqual(['notify', ''])
    expect(() => parseCommand(`say "unclosed`)).toThrow(/unclosed/)
    const argv = ['mail', '-s', 'ELLE run', '']
    expect(parseCommand(formatCommand(argv))).toEqual(argv)
  })

  it('moves a row by keyboard and shows the new order before the engine answers', () => {
    expect(keyMove({ key: 'ArrowUp', altKey: true }, 2, 3)).toBe(1)
    expect(keyMove({ key: 'ArrowUp', altKey: true }, 0, 3)).toBeNull()
    expect(keyMove({ key: 'ArrowDown', altKey: true }, 2, 3)).toBeNull()
    expect(keyMove({ key: 'Home', altKey: true }, 2, 3)).toBe('top')
    expect(keyMove({ key: 'End', altKey: true }, 0, 3)).toBe('bottom')
    expect(keyMove({ key: 'ArrowUp', altKey: false }, 2, 3)).toBeNull()
    const rows = [1, 2, 3, 4].map((runId) => ({ runId }))
    expect(reorder(rows, 3, 0).map((r) => r.runId)).toEqual([3, 1, 2, 4])
    expect(reorder(rows, 1, 'bottom').map((r) => r.runId)).toEqual([2, 3, 4, 1])
    expect(reorder(rows, 4, 'top').map((r) => r.runId)).toEqual([4, 1, 2, 3])
    expect(reorder(rows, 2, 2).map((r) => r.runId)).toEqual([1, 3, 2, 4])
  })

  it('reads sweep seeds and values, and counts the runs', () => {
    expect(parseSeeds('1, 2 3')).toEqual([1, 2, 3])
    expect(parseSeeds('0-2,5')).toEqual([0, 1, 2, 5])
    expect(() => parseSeeds('1, x')).toThrow('seeds: "x" is not a whole number')
    expect(parseValues('0.1, 1,10, true, adam')).toEqual([0.1, 1, 10, true, 'adam'])
    expect(sweepSize(7, 3, [])).toBe(21)
    expect(sweepSize(2, 3, [3, 2])).toBe(36)
  })

  it('turns budget fields into a budget, naming the field it refuses', () => {
    expect(budgetFromFields('', '')).toBeNull()
    expect(budgetFromFields('2.5', '')).toEqual({ hours: 2.5 })
    const b = budgetFromFields('', '2026-12-03T07:00')!
    expect(new Date(b.until!).getTime()).toBe(new Date(2026, 11, 3, 7, 0).getTime())
    expect(b.until).toMatch(/^2026-12-03T07:00:00[+-]\d\d:\d\d$/)
    expect(() => budgetFromFields('0', '')).toThrow(/^budget.hours/)
  })

  it('summarises what ran since yesterday 18:00: finished, failed with the first error line, still running, by group', () => {
    const since = defaultSince(new Date(2026, 11, 3, 8, 30))
    expect(toLocalInput(since)).toBe('2026-12-02T18:00')
    const at = (h: number, day = 2) => new Date(2026, 11, day, h).toISOString()
    const run = (id: number, status: RunSummary['status'], startedAt: string | null, endedAt: string | null, error: string | null = null): RunSummary => ({
      id,
      experimentId: 1,
      experimentName: `r${id}`,
      status,
      backend: 'wasm',
      createdAt: at(10),
      startedAt,
      endedAt,
      error,
      streamId: 1
    })
    const runs = [
      run(1, 'finished', at(12), at(13)), // before: not in the summary
      run(2, 'finished', at(20), at(23)),
      run(3, 'failed', at(23), at(2, 3), 'loss is NaN at step 812\n    at train (worker.js:1)'),
      run(4, 'running', at(2, 3), null),
      run(5, 'queued', null, null)
    ]
    const s = morningSummary(
      runs,
      since,
      new Map([
        [2, 'ewc-lambda'],
        [3, 'ewc-lambda'],
        [4, null]
      ])
    )
    expect(s.finished.map((r) => r.id)).toEqual([2])
    expect(s.failed).toEqual([{ run: runs[2], error: 'loss is NaN at step 812' }])
    expect(s.running.map((r) => r.id)).toEqual([4])
    expect(s.groups).toEqual([
      { name: 'ewc-lambda', runIds: [2, 3] },
      { name: null, runIds: [4] }
    ])
  })
})

describe('the queue stop-time field', () => {
  it('sends a change only when it names another moment, clears with an empty field, and refuses nonsense naming the field', () => {
    const local = '2026-12-03T07:00'
    const iso = new Date(local).toISOString()
    expect(stopAtChange(local, iso)).toEqual({}) // the stored moment, written in another form: no change
    expect(stopAtChange('', iso)).toEqual({ stopAt: null })
    expect(stopAtChange('', null)).toEqual({})
    const change = stopAtChange('2026-12-03T08:00', iso)
    expect(Date.parse(change.stopAt!)).toBe(new Date('2026-12-03T08:00').getTime())
    expect(() => stopAtChange('tomorrow-ish', null)).toThrow(/^stopAt: "tomorrow-ish" is not a date and time$/)
  })
})

describe('the queue entry edit form', () => {
  it('reads priority, dependencies, group and budget, numbers as the page hands them over, and names a bad field', () => {
    const fields = entryFields({ priority: 2, after: [12, 14], group: 'night', budget: { hours: 3 } })
    expect(fields).toEqual({ priority: '2', after: '12, 14', group: 'night', hours: '3', until: '' })
    expect(entryChanges({ ...fields, priority: 5, hours: 1.5, after: '#12 14,12' })).toEqual({ priority: 5, after: [12, 14], group: 'night', budget: { hours: 1.5 } })
    expect(entryChanges({ priority: '', after: '', group: '  ', hours: '', until: '' })).toEqual({ priority: 0, after: [], group: null, budget: null })
    expect(() => entryChanges({ ...fields, after: '12, x' })).toThrow(/^after: "x" is not a run id$/)
    expect(() => entryChanges({ ...fields, priority: '1.5' })).toThrow(/^priority: "1.5" is not a whole number$/)
  })
})
