#!/usr/bin/env node
// The `elle` command: runs the bundled CLI (built by `npm install`/`npm run build` into out/).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../out/main/cli.js', import.meta.url))
if (!existsSync(cli)) {
  console.error('elle: the workbench is not built yet (out/main/cli.js is missing); run "npm run build" in its folder')
  process.exit(1)
}
await import(cli)
