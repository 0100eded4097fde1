// Lifelong pre-training metrics over the perplexity matrix PPL[t][j] (project decisions, elle-method §16).

/** AP(t): arithmetic mean of the current perplexities of the domains seen so far. */
export function averagePerplexity(ppl: readonly number[]): number {
  return ppl.reduce((a, b) => a + b, 0) / ppl.length
}

/** Geometric AP: exp of the mean validation loss (the paper's exact form is unverified, so both are kept). */
export function geometricAveragePerplexity(losses: readonly number[]): number {
  return Math.exp(losses.reduce((a, b) => a + b, 0) / losses.length)
}

/**
 * AP+(t): mean over previous domains j of PPL[t][j] - PPL[end of stage j][j]; lower is less forgetting.
 * `reference` holds each domain's perplexity at the end of its own stage. Undefined (null) without any
 * previous domain, i.e. during the first stage.
 */
export function forgettingAP(current: ReadonlyMap<string, number>, reference: ReadonlyMap<string, number>, currentDomain: string): number | null {
  const increases: number[] = []
  for (const [domain, ppl] of current) {
    if (domain === currentDomain) continue
    const atEnd = reference.get(domain)
    if (atEnd !== undefined) increases.push(ppl - atEnd)
  }
  return increases.length === 0 ? null : increases.reduce((a, b) => a + b, 0) / increases.length
}
