/**
 * Seeded pseudo-random numbers for the traffic simulator (a test stand-in for Envoy), so a run
 * that failed can be replayed with the seed its report printed.
 */
export type Random = () => number;

/** mulberry32: a small, fast 32-bit generator; returns numbers in [0, 1). */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
