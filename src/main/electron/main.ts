// Electron's entry point (out/main/electron.js). Startup failures are shown, not swallowed.
import { app, dialog } from 'electron'
import { startElectronApp } from './app'

startElectronApp().catch((error: unknown) => {
  dialog.showErrorBox('ELLE Workbench could not start', error instanceof Error ? error.message : String(error))
  app.exit(1)
})
