import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { DomainDetail, DomainSummary, JobSummary, Params, StreamSummary } from '../../../shared/contract'
import type { PickKind } from '../../../shared/ipc'
import { UPLOAD_LIMITS, uploadSelectionProblem, type UploadCandidate, type UploadLimits } from '../../../shared/uploads'
import { useApi } from '../api/inject'

/** A file the page chose (an <input type=file> entry) with its path inside the upload. */
export interface ChosenFile extends UploadCandidate {
  file: Blob
}

/** How to read the corpus: the CLI's --format and --text-field. */
export interface CorpusFormat {
  format: 'auto' | 'text' | 'jsonl'
  textField: string
}

/** Adding a domain: the transfer (upload), then the domains.addJob job, with progress and the error at its field. */
export interface AddState {
  phase: 'idle' | 'uploading' | 'tokenizing' | 'done' | 'failed'
  /** 0..1 over the phase (null: not measurable) */
  fraction: number | null
  message: string
  /** the form field the error belongs to */
  field: 'name' | 'files' | 'path' | 'format' | null
  jobId: number | null
}

/** Move one item of a list from `from` to `to` (indices in the list before the move). */
export function moveItem<T>(list: readonly T[], from: number, to: number): T[] {
  const out = [...list]
  const [item] = out.splice(from, 1)
  out.splice(Math.max(0, Math.min(out.length, to)), 0, item as T)
  return out
}

/** Which field a domains.addJob refusal is about, from its message. */
function fieldOf(message: string): AddState['field'] {
  if (/^domains\.addJob: name|domain name|already exists/.test(message)) return 'name'
  if (/textField|text field|field "/.test(message)) return 'format'
  return null
}

/** Domains in the store and the streams made of them; adding, renaming, reordering and deleting them. */
export const useStreamsStore = defineStore('streams', () => {
  const api = useApi()
  const domains = ref<DomainSummary[]>([])
  const streams = ref<StreamSummary[]>([])
  const error = ref<string | null>(null)

  async function load(): Promise<void> {
    try {
      const [d, s] = await Promise.all([api.call('domains.list', {}), api.call('streams.list', {})])
      domains.value = d.domains
      streams.value = s.streams
      error.value = null
      if (detail.value) await selectDomain(detail.value.id, true)
    } catch (e) {
      error.value = (e as Error).message
    }
  }

  // ---- one domain's facts -------------------------------------------------------------------------
  const detail = ref<DomainDetail | null>(null)
  const domainError = ref<string | null>(null)

  /** Open a domain's detail (by id); `quiet` refreshes it without clearing an error shown for it. */
  async function selectDomain(id: number, quiet = false): Promise<void> {
    try {
      detail.value = await api.call('domains.get', { id })
      if (!quiet) domainError.value = null
    } catch (e) {
      detail.value = null
      if (!quiet) domainError.value = (e as Error).message
    }
  }

  async function renameDomain(id: number, newName: string): Promise<boolean> {
    try {
      await api.call('domains.rename', { id, newName: newName.trim() })
      domainError.value = null
      return true
    } catch (e) {
      domainError.value = (e as Error).message
      return false
    }
  }

  /** Delete a domain; a refusal (runs trained on it, a stream lists it) is shown with what it names. */
  async function deleteDomain(id: number): Promise<boolean> {
    try {
      await api.call('domains.delete', { id })
      if (detail.value?.id === id) detail.value = null
      domainError.value = null
      return true
    } catch (e) {
      domainError.value = (e as Error).message
      return false
    }
  }

  // ---- adding a domain ------------------------------------------------------------------------------
  const transfer = computed(() => api.corpus.kind)
  const uploadLimits = ref<UploadLimits>({ ...UPLOAD_LIMITS })
  const add = ref<AddState>({ phase: 'idle', fraction: null, message: '', field: null, jobId: null })
  /** the staged upload the running job reads (discarded if the job fails) */
  let staged: string | null = null
  /** the field a failed job's error belongs to: the files (upload, dialog) or the path typed */
  let sourceField: 'files' | 'path' = 'files'

  const setAdd = (patch: Partial<AddState>): void => void (add.value = { ...add.value, ...patch })
  const fail = (message: string, field: AddState['field']): false => {
    setAdd({ phase: 'failed', message, field, fraction: null })
    return false
  }

  function addParams(name: string, paths: string[], format: CorpusFormat, description: string): Params<'domains.addJob'> {
    return {
      name: name.trim(),
      paths,
      format: format.format,
      ...(format.format !== 'text' && format.textField.trim() !== '' ? { textField: format.textField.trim() } : {}),
      ...(description.trim() !== '' ? { description: description.trim() } : {})
    }
  }

  function checkName(name: string): boolean {
    if (!/^[a-z0-9][a-z0-9_-]{0,63}$/i.test(name.trim())) return fail('a domain name is 1-64 letters, digits, "-" or "_", starting with a letter or digit', 'name')
    if (domains.value.some((d) => d.name === name.trim())) return fail(`domain "${name.trim()}" already exists; choose another name`, 'name')
    return true
  }

  /** Start domains.addJob; its progress and end arrive as job events. */
  async function startJob(params: Params<'domains.addJob'>): Promise<boolean> {
    try {
      const job = await api.call('domains.addJob', params)
      setAdd({ phase: 'tokenizing', jobId: job.id, fraction: null, message: 'reading and tokenizing the corpus', field: null })
      // its job.updated events may have come before this answer: read it once now
      onJob(await api.call('jobs.get', { id: job.id }))
      return true
    } catch (e) {
      await discardStaged()
      const message = (e as Error).message
      return fail(message, fieldOf(message) ?? sourceField)
    }
  }

  async function discardStaged(): Promise<void> {
    if (staged && api.corpus.kind === 'upload') await api.corpus.discard(staged)
    staged = null
  }

  /** Browser mode: upload the chosen files (a folder keeps its layout) and add them as a domain. */
  async function addByUpload(name: string, files: readonly ChosenFile[], format: CorpusFormat, description = ''): Promise<boolean> {
    if (api.corpus.kind !== 'upload') return fail('this window adds files through the file dialog', 'files')
    if (!checkName(name)) return false
    // hidden files (.DS_Store) are not part of a corpus: the reader skips them, so they are not sent
    const chosen = files.filter((f) => !f.rel.split('/').some((part) => part.startsWith('.')))
    const problem = uploadSelectionProblem(chosen, uploadLimits.value)
    if (problem) return fail(problem, 'files')
    const corpus = api.corpus
    sourceField = 'files'
    let id: string | null = null
    try {
      const started = await corpus.start()
      id = started.id
      uploadLimits.value = started.limits
      const again = uploadSelectionProblem(chosen, started.limits)
      if (again) throw new Error(again)
      const total = chosen.reduce((n, f) => n + f.size, 0)
      let sent = 0
      setAdd({ phase: 'uploading', fraction: 0, message: `uploading ${chosen.length} file${chosen.length === 1 ? '' : 's'}`, field: null, jobId: null })
      for (const f of chosen) {
        await corpus.put(started.id, f.rel, f.file)
        sent += f.size
        setAdd({ fraction: total > 0 ? sent / total : 1 })
      }
      staged = started.id
      return await startJob(addParams(name, [started.path], format, description))
    } catch (e) {
      if (id) await corpus.discard(id)
      return fail((e as Error).message, 'files')
    }
  }

  /** A path on the machine running the engine (browser mode), or paths the native dialog returned (Electron). */
  async function addByPaths(name: string, paths: string[], format: CorpusFormat, description = ''): Promise<boolean> {
    if (!checkName(name)) return false
    const given = paths.map((p) => p.trim()).filter((p) => p !== '')
    sourceField = api.corpus.kind === 'dialog' ? 'files' : 'path'
    if (given.length === 0) return fail(api.corpus.kind === 'dialog' ? 'choose files or a folder first' : 'give the path of a file or folder on the serving machine', sourceField)
    staged = null
    setAdd({ phase: 'tokenizing', fraction: null, message: 'starting', field: null, jobId: null })
    return startJob(addParams(name, given, format, description))
  }

  /** Electron: the native dialog; its paths are checked by the main process. Null when cancelled. */
  async function pick(kind: PickKind): Promise<string[] | null> {
    if (api.corpus.kind !== 'dialog') return null
    try {
      const paths = await api.corpus.pick(kind)
      return paths.length > 0 ? paths : null
    } catch (e) {
      fail((e as Error).message, 'files')
      return null
    }
  }

  function onJob(job: JobSummary): void {
    if (job.kind !== 'domain.add' || job.id !== add.value.jobId) return
    if (job.progress) setAdd({ fraction: job.progress.fraction, message: job.progress.message })
    if (job.status === 'finished') {
      const result = job.result as { name?: string; documents?: number; tokens?: number } | null
      staged = null
      setAdd({
        phase: 'done',
        fraction: 1,
        field: null,
        message: `added domain "${result?.name ?? ''}": ${result?.documents ?? '?'} documents, ${result?.tokens?.toLocaleString('en') ?? '?'} tokens`
      })
      void load()
    } else if (job.status === 'failed' || job.status === 'cancelled') {
      void discardStaged()
      const message = job.error ?? `adding the domain was ${job.status}`
      fail(message, fieldOf(message) ?? sourceField)
    }
  }

  async function cancelAdd(): Promise<void> {
    if (add.value.jobId !== null && add.value.phase === 'tokenizing') await api.call('jobs.cancel', { id: add.value.jobId }).catch(() => undefined)
  }

  // ---- streams ----------------------------------------------------------------------------------------
  const streamError = ref<string | null>(null)
  /** what a keyboard reorder did, for the aria-live region */
  const announcement = ref('')

  async function streamCall(action: () => Promise<unknown>): Promise<boolean> {
    try {
      await action()
      streamError.value = null
      return true
    } catch (e) {
      streamError.value = (e as Error).message
      return false
    }
  }

  const createStream = (name: string, domainNames: string[]) => streamCall(() => api.call('streams.create', { name: name.trim(), domains: domainNames }))
  const renameStream = (id: number, name: string) => streamCall(() => api.call('streams.update', { id, name: name.trim() }))
  const duplicateStream = (id: number, name: string) => streamCall(() => api.call('streams.duplicate', { id, name: name.trim() }))
  const deleteStream = (id: number) => streamCall(() => api.call('streams.delete', { id }))
  const setStreamDomains = (id: number, domainNames: string[]) => streamCall(() => api.call('streams.update', { id, domains: domainNames }))

  /** Move a stream's domain from one position to another (drag and drop, or Alt+Arrow), and say so. */
  async function moveDomain(streamId: number, from: number, to: number): Promise<boolean> {
    const stream = streams.value.find((s) => s.id === streamId)
    if (!stream || to < 0 || to >= stream.domains.length || from === to) return false
    const order = moveItem(stream.domains, from, to)
    // shown at once; the store's answer (streams.changed) confirms it, a refusal puts it back
    streams.value = streams.value.map((s) => (s.id === streamId ? { ...s, domains: order } : s))
    const ok = await setStreamDomains(streamId, order)
    announcement.value = ok ? `${stream.domains[from]} moved to position ${to + 1} of ${order.length}` : `not moved: ${streamError.value ?? ''}`
    if (!ok) await load()
    return ok
  }

  api.onEvent((event) => {
    // a domain's deletion or a stream's change (here or in another process) changes both lists
    if (event.type === 'domains.changed' || event.type === 'streams.changed') void load()
    if (event.type === 'job.updated') onJob(event.job)
    if (event.type === 'job.progress' && event.progress.jobId === add.value.jobId && add.value.phase === 'tokenizing')
      setAdd({ fraction: event.progress.fraction, message: event.progress.message })
  })

  return {
    domains,
    streams,
    error,
    load,
    detail,
    domainError,
    selectDomain,
    renameDomain,
    deleteDomain,
    transfer,
    uploadLimits,
    add,
    addByUpload,
    addByPaths,
    pick,
    cancelAdd,
    streamError,
    announcement,
    createStream,
    renameStream,
    duplicateStream,
    deleteStream,
    setStreamDomains,
    moveDomain
  }
})
