/**
 * The workbench's checkpoint: one directory holding
 *   config.json             format name + version, the ModelConfig, optimizer step, free-form training/experiment JSON
 *   model.safetensors       F32 weights named by role (TransformerModel.params)
 *   optimizer.safetensors   AdamW moments "m/<role>" and "v/<role>" (optional), step in its metadata
 *   tokenizer.json          the frozen tokenizer, byte for byte
 *   state.json              the caller's resumable state (step, stage, tokens seen, RNG, iterator positions...)
 *   plugins.safetensors     tensors of that state (a method's importance, teacher, frozen columns), F32 by name (optional)
 * Saves are atomic (see atomic.ts); loads validate everything against config.json and fail with a
 * CheckpointError naming the file and tensor or field. The checkpoint's sha256 is
 * sha256 over the lines "<file sha256>  <name>\n" in the order above — what
 * `sha256sum config.json model.safetensors [optimizer.safetensors] tokenizer.json state.json [plugins.safetensors] | sha256sum` prints.
 */
import { createHash } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { DataError } from '../data/errors'
import { loadTokenizer, type Tokenizer } from '../data/tokenizer'
import { type ModelConfig, validateModelConfig } from '../model/config'
import { parameterShapes, type WeightData, type Weights } from '../model/model'
import type { AdamWState } from '../model/optim'
import { type AtomicWriteHooks, exists, hashFile, PREVIOUS_SUFFIX, writeDirAtomic, writeFileSynced } from './atomic'
import { CheckpointError } from './errors'
import { assertJsonObject, type JsonObject } from './json'
import { numel, readSafetensors, type StoredTensor, toFloat32, type TensorInput, writeSafetensors } from './safetensors'

export const CHECKPOINT_FORMAT = 'elle-checkpoint'
export const CHECKPOINT_VERSION = 1

export const CHECKPOINT_FILES = {
  config: 'config.json',
  model: 'model.safetensors',
  optimizer: 'optimizer.safetensors',
  tokenizer: 'tokenizer.json',
  state: 'state.json',
  plugins: 'plugins.safetensors'
} as const
/** Listing and hashing order. */
const FILE_ORDER = [CHECKPOINT_FILES.config, CHECKPOINT_FILES.model, CHECKPOINT_FILES.optimizer, CHECKPOINT_FILES.tokenizer, CHECKPOINT_FILES.state, CHECKPOINT_FILES.plugins]
const REQUIRED = [CHECKPOINT_FILES.config, CHECKPOINT_FILES.model, CHECKPOINT_FILES.tokenizer, CHECKPOINT_FILES.state]

/** The config.json of a checkpoint. */
export interface CheckpointConfigFile {
  format: typeof CHECKPOINT_FORMAT
  version: number
  model: ModelConfig
  /** `step`: Adam's bias-correction count; `scheduleStep`: updates in the phase's LR schedule (absent in older checkpoints) */
  optimizer: { type: 'adamw'; step: number; scheduleStep?: number } | null
  tokenizer: { vocabSize: number; sha256: string }
  training: JsonObject
  experiment: JsonObject
}

/** What a tokenizer must offer to be saved (the data layer's Tokenizer does). */
export interface TokenizerSource {
  readonly json: string
  readonly vocabSize: number
}

export interface SaveCheckpointInput {
  config: ModelConfig
  /** TransformerModel.getWeights(). */
  weights: Weights
  /** AdamW.readState(); omit for weights-only checkpoints. */
  optimizerState?: AdamWState
  tokenizer: TokenizerSource
  /** Resumable run state; opaque to the checkpoint, must be plain JSON. */
  state: JsonObject
  /** Tensors of that state (by any names), written to plugins.safetensors; none: no file. */
  pluginTensors?: Weights
  training?: JsonObject
  experiment?: JsonObject
}

export interface SaveCheckpointOptions {
  /** Test seam: fail the save at a chosen point, as a crash would. */
  hooks?: AtomicWriteHooks
}

export interface CheckpointFileInfo {
  name: string
  path: string
  bytes: number
  sha256: string
}

export interface CheckpointWriteResult {
  path: string
  /** Total bytes of the files. */
  bytes: number
  sha256: string
  files: CheckpointFileInfo[]
}

export interface LoadedCheckpoint extends CheckpointWriteResult {
  version: number
  config: ModelConfig
  weights: Weights
  /** Null when the checkpoint has none or it was not requested. */
  optimizerState: AdamWState | null
  /** The optimizer's step from config.json (also when the moments were not loaded). */
  optimizerStep: number | null
  tokenizer: Tokenizer
  state: JsonObject
  /** plugins.safetensors as F32 weights by name; empty when the checkpoint has none (older ones keep them inside state). */
  pluginTensors: Weights
  training: JsonObject
  experiment: JsonObject
}

export interface LoadCheckpointOptions {
  /** Read the optimizer moments (default true); they are about twice the model's size. */
  optimizer?: boolean
}

// ---------------------------------------------------------------------------------------------
// Validation shared by save and load

function checkConfig(cfg: unknown, file: string | undefined, prefix: string): ModelConfig {
  const where = file ? `${file}: ` : ''
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
    throw new CheckpointError('BAD_CONFIG', `${where}${prefix} must be a ModelConfig object`, { file, field: prefix })
  }
  try {
    return validateModelConfig({ ...(cfg as ModelConfig) })
  } catch (e) {
    // validateModelConfig says "ModelConfig.<field>: ..."; re-root it at our field name.
    const msg = (e as Error).message.replace(/^ModelConfig\./, `${prefix}.`)
    const field = /^([\w.]+):/.exec(msg)?.[1] ?? prefix
    throw new CheckpointError('BAD_CONFIG', `${where}${msg}`, { file, field })
  }
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`

/** Names and shapes of `got` must be exactly `expected`; messages name the tensor and both shapes. */
function checkTensorSet(
  expected: Map<string, number[]>,
  got: Map<string, { shape: number[]; length: number }>,
  what: { file?: string; label: string; against: string; prefix?: string }
): void {
  const pre = what.prefix ?? ''
  const where = what.file ? `${what.file}: ` : ''
  const missing = [...expected.keys()].filter((n) => !got.has(pre + n))
  if (missing.length > 0) {
    const name = pre + (missing[0] as string)
    throw new CheckpointError(
      'SHAPE_MISMATCH',
      `${where}${what.label} lacks ${missing.length === 1 ? 'tensor' : `${missing.length} tensors:`} ${missing
        .slice(0, 5)
        .map((n) => `"${pre}${n}"`)
        .join(', ')}${missing.length > 5 ? ', ...' : ''} that ${what.against} needs`,
      { file: what.file, field: name }
    )
  }
  const known = new Set([...expected.keys()].map((n) => pre + n))
  const unknown = [...got.keys()].filter((n) => !known.has(n))
  if (unknown.length > 0) {
    throw new CheckpointError(
      'SHAPE_MISMATCH',
      `${where}${what.label} has ${unknown.length === 1 ? 'tensor' : `${unknown.length} tensors`} ${unknown
        .slice(0, 5)
        .map((n) => `"${n}"`)
        .join(', ')}${unknown.length > 5 ? ', ...' : ''} that ${what.against} does not have`,
      { file: what.file, field: unknown[0] }
    )
  }
  for (const [n, shape] of expected) {
    const t = got.get(pre + n) as { shape: number[]; length: number }
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new CheckpointError('SHAPE_MISMATCH', `${where}tensor "${pre}${n}" has shape ${fmt(t.shape)} but ${what.against} needs ${fmt(shape)}`, {
        file: what.file,
        field: pre + n
      })
    }
    if (t.length !== numel(shape)) {
      throw new CheckpointError('SHAPE_MISMATCH', `${where}tensor "${pre}${n}" holds ${t.length} values for shape ${fmt(shape)}`, {
        file: what.file,
        field: pre + n
      })
    }
  }
}

function weightShapes(w: Weights, field: string): Map<string, { shape: number[]; length: number }> {
  if (w === null || typeof w !== 'object') throw new CheckpointError('BAD_INPUT', `${field} must be an object of tensors`, { field })
  const out = new Map<string, { shape: number[]; length: number }>()
  for (const [n, t] of Object.entries(w)) {
    if (!t || !(t.data instanceof Float32Array) || !Array.isArray(t.shape)) {
      throw new CheckpointError('BAD_INPUT', `${field}["${n}"] must be {shape, data: Float32Array}`, { field: `${field}["${n}"]` })
    }
    out.set(n, { shape: t.shape, length: t.data.length })
  }
  return out
}

function checkVocab(tokVocab: number, cfg: ModelConfig, tokFile: string | undefined, cfgWhere: string): void {
  if (tokVocab !== cfg.vocabSize) {
    throw new CheckpointError('TOKENIZER_MISMATCH', `${tokFile ? `${tokFile}: ` : ''}tokenizer has ${tokVocab} tokens but ${cfgWhere} model.vocabSize is ${cfg.vocabSize}`, {
      file: tokFile,
      field: 'model.vocabSize'
    })
  }
}

function checkOptimizerState(s: AdamWState, cfg: ModelConfig): void {
  if (!Number.isSafeInteger(s.step) || s.step < 0) {
    throw new CheckpointError('BAD_INPUT', `optimizerState.step must be a non-negative integer, got ${s.step}`, { field: 'optimizerState.step' })
  }
  if (s.scheduleStep !== undefined && (!Number.isSafeInteger(s.scheduleStep) || s.scheduleStep < 0)) {
    throw new CheckpointError('BAD_INPUT', `optimizerState.scheduleStep must be a non-negative integer, got ${s.scheduleStep}`, { field: 'optimizerState.scheduleStep' })
  }
  const shapes = parameterShapes(cfg)
  for (const which of ['m', 'v'] as const) {
    checkTensorSet(shapes, weightShapes(s[which], `optimizerState.${which}`), { label: `optimizerState.${which}`, against: 'the model config' })
  }
}

// ---------------------------------------------------------------------------------------------
// Save

/** Whether `dir` holds a checkpoint (its config.json names our format): only those are replaced by a save. */
export async function isCheckpointDir(dir: string): Promise<boolean> {
  try {
    const cfg = JSON.parse(await fs.readFile(path.join(dir, CHECKPOINT_FILES.config), 'utf8')) as { format?: unknown }
    return cfg.format === CHECKPOINT_FORMAT
  } catch {
    return false
  }
}

function combinedSha(files: Array<{ name: string; sha256: string }>): string {
  const h = createHash('sha256')
  for (const f of files) h.update(`${f.sha256}  ${f.name}\n`)
  return h.digest('hex')
}

/**
 * Writes a checkpoint atomically: the new directory is complete and fsynced before it replaces `dir`.
 * Everything is validated first, so bad input fails before anything is written.
 */
export async function saveCheckpoint(dir: string, input: SaveCheckpointInput, opts: SaveCheckpointOptions = {}): Promise<CheckpointWriteResult> {
  const cfg = checkConfig(input.config, undefined, 'config')
  checkTensorSet(parameterShapes(cfg), weightShapes(input.weights, 'weights'), { label: 'weights', against: 'the model config' })
  if (input.optimizerState) checkOptimizerState(input.optimizerState, cfg)
  if (!input.tokenizer || typeof input.tokenizer.json !== 'string') {
    throw new CheckpointError('BAD_INPUT', 'tokenizer must be a Tokenizer (with its json)', { field: 'tokenizer' })
  }
  checkVocab(input.tokenizer.vocabSize, cfg, undefined, 'config')
  assertJsonObject(input.state, 'state')
  const pluginTensors = input.pluginTensors && Object.keys(input.pluginTensors).length > 0 ? input.pluginTensors : null
  if (pluginTensors) {
    for (const [n, t] of weightShapes(pluginTensors, 'pluginTensors')) {
      if (t.length !== numel(t.shape))
        throw new CheckpointError('BAD_INPUT', `pluginTensors["${n}"] holds ${t.length} values for shape ${fmt(t.shape)}`, { field: `pluginTensors["${n}"]` })
    }
  }
  const training = input.training ?? {}
  const experiment = input.experiment ?? {}
  assertJsonObject(training, 'training')
  assertJsonObject(experiment, 'experiment')

  const configFile: CheckpointConfigFile = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    model: cfg,
    optimizer: input.optimizerState
      ? { type: 'adamw', step: input.optimizerState.step, ...(input.optimizerState.scheduleStep !== undefined ? { scheduleStep: input.optimizerState.scheduleStep } : {}) }
      : null,
    tokenizer: { vocabSize: input.tokenizer.vocabSize, sha256: createHash('sha256').update(input.tokenizer.json).digest('hex') },
    training,
    experiment
  }
  const shapes = parameterShapes(cfg)
  const abs = path.resolve(dir)
  const hooks = opts.hooks

  const written = await writeDirAtomic(
    abs,
    async (tmp) => {
      const out: Array<{ name: string; bytes: number; sha256: string }> = []
      const done = async (name: string, r: { bytes: number; sha256: string }): Promise<void> => {
        out.push({ name, ...r })
        await hooks?.afterFile?.(name)
      }
      await done(CHECKPOINT_FILES.config, await writeFileSynced(path.join(tmp, CHECKPOINT_FILES.config), `${JSON.stringify(configFile, null, 2)}\n`))
      // Tensors in the model's parameter order, so files of equal models are byte-identical.
      const model = new Map<string, TensorInput>()
      for (const n of shapes.keys()) model.set(n, { shape: shapes.get(n) as number[], data: (input.weights[n] as WeightData).data })
      await done(CHECKPOINT_FILES.model, await writeSafetensors(path.join(tmp, CHECKPOINT_FILES.model), model, { format: CHECKPOINT_FORMAT }))
      if (input.optimizerState) {
        const s = input.optimizerState
        const moments = new Map<string, TensorInput>()
        for (const which of ['m', 'v'] as const) {
          for (const n of shapes.keys()) moments.set(`${which}/${n}`, { shape: shapes.get(n) as number[], data: (s[which][n] as WeightData).data })
        }
        await done(
          CHECKPOINT_FILES.optimizer,
          await writeSafetensors(path.join(tmp, CHECKPOINT_FILES.optimizer), moments, { format: CHECKPOINT_FORMAT, optimizer: 'adamw', step: String(s.step) })
        )
      }
      await done(CHECKPOINT_FILES.tokenizer, await writeFileSynced(path.join(tmp, CHECKPOINT_FILES.tokenizer), input.tokenizer.json))
      await done(CHECKPOINT_FILES.state, await writeFileSynced(path.join(tmp, CHECKPOINT_FILES.state), `${JSON.stringify(input.state, null, 2)}\n`))
      if (pluginTensors) {
        const tensors = new Map<string, TensorInput>(Object.entries(pluginTensors).map(([n, t]) => [n, { shape: t.shape, data: t.data }]))
        await done(CHECKPOINT_FILES.plugins, await writeSafetensors(path.join(tmp, CHECKPOINT_FILES.plugins), tensors, { format: CHECKPOINT_FORMAT }))
      }
      return out
    },
    { canReplace: isCheckpointDir, what: 'checkpoint', hooks }
  )
  const files = FILE_ORDER.flatMap((name) => written.filter((f) => f.name === name)).map((f) => ({ ...f, path: path.join(abs, f.name) }))
  return { path: abs, bytes: files.reduce((a, f) => a + f.bytes, 0), sha256: combinedSha(files), files }
}

// ---------------------------------------------------------------------------------------------
// Load

async function readJson(file: string): Promise<unknown> {
  const text = await fs.readFile(file, 'utf8')
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new CheckpointError('BAD_JSON', `${file}: not valid JSON (${(e as Error).message})`, { file })
  }
}

/** After a crash between the swap's two renames only `<dir>.previous` exists: put it back. */
async function restoreInterrupted(abs: string): Promise<void> {
  if (!(await exists(abs)) && (await exists(abs + PREVIOUS_SUFFIX))) await fs.rename(abs + PREVIOUS_SUFFIX, abs)
}

async function requireFiles(abs: string, names: readonly string[]): Promise<void> {
  if (!(await exists(abs))) throw new CheckpointError('NOT_FOUND', `checkpoint directory not found: ${abs}`, { file: abs })
  const missing: string[] = []
  for (const n of names) if (!(await exists(path.join(abs, n)))) missing.push(n)
  if (missing.length > 0) {
    throw new CheckpointError('MISSING_FILE', `${abs}: missing ${missing.join(', ')}`, { file: path.join(abs, missing[0] as string) })
  }
}

function parseConfigFile(raw: unknown, file: string): CheckpointConfigFile {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new CheckpointError('FORMAT', `${file}: not a JSON object`, { file })
  const c = raw as Record<string, unknown>
  if (c.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError('FORMAT', `${file}: format is ${JSON.stringify(c.format)}, expected "${CHECKPOINT_FORMAT}"`, { file, field: 'format' })
  }
  if (c.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError('FORMAT_VERSION', `${file}: format version ${JSON.stringify(c.version)} is not supported (this workbench reads version ${CHECKPOINT_VERSION})`, {
      file,
      field: 'version'
    })
  }
  const model = checkConfig(c.model, file, 'model')
  const opt = c.optimizer
  if (opt !== null && (typeof opt !== 'object' || !Number.isSafeInteger((opt as { step?: unknown }).step))) {
    throw new CheckpointError('FORMAT', `${file}: optimizer must be null or {type, step}`, { file, field: 'optimizer' })
  }
  const scheduleStep = opt === null ? undefined : (opt as { scheduleStep?: unknown }).scheduleStep
  if (scheduleStep !== undefined && (!Number.isSafeInteger(scheduleStep) || (scheduleStep as number) < 0)) {
    throw new CheckpointError('FORMAT', `${file}: optimizer.scheduleStep must be a non-negative integer, got ${JSON.stringify(scheduleStep)}`, {
      file,
      field: 'optimizer.scheduleStep'
    })
  }
  for (const k of ['training', 'experiment'] as const) assertJsonObject(c[k], k, file)
  return { ...(c as unknown as CheckpointConfigFile), model }
}

function tensorsToWeights(tensors: Map<string, StoredTensor>, file: string, strip = ''): Weights {
  const out: Weights = {}
  for (const [n, t] of tensors) {
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
      throw new CheckpointError('SAFETENSORS', `${file}: tensor "${n}" has dtype ${t.dtype}, expected F32`, { file, field: n })
    }
    out[n.slice(strip.length)] = { shape: t.shape, data: toFloat32(t, `${file}: tensor "${n}"`) }
  }
  return out
}

function storedShapes(tensors: Map<string, StoredTensor>): Map<string, { shape: number[]; length: number }> {
  return new Map([...tensors].map(([n, t]) => [n, { shape: t.shape, length: numel(t.shape) }]))
}

/** Loads and validates a checkpoint; errors name the file and the tensor or field. Never writes, except to finish an interrupted save's swap. */
export async function loadCheckpoint(dir: string, opts: LoadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  const abs = path.resolve(dir)
  await restoreInterrupted(abs)
  await requireFiles(abs, REQUIRED)
  const p = (name: string): string => path.join(abs, name)
  const hashes = new Map<string, { bytes: number; sha256: string }>()

  const configPath = p(CHECKPOINT_FILES.config)
  hashes.set(CHECKPOINT_FILES.config, await hashFile(configPath))
  const cfgFile = parseConfigFile(await readJson(configPath), configPath)
  const cfg = cfgFile.model
  const shapes = parameterShapes(cfg)
  const against = `${CHECKPOINT_FILES.config} (${cfg.kind}, layers ${cfg.layers}, hidden ${cfg.hidden}, ffn ${cfg.ffn}, vocab ${cfg.vocabSize}, maxLength ${cfg.maxLength})`

  const modelPath = p(CHECKPOINT_FILES.model)
  const model = await readSafetensors(modelPath)
  hashes.set(CHECKPOINT_FILES.model, { bytes: model.bytes, sha256: model.sha256 })
  checkTensorSet(shapes, storedShapes(model.tensors), { file: modelPath, label: CHECKPOINT_FILES.model, against })
  const weights = tensorsToWeights(model.tensors, modelPath)

  let optimizerState: AdamWState | null = null
  const optPath = p(CHECKPOINT_FILES.optimizer)
  const hasOptFile = await exists(optPath)
  if (cfgFile.optimizer && !hasOptFile) {
    throw new CheckpointError('MISSING_FILE', `${abs}: missing ${CHECKPOINT_FILES.optimizer} (config.json records an optimizer at step ${cfgFile.optimizer.step})`, {
      file: optPath
    })
  }
  if (hasOptFile && cfgFile.optimizer && opts.optimizer !== false) {
    const opt = await readSafetensors(optPath)
    hashes.set(CHECKPOINT_FILES.optimizer, { bytes: opt.bytes, sha256: opt.sha256 })
    const stored = storedShapes(opt.tensors)
    const mOnly = new Map([...stored].filter(([n]) => n.startsWith('m/')))
    const vOnly = new Map([...stored].filter(([n]) => n.startsWith('v/')))
    const other = [...stored.keys()].find((n) => !n.startsWith('m/') && !n.startsWith('v/'))
    if (other !== undefined) {
      throw new CheckpointError('SHAPE_MISMATCH', `${optPath}: tensor "${other}" is neither an m/ nor a v/ moment`, { file: optPath, field: other })
    }
    checkTensorSet(shapes, mOnly, { file: optPath, label: CHECKPOINT_FILES.optimizer, against, prefix: 'm/' })
    checkTensorSet(shapes, vOnly, { file: optPath, label: CHECKPOINT_FILES.optimizer, against, prefix: 'v/' })
    const step = Number(opt.metadata.step)
    if (String(step) !== opt.metadata.step || step !== cfgFile.optimizer.step) {
      throw new CheckpointError('FORMAT', `${optPath}: metadata step ${JSON.stringify(opt.metadata.step)} differs from config.json optimizer.step ${cfgFile.optimizer.step}`, {
        file: optPath,
        field: 'optimizer.step'
      })
    }
    const pick = (prefix: string): Weights => tensorsToWeights(new Map([...opt.tensors].filter(([n]) => n.startsWith(prefix))), optPath, prefix)
    const scheduleStep = cfgFile.optimizer.scheduleStep
    optimizerState = { step, ...(scheduleStep !== undefined ? { scheduleStep } : {}), m: pick('m/'), v: pick('v/') }
  } else if (hasOptFile) hashes.set(CHECKPOINT_FILES.optimizer, await hashFile(optPath))

  const tokPath = p(CHECKPOINT_FILES.tokenizer)
  hashes.set(CHECKPOINT_FILES.tokenizer, await hashFile(tokPath))
  let tokenizer: Tokenizer
  try {
    tokenizer = loadTokenizer(tokPath)
  } catch (e) {
    if (!(e instanceof DataError)) throw e
    throw new CheckpointError('TOKENIZER', e.message.startsWith(tokPath) ? e.message : `${tokPath}: ${e.message}`, { file: tokPath })
  }
  checkVocab(tokenizer.vocabSize, cfg, tokPath, CHECKPOINT_FILES.config)

  const statePath = p(CHECKPOINT_FILES.state)
  hashes.set(CHECKPOINT_FILES.state, await hashFile(statePath))
  const state = await readJson(statePath)
  assertJsonObject(state, 'state', statePath)

  let pluginTensors: Weights = {}
  const pluginsPath = p(CHECKPOINT_FILES.plugins)
  if (await exists(pluginsPath)) {
    const stored = await readSafetensors(pluginsPath)
    hashes.set(CHECKPOINT_FILES.plugins, { bytes: stored.bytes, sha256: stored.sha256 })
    pluginTensors = tensorsToWeights(stored.tensors, pluginsPath)
  }

  const files = FILE_ORDER.filter((n) => hashes.has(n)).map((name) => ({ name, path: p(name), ...(hashes.get(name) as { bytes: number; sha256: string }) }))
  return {
    path: abs,
    bytes: files.reduce((a, f) => a + f.bytes, 0),
    sha256: combinedSha(files),
    files,
    version: cfgFile.version,
    config: cfg,
    weights,
    optimizerState,
    optimizerStep: cfgFile.optimizer?.step ?? null,
    tokenizer,
    state,
    pluginTensors,
    training: cfgFile.training,
    experiment: cfgFile.experiment
  }
}

/** The checkpoint's files in the fixed order, with sizes and hashes; errors if a required one is missing. */
export async function listCheckpointFiles(dir: string): Promise<CheckpointFileInfo[]> {
  const abs = path.resolve(dir)
  await requireFiles(abs, REQUIRED)
  const out: CheckpointFileInfo[] = []
  for (const name of FILE_ORDER) {
    const file = path.join(abs, name)
    if (await exists(file)) out.push({ name, path: file, ...(await hashFile(file)) })
  }
  return out
}

/** The checkpoint's sha256 from its files alone (no validation). */
export async function checkpointSha256(dir: string): Promise<string> {
  return combinedSha(await listCheckpointFiles(dir))
}

export type VerifyResult =
  | { ok: true; path: string; sha256: string; bytes: number; files: CheckpointFileInfo[]; config: ModelConfig; optimizerStep: number | null }
  | { ok: false; path: string; code: CheckpointError['code']; message: string; file?: string; field?: string }

/** Fully loads and validates a checkpoint (and compares its sha256 when one is given); never throws a CheckpointError. */
export async function verifyCheckpoint(dir: string, opts: { sha256?: string } = {}): Promise<VerifyResult> {
  const abs = path.resolve(dir)
  try {
    const c = await loadCheckpoint(abs)
    if (opts.sha256 !== undefined && opts.sha256 !== c.sha256) {
      throw new CheckpointError('HASH_MISMATCH', `${abs}: sha256 is ${c.sha256}, expected ${opts.sha256}`, { file: abs })
    }
    return { ok: true, path: abs, sha256: c.sha256, bytes: c.bytes, files: c.files, config: c.config, optimizerStep: c.optimizerStep }
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e
    return { ok: false, path: abs, code: e.code, message: e.message, file: e.file, field: e.field }
  }
}
