// Smoothing of a whole series (before bucketing, so a zoom shows the same curve): EMA debiased at the start as
// TensorBoard does, a trailing running average, and a Gaussian kernel. NaN/Infinity points (a diverged run)
// are skipped: they stay non-finite in the output and never enter a neighbour's value.
import type { Smoothing } from '../view-state'

/** Gaussian kernels are cut at this many standard deviations (then renormalised over the points present). */
export const GAUSSIAN_TRUNCATE = 3

export function smooth(y: ArrayLike<number>, smoothing: Smoothing): Float64Array {
  const n = y.length
  const out = new Float64Array(n)
  if (smoothing.kind === 'none' || smoothing.param <= 0) {
    for (let i = 0; i < n; i++) out[i] = y[i]!
    return out
  }
  if (smoothing.kind === 'ema') return ema(y, smoothing.param, out)
  if (smoothing.kind === 'running') return running(y, Math.max(1, Math.round(smoothing.param)), out)
  return gaussian(y, smoothing.param, out)
}

/** s_t = w s_{t-1} + (1 - w) y_t, divided by 1 - w^t (t counts finite points) so the start is not pulled to 0. */
function ema(y: ArrayLike<number>, w: number, out: Float64Array): Float64Array {
  let acc = 0
  // w^t as a running product (Math.pow per point costs more than the rest of the loop)
  let wt = 1
  let i = 0
  // once w^t < 1e-17, 1 - w^t is exactly 1 in float64: the rest needs no division (the same numbers, faster)
  for (; i < y.length && wt >= 1e-17; i++) {
    const v = y[i]!
    if (!Number.isFinite(v)) {
      out[i] = v
      continue
    }
    acc = acc * w + (1 - w) * v
    wt *= w
    out[i] = acc / (1 - wt)
  }
  for (; i < y.length; i++) {
    const v = y[i]!
    if (!Number.isFinite(v)) {
      out[i] = v
      continue
    }
    acc = acc * w + (1 - w) * v
    out[i] = acc
  }
  return out
}

/** Mean of the last `window` finite points up to and including each point (trailing: a value never looks ahead). */
function running(y: ArrayLike<number>, window: number, out: Float64Array): Float64Array {
  const ring = new Float64Array(window)
  let filled = 0
  let head = 0
  let sum = 0
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!
    if (!Number.isFinite(v)) {
      out[i] = v
      continue
    }
    if (filled === window) sum -= ring[head]!
    else filled++
    ring[head] = v
    sum += v
    head = (head + 1) % window
    out[i] = sum / filled
  }
  return out
}

/** Centred Gaussian over point indices (sigma in points), truncated at GAUSSIAN_TRUNCATE sigma, renormalised over the finite points present. */
function gaussian(y: ArrayLike<number>, sigma: number, out: Float64Array): Float64Array {
  const half = Math.max(1, Math.ceil(GAUSSIAN_TRUNCATE * sigma))
  const kernel = new Float64Array(2 * half + 1)
  for (let k = -half; k <= half; k++) kernel[k + half] = Math.exp(-(k * k) / (2 * sigma * sigma))
  const n = y.length
  for (let i = 0; i < n; i++) {
    const v = y[i]!
    if (!Number.isFinite(v)) {
      out[i] = v
      continue
    }
    let s = 0
    let ws = 0
    const from = Math.max(0, i - half)
    const to = Math.min(n - 1, i + half)
    for (let j = from; j <= to; j++) {
      const u = y[j]!
      if (!Number.isFinite(u)) continue
      const w = kernel[j - i + half]!
      s += w * u
      ws += w
    }
    out[i] = s / ws
  }
  return out
}
