// Writes docs/run-config.schema.json, the JSON Schema of the run config, from its zod schema in
// src/shared/run-config.ts (`npm run schema`); with --check, fails when the committed file is not current
// (`npm run schema:check`, run by CI). --file PATH checks or writes another file (the tests use it).
import { build } from 'esbuild'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { isDeepStrictEqual } from 'node:util'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const args = process.argv.slice(2)
const check = args.includes('--check')
const fileAt = args.indexOf('--file')
const file = fileAt >= 0 ? path.resolve(args[fileAt + 1] ?? '') : path.join(root, 'docs', 'run-config.schema.json')
const shown = path.relative(root, file) || file

// The schema is TypeScript: bundle it (zod included) and import the bundle, so Node 20 needs no loader.
const bundle = await build({ entryPoints: [path.join(root, 'src/shared/run-config.ts')], bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'error' })
const { runConfigJsonSchema } = await import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].contents).toString('base64')}`)
const schema = runConfigJsonSchema()

if (!check) {
  fs.writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`)
  console.error(`wrote ${shown}`)
} else {
  // compared as JSON, not as text, so the formatter may lay the file out as it likes
  const current = fs.existsSync(file) ? parsed(fs.readFileSync(file, 'utf8')) : undefined
  if (!isDeepStrictEqual(current, schema)) {
    const why = current === undefined ? 'is missing' : current === null ? 'is not valid JSON' : 'is not current with src/shared/run-config.ts'
    console.error(`${shown} ${why}: run \`npm run schema\` and commit the file`)
    process.exit(1)
  }
  console.error(`${shown} is current`)
}

function parsed(text) {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}
