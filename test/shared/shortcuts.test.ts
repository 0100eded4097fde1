import { describe, expect, it } from 'vitest'
import { isTypingTarget, resolveShortcut, SHORTCUTS, SHORTCUT_VIEWS, type KeyPress } from '../../src/shared/shortcuts'

const press = (key: string, extra: Partial<KeyPress> = {}): KeyPress => ({ key, code: '', altKey: false, ctrlKey: false, metaKey: false, ...extra })
const idle = { pending: null, typing: false } as const

describe('keyboard shortcuts', () => {
  it('Alt+1..5 open the views by the physical digit, also while typing', () => {
    SHORTCUT_VIEWS.forEach((view, i) => {
      expect(resolveShortcut(press(String(i + 1), { altKey: true, code: `Digit${i + 1}` }), idle).action).toEqual({ kind: 'view', view })
    })
    expect(resolveShortcut(press('¡', { altKey: true, code: 'Digit1' }), { pending: null, typing: true }).action).toEqual({ kind: 'view', view: 'streams' })
    expect(resolveShortcut(press('6', { altKey: true, code: 'Digit6' }), idle).action).toBeNull()
    expect(resolveShortcut(press('1', { ctrlKey: true, code: 'Digit1' }), idle).action).toBeNull()
  })

  it('g then s, d, r or c opens a view; any other key ends the sequence', () => {
    const first = resolveShortcut(press('g'), idle)
    expect(first).toEqual({ action: null, pending: 'g' })
    expect(resolveShortcut(press('d'), { pending: 'g', typing: false })).toEqual({ action: { kind: 'view', view: 'schedules' }, pending: null })
    expect(resolveShortcut(press('c'), { pending: 'g', typing: false }).action).toEqual({ kind: 'view', view: 'compare' })
    expect(resolveShortcut(press('x'), { pending: 'g', typing: false })).toEqual({ action: null, pending: null })
    expect(resolveShortcut(press('s'), idle).action).toBeNull() // s alone does nothing
  })

  it('"?" toggles the help and Escape closes it; letters typed into a field are left alone', () => {
    expect(resolveShortcut(press('?', { shiftKey: true }), idle).action).toEqual({ kind: 'help' })
    expect(resolveShortcut(press('Escape'), { pending: null, typing: true }).action).toEqual({ kind: 'close' })
    expect(resolveShortcut(press('?'), { pending: null, typing: true }).action).toBeNull()
    expect(resolveShortcut(press('g'), { pending: null, typing: true }).pending).toBeNull()
    expect(isTypingTarget({ tagName: 'INPUT', type: 'number' })).toBe(true)
    expect(isTypingTarget({ tagName: 'input', type: 'checkbox' })).toBe(false)
    expect(isTypingTarget({ tagName: 'TEXTAREA' })).toBe(true)
    expect(isTypingTarget({ tagName: 'DIV', isContentEditable: true })).toBe(true)
    expect(isTypingTarget({ tagName: 'BUTTON' })).toBe(false)
    expect(isTypingTarget(null)).toBe(false)
  })

  it('the table lists every view with both key forms, and each key of it resolves to its action', () => {
    for (const s of SHORTCUTS) {
      for (const keys of s.keys) {
        let state: { pending: 'g' | null; typing: boolean } = { pending: null, typing: false }
        let action = null
        for (const k of keys.split(' ')) {
          const alt = /^Alt\+(\d)$/.exec(k)
          const r = alt ? resolveShortcut(press(alt[1]!, { altKey: true, code: `Digit${alt[1]}` }), state) : resolveShortcut(press(k === 'Esc' ? 'Escape' : k), state)
          state = { pending: r.pending, typing: false }
          action = r.action
        }
        expect(action, keys).toEqual(s.action)
      }
    }
    expect(SHORTCUTS.filter((s) => s.action.kind === 'view')).toHaveLength(SHORTCUT_VIEWS.length)
  })
})
