/**
 * Prepare the built-in default stream (Brown x5 + SpamAssassin e-mail) into a data directory and print sizes.
 *
 *   npx esbuild scripts/prepare-default-stream.ts --bundle --platform=node --format=esm --packages=external \
 *     --outfile=out/scripts/prepare-default-stream.mjs && node out/scripts/prepare-default-stream.mjs <dataDir> [--vocab 8000] [--domains press,fiction]
 */
import { ensureDefaultStream, DEFAULT_DOMAINS, type DefaultDomainName } from '../src/main/engine/data'

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

async function main(): Promise<void> {
  const dataDir = process.argv[2]
  if (!dataDir || dataDir.startsWith('--')) {
    console.error('usage: prepare-default-stream <dataDir> [--vocab N] [--domains a,b,...]')
    process.exit(2)
  }
  const vocab = arg('vocab')
  const domains = arg('domains')?.split(',') as DefaultDomainName[] | undefined
  const t0 = Date.now()
  const m = await ensureDefaultStream(dataDir, {
    vocabSize: vocab ? Number(vocab) : undefined,
    domains: domains ?? DEFAULT_DOMAINS,
    log: (msg) => console.log(`[prepare] ${msg}`)
  })
  console.log(`\nstream prepared in ${((Date.now() - t0) / 1000).toFixed(1)} s at ${m.dataDir}`)
  console.log(
    `tokenizer: ${m.tokenizer.file} vocab=${m.tokenizer.vocabSize} promptSlots=${m.tokenizer.promptSlots} trainedOn=${m.tokenizer.trainedOn} sha256=${m.tokenizer.hash.slice(0, 16)}`
  )
  console.log('\n| domain | slot | split | documents | tokens | bytes | bytes/token |')
  console.log('|---|---|---|---|---|---|---|')
  for (const d of m.domains) {
    for (const [s, st] of Object.entries(d.stats)) {
      console.log(`| ${d.name} | ${d.promptSlot} | ${s} | ${st.documents} | ${st.tokens} | ${st.bytes} | ${(st.bytes / Math.max(1, st.tokens)).toFixed(2)} |`)
    }
  }
  console.log('\n| domain | task | kind | split | examples | documents | labels |')
  console.log('|---|---|---|---|---|---|---|')
  for (const d of m.domains) {
    for (const t of d.tasks) {
      for (const [s, info] of Object.entries(t.splits)) {
        const labels = Object.entries(info.labelCounts)
          .sort((a, b) => (a[0] < b[0] ? -1 : 1))
          .map(([l, n]) => `${l}:${n}`)
          .join(' ')
        console.log(`| ${d.name} | ${t.name} | ${t.kind} | ${s} | ${info.examples} | ${info.documents} | ${labels} |`)
      }
    }
    if (d.reading) console.log(`\n${d.name} reading: ${JSON.stringify(d.reading)}`)
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? `${e.name}: ${e.message}` : e)
  process.exit(1)
})
