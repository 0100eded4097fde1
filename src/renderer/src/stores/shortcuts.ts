// Global keyboard shortcuts (the table and rules are src/shared/shortcuts.ts): forwards keydown events,
// opens views through the navigation store, toggles the "?" help overlay, and moves focus to the view's content.
import { defineStore } from 'pinia'
import { nextTick, ref } from 'vue'
import { isTypingTarget, resolveShortcut, SHORTCUTS } from '../../../shared/shortcuts'
import { useNavigationStore } from './navigation'

/** The id of the element that holds the current view (the skip link's target). */
export const MAIN_CONTENT_ID = 'main-content'

export function focusMainContent(): void {
  document.getElementById(MAIN_CONTENT_ID)?.focus()
}

export const useShortcutsStore = defineStore('shortcuts', () => {
  const navigation = useNavigationStore()
  const helpOpen = ref(false)
  let pending: 'g' | null = null

  function onKeydown(event: KeyboardEvent): void {
    if (event.defaultPrevented || event.repeat) return
    const { action, pending: next } = resolveShortcut(event, { pending, typing: isTypingTarget(event.target as HTMLElement | null) })
    pending = next
    if (!action) return
    if (action.kind === 'close') {
      if (!helpOpen.value) return // Escape belongs to whatever else uses it
      helpOpen.value = false
    } else if (action.kind === 'help') {
      helpOpen.value = !helpOpen.value
    } else {
      helpOpen.value = false
      navigation.go(action.view)
      // after the route renders, keyboard users continue in the view they opened
      void nextTick(() => setTimeout(focusMainContent, 0))
    }
    event.preventDefault()
  }

  return { helpOpen, shortcuts: SHORTCUTS, onKeydown }
})
