// The unigram floor: the perplexity of a model that knows only each token's frequency in the domain's training
// text. A language model whose perplexity is near it has learned the vocabulary's marginal distribution and no
// context yet (the "unigram stage" of small, briefly trained models); the benchmark reports it beside each domain.

/** Add-one smoothed log-probabilities (nats) of every token id in [0, vocabSize), from the given token counts. */
export function unigramLogProbs(tokens: ArrayLike<number>, vocabSize: number): Float64Array {
  const counts = new Float64Array(vocabSize)
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!
    if (t < 0 || t >= vocabSize) throw new Error(`token id ${t} outside the vocabulary [0, ${vocabSize})`)
    counts[t]! += 1
  }
  const logTotal = Math.log(tokens.length + vocabSize)
  const out = new Float64Array(vocabSize)
  for (let v = 0; v < vocabSize; v++) out[v] = Math.log(counts[v]! + 1) - logTotal
  return out
}

/** Perplexity of the unigram model on the given target tokens: exp of their mean negative log-probability. */
export function unigramPerplexity(logProbs: Float64Array, targets: ArrayLike<number>): number {
  if (targets.length === 0) return NaN
  let nll = 0
  for (let i = 0; i < targets.length; i++) {
    const lp = logProbs[targets[i]!]
    if (lp === undefined) throw new Error(`target id ${targets[i]} outside the vocabulary [0, ${logProbs.length})`)
    nll -= lp
  }
  return Math.exp(nll / targets.length)
}
