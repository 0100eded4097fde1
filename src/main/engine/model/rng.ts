// Seeded randomness lives in one place: ../util/random.ts.
export { hashSeed, Rng } from '../util/random'
