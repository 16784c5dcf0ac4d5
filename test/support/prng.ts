/** The seeded PRNG tests replay random cases with: the one the native engine's impairment uses. */
export { mulberry32 } from '../../src/media/engines/native/transport/impairment.js';
