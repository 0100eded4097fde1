// npm run bench:store — write throughput of batched metric inserts and the time to read one run's
// 100,000 points, on a real store file in a temp directory. Targets: >= 100,000 points/s written,
// a 100k-point read under 200 ms.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ExperimentStore, type MetricPoint } from '../src/main/engine/store/store'

const POINTS_PER_RUN = 100_000
const RUNS = 5
const BATCH = 1_000
const NAMES = ['loss', 'ppl', 'lr', 'tokens_per_s', 'grad_norm', 'ppl/press', 'ppl/fiction', 'ppl/learned', 'ap', 'ap_plus']

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'elle-bench-store-'))
const store = ExperimentStore.open(path.join(dir, 'bench.sqlite'))
const experiment = store.ensureExperiment('bench', { bench: 'store' })
const runIds = Array.from({ length: RUNS }, () => store.createRun(experiment.id).id)

function pointsFor(runId: number, from: number, count: number): MetricPoint[] {
  const points: MetricPoint[] = []
  for (let i = from; i < from + count; i++) {
    const step = Math.floor(i / NAMES.length)
    points.push({
      runId,
      phase: { kind: 'train', stage: step < 5000 ? 0 : 1, domain: null },
      step,
      tokensSeen: step * 4096,
      wallS: step * 0.25,
      flops: step * 1.2e12,
      name: NAMES[i % NAMES.length]!,
      value: Math.random()
    })
  }
  return points
}

// Write: every run gets 100k points in batches of 1,000 (one transaction each), as the trainer writes them.
let written = 0
const writeStart = process.hrtime.bigint()
for (const runId of runIds) {
  for (let i = 0; i < POINTS_PER_RUN; i += BATCH) {
    store.insertMetrics(pointsFor(runId, i, BATCH))
    written += BATCH
  }
}
const writeS = Number(process.hrtime.bigint() - writeStart) / 1e9

// Read: one run's 100k points, several times; report the median.
const readTimes: number[] = []
let readCount = 0
for (let i = 0; i < 7; i++) {
  const t = process.hrtime.bigint()
  readCount = store.readMetrics(runIds[2]!).length
  readTimes.push(Number(process.hrtime.bigint() - t) / 1e6)
}
readTimes.sort((a, b) => a - b)
const fileMb = fs.statSync(path.join(dir, 'bench.sqlite')).size / 1e6
const result = {
  pointsWritten: written,
  batch: BATCH,
  writePointsPerS: Math.round(written / writeS),
  readPoints: readCount,
  readMsMedian: Number(readTimes[3]!.toFixed(1)),
  readMsMax: Number(readTimes[6]!.toFixed(1)),
  fileMb: Number(fileMb.toFixed(1)),
  targets: { writePointsPerS: 100_000, readMs: 200 }
}
store.close()
fs.rmSync(dir, { recursive: true, force: true })
console.log(JSON.stringify(result, null, 2))
const ok = result.writePointsPerS >= 100_000 && result.readMsMedian < 200 && readCount === POINTS_PER_RUN
console.log(ok ? 'store benchmark: targets met' : 'store benchmark: TARGETS MISSED')
process.exitCode = ok ? 0 : 1
