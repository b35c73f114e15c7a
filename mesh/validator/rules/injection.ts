/**
 * MESH802: a workload that routes or policies are written for, in a namespace known to lack
 * sidecar injection. MESH801 (istioctl's IST0102, info) says a namespace has no injection label;
 * this one says what that costs: the workload's pods run without Envoy, so the policies that
 * select it are not enforced and its routes apply only to callers that have a sidecar of their
 * own (in the same namespace, none do).
 */
import { namespaceInjection } from '../../model/load.js';
import { hostMatches, indexOf, policiesFor, resolveHost, selects } from '../../model/query.js';
import type { Entry, MeshModel, Namespace, Workload } from '../../model/types.js';
import type { Rule } from '../rule.js';

/** Why a namespace does not inject, or undefined when it does (or says nothing the model can read). */
export function namespaceWithoutInjection(ns: Namespace): string | undefined {
  const label = ns.labels['istio-injection'];
  switch (namespaceInjection(ns.labels)) {
    case 'namespace':
      return undefined;
    case 'pod':
      return 'no istio-injection or istio.io/rev label';
    case 'off':
      return label === 'disabled'
        ? 'istio-injection: disabled'
        : `istio-injection: ${label} (only "enabled" injects)`;
  }
}

const id = (e: Entry) => `${e.kind} ${e.namespace}/${e.name}`;

/** The routes and policies written for a workload: what a missing sidecar silently voids. */
export function meshConfigFor(model: MeshModel, w: Workload): { policies: string[]; routes: string[] } {
  const ix = indexOf(model);
  const policies = [
    ...policiesFor(model, w).map(id),
    ...(ix.peerAuthByNs.get(w.namespace) ?? [])
      .filter((p) => !p.selector || selects(p.selector, w.podLabels))
      .map(id),
    ...model.envoyFilters
      .filter((f) => f.namespace === w.namespace && f.selector && selects(f.selector, w.podLabels))
      .map(id),
  ];
  const routes = new Set<string>();
  for (const svc of ix.servicesOfWorkload.get(w) ?? []) {
    for (const vs of [
      ...(ix.virtualServicesByHost.get(svc.fqdn) ?? []),
      ...(ix.virtualServicesByHost.get('*') ?? []),
    ]) {
      const mesh = !vs.gateways.length || vs.gateways.includes('mesh');
      if (
        mesh &&
        vs.hosts.some((h) => hostMatches(resolveHost(h, vs.namespace, model.clusterDomain), svc.fqdn))
      )
        routes.add(id(vs));
    }
  }
  return { policies: [...new Set(policies)], routes: [...routes] };
}

export const injectionRule: Rule = {
  code: 'MESH802',
  severity: 'warning',
  mirrors: [],
  title: 'routes or policies for a workload without sidecar injection',
  hint: 'enable injection for the namespace (kubectl label namespace <ns> istio-injection=enabled, or a Mesh with sidecarInjection: true) and restart its pods; or remove the routes and policies that cannot apply',
  check: (m, report) => {
    const byNs = indexOf(m).workloadsByNs;
    for (const ns of m.namespaces) {
      if (ns.name === m.rootNamespace) continue;
      const why = namespaceWithoutInjection(ns);
      if (!why) continue;
      for (const w of byNs.get(ns.name) ?? []) {
        // A pod label opts in even where the namespace says nothing (not where it says disabled).
        if (w.podLabels['sidecar.istio.io/inject'] === 'true' && ns.labels['istio-injection'] === undefined)
          continue;
        // Ambient pods have no sidecar by design: ztunnel and the waypoint carry their traffic.
        if (w.ambient) continue;
        const { policies, routes } = meshConfigFor(m, w);
        if (!policies.length && !routes.length) continue;
        const parts = [
          ...(policies.length
            ? [`${policies.join(', ')} ${policies.length > 1 ? 'are' : 'is'} not enforced on it`]
            : []),
          ...(routes.length
            ? [
                `${routes.join(', ')} ${routes.length > 1 ? 'apply' : 'applies'} only to callers that have a sidecar`,
              ]
            : []),
        ];
        report(
          w,
          `${w.name} runs without the Envoy sidecar (namespace ${ns.name} has ${why}): ${parts.join('; ')}`,
        );
      }
    }
  },
};
