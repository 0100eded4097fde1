// Queue windows (docs/queue.md): simple daily fields and the cron form, read in a named zone here so the
// test means the same on every machine; refused windows name their field.
import { describe, expect, it } from 'vitest'
import { compileWindow, finishTime, isOpen, nextChange } from '../../../src/main/engine/queue/window'

const t = (s: string): number => Date.parse(s)
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

describe('queue windows', () => {
  // 2026-12-02 is a Wednesday
  const nights = compileWindow({ kind: 'daily', start: '20:00', end: '07:30', days: [1, 2, 3, 4, 5] }, 'UTC')

  it('opens at the start on the listed days and closes the next morning', () => {
    expect(isOpen(nights, t('2026-12-02T19:59:00Z'))).toBe(false)
    expect(iso(nextChange(nights, t('2026-12-02T19:59:00Z')))).toBe('2026-12-02T20:00:00.000Z')
    expect(isOpen(nights, t('2026-12-02T20:00:00Z'))).toBe(true)
    expect(isOpen(nights, t('2026-12-03T07:29:59Z'))).toBe(true)
    expect(iso(nextChange(nights, t('2026-12-03T03:00:00Z')))).toBe('2026-12-03T07:30:00.000Z')
    expect(isOpen(nights, t('2026-12-03T07:30:00Z'))).toBe(false)
    // Friday night runs into Saturday morning; Saturday night is closed, the next start is Monday 20:00
    expect(isOpen(nights, t('2026-12-05T03:00:00Z'))).toBe(true)
    expect(isOpen(nights, t('2026-12-05T22:00:00Z'))).toBe(false)
    expect(iso(nextChange(nights, t('2026-12-05T22:00:00Z')))).toBe('2026-12-07T20:00:00.000Z')
  })

  it('reads the window in the given zone', () => {
    const berlin = compileWindow({ kind: 'daily', start: '20:00', end: '07:30', days: [0, 1, 2, 3, 4, 5, 6] }, 'Europe/Berlin')
    expect(isOpen(berlin, t('2026-12-02T19:30:00Z'))).toBe(true) // 20:30 in Berlin (UTC+1)
    expect(isOpen(berlin, t('2026-12-02T18:30:00Z'))).toBe(false)
  })

  it('the cron form equals the simple fields, and overlapping fires keep it open', () => {
    const cron = compileWindow({ kind: 'cron', cron: '0 20 * * 1-5', minutes: 690 }, 'UTC')
    for (const s of ['2026-12-02T19:59:00Z', '2026-12-02T20:00:00Z', '2026-12-03T07:29:00Z', '2026-12-03T07:30:00Z', '2026-12-06T03:00:00Z'])
      expect(isOpen(cron, t(s)), s).toBe(isOpen(nights, t(s)))
    const hourly = compileWindow({ kind: 'cron', cron: '0 * * * *', minutes: 90 }, 'UTC')
    expect(isOpen(hourly, t('2026-12-02T10:45:00Z'))).toBe(true)
    expect(nextChange(hourly, t('2026-12-02T10:45:00Z'))).toBeNull() // never closes
  })

  it('finds when the work is through, counting closed hours', () => {
    // 12 h of work from Wednesday noon: 11.5 h on Wednesday night, the last half hour on Thursday at 20:30
    expect(iso(finishTime(nights, t('2026-12-02T12:00:00Z'), 12 * 3600))).toBe('2026-12-03T20:30:00.000Z')
    expect(iso(finishTime(null, t('2026-12-02T12:00:00Z'), 60))).toBe('2026-12-02T12:01:00.000Z')
  })

  it('refuses a window that cannot work, naming the field', () => {
    expect(() => compileWindow({ kind: 'daily', start: '10:00', end: '10:00', days: [1] }, null)).toThrow(/^window\.end: .*zero length/)
    expect(() => compileWindow({ kind: 'cron', cron: '0 0 30 2 *', minutes: 10 }, null)).toThrow(/^window\.cron: .*never fires/)
    expect(() => compileWindow({ kind: 'cron', cron: 'bogus', minutes: 10 }, null)).toThrow(/^window\.cron: /)
    expect(() => compileWindow({ kind: 'cron', cron: '0 20 * * *', minutes: 10 }, 'Mars/Olympus')).toThrow(/^timezone: unknown time zone/)
  })
})
