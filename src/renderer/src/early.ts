// First in index.html, so Vite puts it at the head of the app's entry: before the rest of the app's code runs, it
// starts fetching the chunk of the view the address names (~0.1 s of the Compare view's first draw), instead of after.
// The router still decides what the address shows, and reports a chunk that fails to load.
import { DEFAULT_VIEW } from './default-view'
import { VIEW_CHUNKS, type ChunkedView } from './view-chunks'

const named = location.hash.replace(/^#\/?/, '').split(/[?/]/)[0] ?? ''
const view: ChunkedView = named in VIEW_CHUNKS ? (named as ChunkedView) : DEFAULT_VIEW
VIEW_CHUNKS[view]().catch(() => undefined)
