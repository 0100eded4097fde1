/** The view an address that names none shows (its own module: early.ts reads it without the app's stores). */
export const DEFAULT_VIEW = 'runs' as const
