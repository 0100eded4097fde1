// Longest files first, from a checked-in table of measured durations. Vitest orders by the durations it cached on
// an earlier run, but a clean clone (CI) has no cache and falls back to file size, so a slow browser or CLI file
// could start last and leave the other worker idle at the end. Refresh the table after a full run:
//   npx vitest run --reporter=json --outputFile=/tmp/vitest.json && node scripts/test-durations.mjs /tmp/vitest.json
import path from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'
import durations from './file-durations.json'

const measured: Record<string, number> = durations

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root
    // a file not in the table yet (new) goes first, like vitest's own rule for files it has not seen
    const seconds = (file: TestSpecification): number => measured[path.relative(root, file.moduleId).split(path.sep).join('/')] ?? Infinity
    return [...files].sort((a, b) => seconds(b) - seconds(a))
  }
}
