// How closely two models' logits agree: what "function preserving" is measured by (tests, bench).

export interface LogitAgreement {
  /** max |a - b| / max |a|. */
  maxRelErr: number
  /** max |a - b|, and max |a| (the scale it is relative to) */
  maxAbsErr: number
  maxAbs: number
  /** Mean over positions of KL(softmax(a) || softmax(b)). */
  kl: number
  /** Share of positions whose argmax agrees. */
  top1: number
}

/** a: reference logits, b: the other model's, both [positions * V] row-major. */
export function logitAgreement(a: Float32Array, b: Float32Array, V: number): LogitAgreement {
  let maxAbs = 0
  let maxErr = 0
  for (let i = 0; i < a.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a[i]!))
    maxErr = Math.max(maxErr, Math.abs(a[i]! - b[i]!))
  }
  const rows = a.length / V
  let kl = 0
  let same = 0
  for (let r = 0; r < rows; r++) {
    const pa = softmax(a.subarray(r * V, (r + 1) * V))
    const pb = softmax(b.subarray(r * V, (r + 1) * V))
    let k = 0
    for (let v = 0; v < V; v++) if (pa[v]! > 0) k += pa[v]! * (Math.log(pa[v]!) - Math.log(Math.max(pb[v]!, 1e-30)))
    kl += k
    if (argmax(pa) === argmax(pb)) same++
  }
  return { maxRelErr: maxErr / maxAbs, maxAbsErr: maxErr, maxAbs, kl: kl / rows, top1: same / rows }
}

function softmax(z: Float32Array): Float64Array {
  let max = -Infinity
  for (const x of z) max = Math.max(max, x)
  const e = Float64Array.from(z, (x) => Math.exp(x - max))
  const s = e.reduce((a, b) => a + b, 0)
  return e.map((x) => x / s)
}

function argmax(p: Float64Array): number {
  let best = 0
  for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i
  return best
}
