// Runs with the page beside the app (index.html: an async module, so it does not wait for main.ts): it starts
// fetching the chunk of the view the address names while the app's own code still loads and runs, instead of after
// (~0.1 s of the Compare view's first draw). The router still decides what the address shows, and reports a chunk
// that fails to load.
import { DEFAULT_VIEW } from './default-view'
import { VIEW_CHUNKS, type ChunkedView } from './view-chunks'

const named = location.hash.replace(/^#\/?/, '').split(/[?/]/)[0] ?? ''
const view: ChunkedView = named in VIEW_CHUNKS ? (named as ChunkedView) : DEFAULT_VIEW
VIEW_CHUNKS[view]().catch(() => undefined)
