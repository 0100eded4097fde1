// The layer rules of .dependency-cruiser.cjs bite: in a copy of src/, files that break each rule are added
// and `depcruise` (as `npm run lint:layers` runs it) must name exactly the rule each import breaks.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/tmp'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** injected file -> its imports; each import is followed by the rule it must break */
const injected: Record<string, Array<[string, string]>> = {
  'src/main/engine/zz-layers.ts': [
    ['electron', 'engine-not-electron'],
    ['../transports/http/server', 'engine-not-transports'],
    ['../cli/args', 'engine-not-cli'],
    ['../app-root', 'engine-not-app-root'],
    ['../../renderer/src/stores/system', 'engine-not-renderer'],
    ['../../preload/index', 'engine-not-renderer'],
    ['./zz-cycle', ''], // the cycle is reported once, on its other edge
    ['./zz-missing', 'not-to-unresolvable']
  ],
  'src/main/engine/zz-cycle.ts': [['./zz-layers', 'no-circular']],
  'src/renderer/src/zz-layers.ts': [
    ['../../main/engine/paths', 'renderer-only-shared'],
    ['node:fs', 'renderer-only-shared'],
    ['electron', 'renderer-only-shared']
  ],
  'src/renderer/src/components/ZzLayers.vue': [['../../../preload/index', 'renderer-only-shared']],
  'src/shared/zz-layers.ts': [
    ['../main/engine/paths', 'shared-is-pure'],
    ['node:path', 'shared-is-pure'],
    ['../renderer/src/stores/system', 'shared-is-pure']
  ],
  'src/preload/zz-layers.ts': [['../main/engine/paths', 'preload-only-shared']],
  'src/main/transports/http/zz-layers.ts': [
    ['../../cli/args', 'transports-not-other-adapters'],
    ['electron', 'electron-package-in-shell-only'],
    ['../../engine/events', 'adapters-only-facade']
  ],
  'src/main/electron/zz-layers.ts': [
    ['../transports/http/server', 'electron-not-other-adapters'],
    ['../engine/engine', 'adapters-only-facade']
  ],
  'src/main/cli/zz-layers.ts': [
    ['../electron/app', 'cli-not-electron-adapter'],
    ['../engine/store/store', 'adapters-only-facade'],
    ['../engine/api/handler', 'adapters-only-facade'],
    ['../engine/api/facade', '']
  ]
}

let result: { status: number | null; violations: string[] }

beforeAll(() => {
  const dir = tempDir('elle-layers-')
  fs.cpSync(path.join(root, 'src'), path.join(dir, 'src'), { recursive: true })
  for (const file of ['package.json', 'tsconfig.json', '.dependency-cruiser.cjs']) fs.copyFileSync(path.join(root, file), path.join(dir, file))
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir')
  for (const [file, imports] of Object.entries(injected)) {
    const lines = imports.map(([spec]) => `import '${spec}'`).join('\n')
    fs.writeFileSync(path.join(dir, file), file.endsWith('.vue') ? `<script setup lang="ts">\n${lines}\n</script>\n<template><p /></template>\n` : `${lines}\n`)
  }
  // Only the injected files and what they import (the real tree's cleanliness is `npm run lint`'s job), with
  // the lint's own config and reporter, whose exit code is the number of errors.
  const depcruise = path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs')
  const run = spawnSync(process.execPath, [depcruise, ...Object.keys(injected), '--config', '.dependency-cruiser.cjs'], { cwd: dir, encoding: 'utf8' })
  // "  error RULE: FROM → TO" (a cycle continues on the next lines: "FROM → \n   NEXT →\n ...")
  const violations = [...run.stdout.matchAll(/^\s*(error|warn|info) (\S+): (\S+) →\s*(\S+)/gm)].map(([, severity, rule, from, to]) => `${from} -> ${to}: ${rule} (${severity})`)
  result = { status: run.status, violations }
})

describe('the layer rules', () => {
  it('fail the lint with one error per broken import', () => {
    expect(result.status).toBe(
      Object.values(injected)
        .flat()
        .filter(([, rule]) => rule).length
    )
  })

  it('name the rule each injected import breaks, and nothing else about those files', () => {
    const found = result.violations.filter((v) => v.split(' ')[0]! in injected)
    const expected = Object.entries(injected).flatMap(([file, imports]) =>
      imports
        .filter(([, rule]) => rule)
        .map(([spec, rule]) => {
          const target = spec.startsWith('.') ? resolveIn(file, spec) : spec
          return `${file} -> ${target}: ${rule} (error)`
        })
    )
    expect(found.map(normalise).sort()).toEqual(expected.map(normalise).sort())
  })
})

/** a relative import as depcruise reports it: resolved to the file it names (or as written, when missing) */
function resolveIn(file: string, spec: string): string {
  const base = path.posix.join(path.posix.dirname(file), spec)
  for (const ext of ['.ts', '.vue', '/index.ts']) if (fs.existsSync(path.join(root, base + ext)) || base + ext in injected) return base + ext
  return spec
}

/** packages resolve into node_modules (through a symlink, wherever it points): compare by package name */
function normalise(line: string): string {
  return line.replace(/-> \S*node_modules\/(electron)\/\S*:/, '-> $1:').replace(/-> node:(\w+):/, '-> $1:')
}
