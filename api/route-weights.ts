/**
 * How Istio shares a route's traffic among its destinations (VirtualService `http[].route`):
 * "If there is only one destination in a rule, it will receive all traffic", whatever weight it
 * states; otherwise each destination gets its `weight`, none when the weight is unset or 0, in
 * proportion to the sum. The one statement of that rule for the model, the validator, explain,
 * the constructs, the operator's router (which reads the live weights back, hence its home in
 * `api/`, the one folder the operator shares with the others) and the traffic simulator.
 */

/** The weight Istio gives to a lone destination: all the traffic. */
export const LONE_DESTINATION_WEIGHT = 100;

/** The weight each destination of one route takes, in order, as Istio applies them. */
export function destinationWeights(destinations: readonly { readonly weight?: number }[]): number[] {
  if (destinations.length === 1) return [LONE_DESTINATION_WEIGHT];
  return destinations.map((d) => d.weight ?? 0);
}

/**
 * How the Gateway API shares a rule's traffic among its `backendRefs` (HTTPRoute, GRPCRoute):
 * each gets `weight / sum of weights`, an unset weight counting as 1 and 0 taking none; a rule
 * whose weights are all 0 sends nothing (the proxy answers 500). Shares in percent, in order.
 */
export function backendShares(backendRefs: readonly { readonly weight?: number }[]): number[] {
  const weights = backendRefs.map((b) => Math.max(0, b.weight ?? 1));
  const total = weights.reduce((s, w) => s + w, 0);
  return weights.map((w) => (total > 0 ? (w * 100) / total : 0));
}
