// Seeded randomness lives in one place: ../util/random.ts.
export { hash53, unitHash, Rng } from '../util/random'
