/**
 * Kill -9 the operator process at random points while four releases run side by side (see
 * `kill-campaign.ts`): after every kill the state read back from the apiserver holds every
 * invariant, and each release ends as it would have without kills. `npm run bench -- reliability`
 * runs the same campaign with hundreds of kills.
 */
import { EXPECTED_OUTCOME, killCampaign } from './kill-campaign.js';

const KILLS = Number(process.env.KILL_TEST_KILLS ?? 5);

test(`${KILLS} kills -9 at random points: weights valid, no step skipped or repeated, nothing promoted twice, every outcome as without kills`, async () => {
  const r = await killCampaign({ kills: KILLS, seed: 16, maxLifeMs: 4000, log: (l) => console.log(l) });
  console.log(
    `kills ${r.kills}, rounds ${r.rounds}, releases ${r.releases}; operator start ${Math.min(...r.startMs)}–${Math.max(...r.startMs)} ms; outcomes: ${r.outcomes.join(', ')}`,
  );
  expect(r.kills).toBe(KILLS);
  expect(r.breaks).toStrictEqual([]);
  expect(r.operatorErrors).toStrictEqual([]);
  expect(r.outcomes).toStrictEqual(
    Array.from({ length: r.rounds }, (_, i) =>
      Object.entries(EXPECTED_OUTCOME).map(([kind, phase]) => `r${i + 1}-${kind}: ${phase}`),
    ).flat(),
  );
}, 300_000);
