/** 1.2 M, 340 k: parameter counts as the designer shows them. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`
  return String(n)
}

/** 3.4 TFLOP */
export function formatFlops(n: number): string {
  const units: Array<[number, string]> = [
    [1e15, 'PFLOP'],
    [1e12, 'TFLOP'],
    [1e9, 'GFLOP'],
    [1e6, 'MFLOP']
  ]
  for (const [size, unit] of units) if (n >= size) return `${(n / size).toFixed(2)} ${unit}`
  return `${Math.round(n)} FLOP`
}

/** 45 s, 12 min, 3.5 h */
export function formatSeconds(s: number): string {
  if (s < 90) return `${Math.round(s)} s`
  if (s < 5400) return `${Math.round(s / 60)} min`
  return `${(s / 3600).toFixed(1)} h`
}
