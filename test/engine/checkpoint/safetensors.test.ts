import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  encodeSafetensors,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  readSafetensors,
  readSafetensorsHeader,
  toFloat32,
  toInt32,
  writeSafetensors
} from '../../../src/main/engine/checkpoint/safetensors'
import { tempDir } from '../../helpers/tmp'

const dir = tempDir('elle-st-')

/** A file from a hand-written header and data, for the corrupt cases. */
function rawFile(name: string, header: unknown, data: Uint8Array, lengthOverride?: bigint): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header))
  const buf = Buffer.alloc(8 + json.length + data.length)
  buf.writeBigUInt64LE(lengthOverride ?? BigInt(json.length), 0)
  json.copy(buf, 8)
  Buffer.from(data).copy(buf, 8 + json.length)
  const file = path.join(dir, name)
  fs.writeFileSync(file, buf)
  return file
}

describe('safetensors round trip', () => {
  it('writes and reads F32, I32, F16, BF16, scalars, empty tensors and metadata', async () => {
    const file = path.join(dir, 'rt.safetensors')
    const a = Float32Array.from({ length: 6 }, (_, i) => i * 0.25 - 1)
    const tensors = {
      a: { shape: [2, 3], data: a },
      ids: { shape: [4], data: Int32Array.from([1, -2, 3, 2147483647]) },
      half: { dtype: 'F16' as const, shape: [3], data: Float32Array.from([1, -2.5, 65504]) },
      brain: { dtype: 'BF16' as const, shape: [2], data: Float32Array.from([1.5, -3]) },
      scalar: { shape: [], data: Float32Array.from([7]) },
      empty: { shape: [0, 3], data: new Float32Array(0) }
    }
    const written = await writeSafetensors(file, tensors, { format: 'pt', note: 'hi' })
    const bytes = fs.readFileSync(file)
    expect(written.bytes).toBe(bytes.length)
    expect(written.sha256).toBe(createHash('sha256').update(bytes).digest('hex'))
    expect(Buffer.from(encodeSafetensors(tensors, { format: 'pt', note: 'hi' })).equals(bytes)).toBe(true)
    // Data starts 8-byte aligned, as the Python writer pads the header.
    expect((8 + Number(bytes.readBigUInt64LE(0))) % 8).toBe(0)

    const read = await readSafetensors(file)
    expect(read.sha256).toBe(written.sha256)
    expect(read.metadata).toEqual({ format: 'pt', note: 'hi' })
    expect([...read.tensors.keys()]).toEqual(Object.keys(tensors))
    expect(toFloat32(read.tensors.get('a')!)).toEqual(a)
    expect(read.tensors.get('a')!.shape).toEqual([2, 3])
    expect(Array.from(toInt32(read.tensors.get('ids')!))).toEqual([1, -2, 3, 2147483647])
    expect(read.tensors.get('half')!.dtype).toBe('F16')
    expect(Array.from(toFloat32(read.tensors.get('half')!))).toEqual([1, -2.5, 65504])
    expect(Array.from(toFloat32(read.tensors.get('brain')!))).toEqual([1.5, -3])
    expect(read.tensors.get('scalar')!.shape).toEqual([])
    expect(Array.from(toFloat32(read.tensors.get('scalar')!))).toEqual([7])
    expect(toFloat32(read.tensors.get('empty')!).length).toBe(0)

    const header = await readSafetensorsHeader(file)
    expect(header.tensors.get('ids')).toEqual({ dtype: 'I32', shape: [4], dataOffsets: [24, 40] })
  })

  it('converts float16 with round-to-nearest-even, subnormals, overflow and NaN', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 2 ** -24, 2 ** -14, -(2 ** -20)]) expect(float16BitsToFloat32(float32ToFloat16Bits(v))).toBe(v)
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00) // tie rounds to even (down)
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02) // tie rounds to even (up)
    expect(float16BitsToFloat32(float32ToFloat16Bits(70000))).toBe(Infinity)
    expect(float16BitsToFloat32(float32ToFloat16Bits(2 ** -26))).toBe(0)
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true)
  })

  it('refuses values that do not fit the shape on write', async () => {
    await expect(writeSafetensors(path.join(dir, 'bad.safetensors'), { w: { shape: [2, 2], data: new Float32Array(3) } })).rejects.toThrow(
      /bad\.safetensors: tensor "w": 3 values for shape \[2, 2\]/
    )
  })
})

describe('safetensors validation', () => {
  const f32 = (n: number): Uint8Array => new Uint8Array(new Float32Array(n).buffer)
  const read = (file: string): Promise<unknown> => readSafetensors(file)

  it('names a missing file', async () => {
    await expect(read(path.join(dir, 'nope.safetensors'))).rejects.toMatchObject({ code: 'MISSING_FILE', message: expect.stringContaining('nope.safetensors') })
  })

  it('refuses a file shorter than the length prefix', async () => {
    const file = path.join(dir, 'tiny.safetensors')
    fs.writeFileSync(file, Buffer.from([1, 2, 3]))
    await expect(read(file)).rejects.toThrow(/tiny\.safetensors: truncated: 3 bytes/)
  })

  it('refuses a header length beyond the file', async () => {
    const file = rawFile('long.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(1), 10_000n)
    await expect(read(file)).rejects.toThrow(/long\.safetensors: header length 10000 exceeds the file/)
  })

  it('refuses truncated data, naming the tensor', async () => {
    const good = path.join(dir, 'good.safetensors')
    await writeSafetensors(good, { a: { shape: [4], data: new Float32Array(4) }, b: { shape: [8], data: new Float32Array(8) } })
    const cut = path.join(dir, 'cut.safetensors')
    fs.writeFileSync(cut, fs.readFileSync(good).subarray(0, fs.statSync(good).size - 5))
    await expect(read(cut)).rejects.toThrow(/cut\.safetensors: tensor "b": data_offsets \[16, 48\] run past the end of the data \(43 bytes\)/)
  })

  it('refuses overlapping offsets, naming both tensors', async () => {
    const file = rawFile('overlap.safetensors', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32(3))
    await expect(read(file)).rejects.toThrow(/overlap\.safetensors: tensor "b": data_offsets \[4, 12\] overlap tensor "a"/)
  })

  it('refuses holes and trailing bytes', async () => {
    const hole = rawFile('hole.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(2))
    await expect(read(hole)).rejects.toThrow(/hole\.safetensors: tensor "a": bytes 0\.\.4 before this tensor belong to no tensor/)
    const tail = rawFile('tail.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(2))
    await expect(read(tail)).rejects.toThrow(/tail\.safetensors: 4 bytes after the last tensor/)
  })

  it('refuses offsets that do not match dtype x shape', async () => {
    const file = rawFile('size.safetensors', { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(2))
    await expect(read(file)).rejects.toThrow(/size\.safetensors: tensor "a": data_offsets \[0, 8\] hold 8 bytes, but F32 \[3\] needs 12/)
  })

  it('refuses an unknown dtype, naming the tensor', async () => {
    const file = rawFile('dtype.safetensors', { 'layers.0.w': { dtype: 'Q4_K', shape: [2], data_offsets: [0, 1] } }, new Uint8Array(1))
    await expect(read(file)).rejects.toMatchObject({
      code: 'SAFETENSORS',
      field: 'layers.0.w',
      message: expect.stringMatching(/dtype\.safetensors: tensor "layers\.0\.w": unknown dtype "Q4_K"/)
    })
  })

  it('refuses a header that is not JSON, or bad metadata', async () => {
    await expect(read(rawFile('json.safetensors', '{"a": ', new Uint8Array(0)))).rejects.toThrow(/json\.safetensors: header is not valid UTF-8 JSON/)
    await expect(read(rawFile('meta.safetensors', { __metadata__: { step: 3 } }, new Uint8Array(0)))).rejects.toThrow(/meta\.safetensors: __metadata__\.step must be a string/)
    await expect(read(rawFile('shape.safetensors', { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }, new Uint8Array(0)))).rejects.toThrow(
      /shape\.safetensors: tensor "a": shape \[-1\]/
    )
  })
})
