/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON header ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
 * {string: string}}), then the raw little-endian tensor bytes; offsets are relative to the data start.
 *
 * Reading is strict, like the Rust reference: every tensor must lie inside the data, tensors must not
 * overlap and must cover the data without holes, and the byte count must match dtype x shape. Files are
 * read tensor by tensor into their own buffers, so a big file is never held twice in memory.
 */
import { createHash, type Hash } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import { CheckpointError } from './errors'

export const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1
} as const
export type DType = keyof typeof DTYPE_BYTES

/** The Rust reader's limit; a bigger header is a corrupt length, not a real header. */
const MAX_HEADER_BYTES = 100_000_000
const METADATA_KEY = '__metadata__'

if (os.endianness() !== 'LE') {
  // Typed arrays use the host byte order and safetensors is little-endian; every supported platform is LE.
  throw new Error('safetensors: big-endian hosts are not supported')
}

export interface TensorInfo {
  dtype: DType
  shape: number[]
  /** [begin, end) relative to the start of the data section. */
  dataOffsets: [number, number]
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>
  metadata: Record<string, string>
  /** Bytes before the data section (8 + header length). */
  dataStart: number
  fileBytes: number
}

export interface StoredTensor {
  dtype: DType
  shape: number[]
  /** Raw little-endian bytes, in a buffer of their own (aligned, so typed views need no copy). */
  bytes: Uint8Array
}

export interface SafetensorsContents {
  tensors: Map<string, StoredTensor>
  metadata: Record<string, string>
  bytes: number
  /** Hex sha256 of the whole file. */
  sha256: string
}

/** What the writer takes: F32 or F16/BF16 (converted on write) from a Float32Array, I32 from an Int32Array, or raw bytes. */
export type TensorInput =
  | { dtype?: 'F32' | 'F16' | 'BF16'; shape: number[]; data: Float32Array }
  | { dtype?: 'I32'; shape: number[]; data: Int32Array }
  | { dtype: DType; shape: number[]; data: Uint8Array }

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1)
}

const isDType = (s: unknown): s is DType => typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s)

function fail(file: string, message: string, tensor?: string): never {
  throw new CheckpointError('SAFETENSORS', `${file}: ${tensor !== undefined ? `tensor "${tensor}": ` : ''}${message}`, {
    file,
    field: tensor
  })
}

// ---------------------------------------------------------------------------------------------
// Header

/** Validates a header (its JSON text already parsed) against the data length; the file name is for messages. */
export function parseHeader(headerBytes: Uint8Array, fileBytes: number, file: string): SafetensorsHeader {
  const dataStart = 8 + headerBytes.length
  const dataBytes = fileBytes - dataStart
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes))
  } catch (e) {
    fail(file, `header is not valid UTF-8 JSON (${(e as Error).message})`)
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail(file, 'header is not a JSON object')
  const metadata: Record<string, string> = {}
  const tensors = new Map<string, TensorInfo>()
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (raw === null) continue
      if (typeof raw !== 'object' || Array.isArray(raw)) fail(file, '__metadata__ must be an object of strings')
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(file, `__metadata__.${k} must be a string, got ${typeof v}`)
        metadata[k] = v
      }
      continue
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(file, 'entry is not an object', name)
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>
    if (!isDType(dtype)) fail(file, `unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_BYTES).join(', ')})`, name)
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
      fail(file, `shape ${JSON.stringify(shape)} is not a list of non-negative integers`, name)
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(file, `data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`, name)
    }
    const [begin, end] = offsets as [number, number]
    if (end < begin) fail(file, `data_offsets [${begin}, ${end}] end before they begin`, name)
    const need = numel(shape as number[]) * DTYPE_BYTES[dtype]
    if (end - begin !== need) {
      fail(file, `data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but ${dtype} [${shape.join(', ')}] needs ${need}`, name)
    }
    if (end > dataBytes) {
      fail(file, `data_offsets [${begin}, ${end}] run past the end of the data (${Math.max(0, dataBytes)} bytes): the file is truncated or the offsets are wrong`, name)
    }
    tensors.set(name, { dtype, shape: shape as number[], dataOffsets: [begin, end] })
  }
  // Tensors must tile the data exactly: sorted by offset, each starts where the previous ended.
  const sorted = [...tensors].sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1])
  let at = 0
  let prev: string | undefined
  for (const [name, t] of sorted) {
    const [begin, end] = t.dataOffsets
    if (begin < at) fail(file, `data_offsets [${begin}, ${end}] overlap tensor "${prev}" (which ends at ${at})`, name)
    if (begin > at) fail(file, `bytes ${at}..${begin} before this tensor belong to no tensor`, name)
    at = end
    prev = name
  }
  if (at !== dataBytes) fail(file, `${dataBytes - at} bytes after the last tensor belong to no tensor`)
  return { tensors, metadata, dataStart, fileBytes }
}

async function readExactly(fh: fs.FileHandle, into: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done)
    if (bytesRead === 0) fail(file, `file ended while reading bytes ${position}..${position + into.length}`)
    done += bytesRead
  }
}

async function readHeaderFrom(fh: fs.FileHandle, file: string, hash?: Hash): Promise<SafetensorsHeader> {
  const { size } = await fh.stat()
  if (size < 8) fail(file, `truncated: ${size} bytes, shorter than the 8-byte header length`)
  const lenBytes = new Uint8Array(8)
  await readExactly(fh, lenBytes, 0, file)
  const len = new DataView(lenBytes.buffer).getBigUint64(0, true)
  if (len > BigInt(size - 8)) fail(file, `header length ${len} exceeds the file (${size} bytes): truncated or not a safetensors file`)
  if (len > BigInt(MAX_HEADER_BYTES)) fail(file, `header length ${len} is over the ${MAX_HEADER_BYTES}-byte limit`)
  const headerBytes = new Uint8Array(Number(len))
  await readExactly(fh, headerBytes, 8, file)
  hash?.update(lenBytes).update(headerBytes)
  return parseHeader(headerBytes, size, file)
}

async function openForRead(file: string): Promise<fs.FileHandle> {
  try {
    return await fs.open(file, 'r')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new CheckpointError(code === 'ENOENT' ? 'MISSING_FILE' : 'SAFETENSORS', `${file}: cannot open (${code ?? (e as Error).message})`, { file })
  }
}

/** Reads and validates the header only (names, dtypes, shapes), without the data. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const fh = await openForRead(file)
  try {
    return await readHeaderFrom(fh, file)
  } finally {
    await fh.close()
  }
}

/** Reads a whole file; tensors come back in header order, and the file's sha256 alongside. */
export async function readSafetensors(file: string): Promise<SafetensorsContents> {
  const fh = await openForRead(file)
  try {
    const hash = createHash('sha256')
    const header = await readHeaderFrom(fh, file, hash)
    const byOffset = [...header.tensors].sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0])
    const read = new Map<string, StoredTensor>()
    // In file order, so the hash covers the file exactly once (the header check ensures no holes).
    for (const [name, t] of byOffset) {
      const [begin, end] = t.dataOffsets
      const bytes = new Uint8Array(new ArrayBuffer(end - begin))
      await readExactly(fh, bytes, header.dataStart + begin, file)
      hash.update(bytes)
      read.set(name, { dtype: t.dtype, shape: t.shape, bytes })
    }
    const tensors = new Map<string, StoredTensor>()
    for (const name of header.tensors.keys()) tensors.set(name, read.get(name) as StoredTensor)
    return { tensors, metadata: header.metadata, bytes: header.fileBytes, sha256: hash.digest('hex') }
  } finally {
    await fh.close()
  }
}

// ---------------------------------------------------------------------------------------------
// Conversions

const f32Scratch = new Float32Array(1)
const u32Scratch = new Uint32Array(f32Scratch.buffer)

/** IEEE binary16 bits of a number, round to nearest even (overflow -> infinity). */
export function float32ToFloat16Bits(v: number): number {
  f32Scratch[0] = v
  const x = u32Scratch[0] as number
  const sign = (x >>> 16) & 0x8000
  const exp = (x >>> 23) & 0xff
  let mant = x & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0)
  const e = exp - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign
    mant |= 0x800000
    const shift = 14 - e
    let half = mant >>> shift
    const rem = mant & ((1 << shift) - 1)
    const mid = 1 << (shift - 1)
    if (rem > mid || (rem === mid && half & 1)) half++
    return sign | half
  }
  let half = (e << 10) | (mant >>> 13)
  const rem = mant & 0x1fff
  // A carry out of the mantissa bumps the exponent, which is the correct rounding (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++
  return sign | half
}

export function float16BitsToFloat32(h: number): number {
  const s = h & 0x8000 ? -1 : 1
  const e = (h >>> 10) & 0x1f
  const m = h & 0x3ff
  if (e === 0) return s * m * 2 ** -24
  if (e === 0x1f) return m ? NaN : s * Infinity
  return s * (1 + m / 1024) * 2 ** (e - 15)
}

/** Float values of a float tensor (F32 without copying; F16, BF16 and F64 converted). */
export function toFloat32(t: StoredTensor, where = 'tensor'): Float32Array {
  const n = numel(t.shape)
  const b = t.bytes
  switch (t.dtype) {
    case 'F32':
      return b.byteOffset % 4 === 0 ? new Float32Array(b.buffer, b.byteOffset, n) : new Float32Array(b.slice().buffer, 0, n)
    case 'F16': {
      const out = new Float32Array(n)
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
      for (let i = 0; i < n; i++) out[i] = float16BitsToFloat32(dv.getUint16(2 * i, true))
      return out
    }
    case 'BF16': {
      const bits = new Uint32Array(n)
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
      for (let i = 0; i < n; i++) bits[i] = dv.getUint16(2 * i, true) << 16
      return new Float32Array(bits.buffer)
    }
    case 'F64': {
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
      return Float32Array.from({ length: n }, (_, i) => dv.getFloat64(8 * i, true))
    }
    default:
      throw new CheckpointError('SAFETENSORS', `${where}: expected a float tensor, found ${t.dtype}`, { field: where })
  }
}

/** Int32 values of an I32 tensor (no copy). */
export function toInt32(t: StoredTensor, where = 'tensor'): Int32Array {
  if (t.dtype !== 'I32') throw new CheckpointError('SAFETENSORS', `${where}: expected an I32 tensor, found ${t.dtype}`, { field: where })
  const b = t.bytes
  return b.byteOffset % 4 === 0 ? new Int32Array(b.buffer, b.byteOffset, numel(t.shape)) : new Int32Array(b.slice().buffer, 0, numel(t.shape))
}

function encodeTensor(name: string, t: TensorInput, file: string): { dtype: DType; bytes: Uint8Array } {
  if (!Array.isArray(t.shape) || !t.shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
    fail(file, `shape ${JSON.stringify(t.shape)} is not a list of non-negative integers`, name)
  }
  const n = numel(t.shape)
  const view = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
  if (t.data instanceof Float32Array) {
    const dtype = t.dtype ?? 'F32'
    if (t.data.length !== n) fail(file, `${t.data.length} values for shape [${t.shape.join(', ')}] (${n})`, name)
    if (dtype === 'F32') return { dtype, bytes: view(t.data) }
    const half = new Uint16Array(n)
    if (dtype === 'F16') for (let i = 0; i < n; i++) half[i] = float32ToFloat16Bits(t.data[i] as number)
    else {
      // BF16: round to nearest even on the upper 16 bits (NaN stays NaN)
      const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, n)
      for (let i = 0; i < n; i++) {
        const x = bits[i] as number
        half[i] = (x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16
      }
    }
    return { dtype, bytes: view(half) }
  }
  if (t.data instanceof Int32Array) {
    if (t.data.length !== n) fail(file, `${t.data.length} values for shape [${t.shape.join(', ')}] (${n})`, name)
    return { dtype: 'I32', bytes: view(t.data) }
  }
  const dtype = t.dtype
  if (!isDType(dtype)) fail(file, `unknown dtype ${JSON.stringify(dtype)}`, name)
  if (t.data.length !== n * DTYPE_BYTES[dtype]) fail(file, `${t.data.length} bytes for ${dtype} [${t.shape.join(', ')}]`, name)
  return { dtype, bytes: t.data }
}

/** Header bytes (with the 8-byte length) and the tensors' bytes in data order. */
function layout(tensors: Iterable<[string, TensorInput]>, metadata: Record<string, string> | undefined, file: string): { head: Uint8Array; chunks: Uint8Array[]; bytes: number } {
  const header: Record<string, unknown> = {}
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') fail(file, `__metadata__.${k} must be a string`)
    header[METADATA_KEY] = metadata
  }
  const chunks: Uint8Array[] = []
  let at = 0
  for (const [name, t] of tensors) {
    if (name === METADATA_KEY) fail(file, 'a tensor cannot be named __metadata__', name)
    if (name in header) fail(file, 'duplicate tensor name', name)
    const { dtype, bytes } = encodeTensor(name, t, file)
    header[name] = { dtype, shape: t.shape, data_offsets: [at, at + bytes.length] }
    chunks.push(bytes)
    at += bytes.length
  }
  let json = JSON.stringify(header)
  // Pad with spaces so the data starts 8-byte aligned, as the Python writer does.
  const jsonBytes = Buffer.byteLength(json)
  json += ' '.repeat((8 - ((8 + jsonBytes) % 8)) % 8)
  const body = Buffer.from(json, 'utf8')
  const head = new Uint8Array(8 + body.length)
  new DataView(head.buffer).setBigUint64(0, BigInt(body.length), true)
  head.set(body, 8)
  return { head, chunks, bytes: head.length + at }
}

function entries(tensors: Record<string, TensorInput> | Map<string, TensorInput>): Array<[string, TensorInput]> {
  return tensors instanceof Map ? [...tensors] : Object.entries(tensors)
}

/** The whole file in memory (small files and tests). */
export function encodeSafetensors(tensors: Record<string, TensorInput> | Map<string, TensorInput>, metadata?: Record<string, string>): Uint8Array {
  const { head, chunks, bytes } = layout(entries(tensors), metadata, '<buffer>')
  const out = new Uint8Array(bytes)
  out.set(head, 0)
  let at = head.length
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

export interface WriteResult {
  bytes: number
  sha256: string
}

/** Writes the file tensor by tensor and fsyncs it; returns its size and sha256. */
export async function writeSafetensors(file: string, tensors: Record<string, TensorInput> | Map<string, TensorInput>, metadata?: Record<string, string>): Promise<WriteResult> {
  const { head, chunks, bytes } = layout(entries(tensors), metadata, file)
  const hash = createHash('sha256')
  const fh = await fs.open(file, 'w')
  try {
    let at = 0
    for (const c of [head, ...chunks]) {
      let done = 0
      while (done < c.length) {
        const { bytesWritten } = await fh.write(c, done, c.length - done, at + done)
        done += bytesWritten
      }
      hash.update(c)
      at += c.length
    }
    await fh.sync()
  } finally {
    await fh.close()
  }
  return { bytes, sha256: hash.digest('hex') }
}
