// Writes test/file-durations.json (seconds per test file, for test/sequencer.ts) from vitest's JSON report.
// Usage: npx vitest run --reporter=json --outputFile=/tmp/vitest.json && node scripts/test-durations.mjs /tmp/vitest.json
import fs from 'node:fs'
import path from 'node:path'

const [report] = process.argv.slice(2)
if (!report) throw new Error('usage: node scripts/test-durations.mjs VITEST_JSON_REPORT')
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const { testResults } = JSON.parse(fs.readFileSync(report, 'utf8'))
const table = Object.fromEntries(
  testResults.map((r) => [path.relative(root, r.name).split(path.sep).join('/'), Math.round((r.endTime - r.startTime) / 100) / 10]).sort((a, b) => b[1] - a[1])
)
fs.writeFileSync(path.join(root, 'test/file-durations.json'), `${JSON.stringify(table, null, 2)}\n`)
console.log(`test/file-durations.json: ${Object.keys(table).length} files`)
