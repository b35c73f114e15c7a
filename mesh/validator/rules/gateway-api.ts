/**
 * The rules of the Gateway API and ambient mode: a Service routed by both a VirtualService and an
 * HTTPRoute, an L7 policy enforced by ztunnel (which Istio turns into DENY), a route backend that
 * does not exist or has no pods, Gateway API CRDs older than Istio needs, a cross-namespace
 * reference no ReferenceGrant allows, an `istio.io/use-waypoint` label naming no waypoint.
 */
import {
  GATEWAY_API_GROUP,
  MIN_GATEWAY_API,
  namespacesWithObjects,
  referenceGrantFor,
  refNotPermitted,
  routeBackendRefs,
  USE_WAYPOINT,
  USE_WAYPOINT_NAMESPACE,
  WAYPOINT_CLASS,
  waypointFor,
} from '../../model/gateway-api.js';
import { hostMatches, lookupHost, resolveHost, workloadsOf, workloadsSelected } from '../../model/query.js';
import type { AuthzRule, MeshModel } from '../../model/types.js';
import type { Rule } from '../rule.js';

/** The L7 fields of a rule (what ztunnel cannot evaluate). */
function l7Fields(r: AuthzRule): string[] {
  const out = new Set<string>();
  for (const t of r.to ?? []) {
    for (const [k, v] of Object.entries(t.operation ?? {})) {
      if (['methods', 'notMethods', 'paths', 'notPaths', 'hosts', 'notHosts'].includes(k) && v !== undefined)
        out.add(`to.operation.${k}`);
    }
  }
  for (const f of r.from ?? []) {
    for (const k of ['requestPrincipals', 'notRequestPrincipals'] as const)
      if (f.source?.[k] !== undefined) out.add(`from.source.${k}`);
  }
  for (const w of r.when ?? []) if (w.key?.startsWith('request.')) out.add(`when ${w.key}`);
  return [...out];
}

/** Whether a waypoint serves the namespace (a Gateway of class istio-waypoint there). */
const hasWaypoint = (m: MeshModel, ns: string) =>
  m.k8sGateways.some((g) => g.namespace === ns && g.gatewayClassName === WAYPOINT_CLASS);

export const gatewayApiRules: readonly Rule[] = [
  {
    code: 'MESH951',
    severity: 'error',
    mirrors: [],
    title: 'a Service routed by both a VirtualService and an HTTPRoute',
    hint: 'route each Service with one API: delete the VirtualService or the HTTPRoute/GRPCRoute',
    check: (m, report) => {
      for (const r of m.gatewayApiRoutes) {
        for (const p of r.parentRefs) {
          if (p.kind !== 'Service' || p.group !== '') continue;
          const fqdn = resolveHost(p.name, p.namespace, m.clusterDomain);
          const vs = m.virtualServices.filter(
            (v) =>
              (!v.gateways.length || v.gateways.includes('mesh')) &&
              v.hosts.some((h) => hostMatches(resolveHost(h, v.namespace, m.clusterDomain), fqdn)),
          );
          if (vs.length)
            report(
              r,
              `Service ${p.namespace}/${p.name} is also routed by ${vs.map((v) => `VirtualService ${v.namespace}/${v.name}`).join(', ')}: Istio applies only one of them`,
            );
        }
      }
    },
  },
  {
    code: 'MESH952',
    severity: 'error',
    mirrors: [],
    title: 'L7 AuthorizationPolicy enforced by ztunnel (Istio enforces it as DENY)',
    hint: 'attach the policy to the waypoint (targetRefs: the Service or the waypoint Gateway), or drop its L7 fields',
    check: (m, report) => {
      for (const p of m.authorizationPolicies) {
        if (p.targetRefs || p.action !== 'ALLOW') continue;
        const ambient = workloadsSelected(m, p.namespace, p.selector).filter((w) => w.ambient);
        if (!ambient.length) continue;
        p.rules.forEach((r, i) => {
          const fields = l7Fields(r);
          if (fields.length)
            report(
              p,
              `rules[${i}] has L7 fields (${fields.join(', ')}) and selects ${ambient.map((w) => w.name).join(', ')}, captured by ztunnel${hasWaypoint(m, p.namespace) ? ' (a selector policy is not sent to the waypoint)' : ''}: ztunnel cannot evaluate them and enforces the policy as DENY`,
            );
        });
      }
    },
  },
  {
    code: 'MESH953',
    severity: 'warning',
    mirrors: ['IST0101'],
    title: 'route backend Service not found or without pods',
    hint: 'name an existing Service whose selector matches deployed pods (one Service per version for weighted backends)',
    check: (m, report) => {
      const services = new Map(m.services.map((s) => [`${s.namespace}/${s.name}`, s]));
      const undeployed = new Set(
        (m.undeployedSubsets ?? []).map((u) => `${u.namespace}/${u.service}-${u.subset}`),
      );
      for (const r of m.gatewayApiRoutes) {
        for (const b of r.backends) {
          const key = `${b.namespace}/${b.name}`;
          const svc = services.get(key);
          if (!svc) {
            if (m.knownNamespaces.has(b.namespace)) report(r, `${b.field}: Service ${key} not found`);
          } else if (
            m.workloads.length &&
            svc.selector &&
            !workloadsOf(m, svc).length &&
            !undeployed.has(key)
          ) {
            report(
              r,
              `${b.field}: Service ${key} selects no pods (${JSON.stringify(svc.selector)}): requests routed there fail`,
            );
          }
        }
      }
    },
  },
  {
    code: 'MESH954',
    severity: 'error',
    mirrors: [],
    title: 'Gateway API CRDs older than Istio 1.30 requires',
    hint: `install the Gateway API CRDs v${MIN_GATEWAY_API.major}.${MIN_GATEWAY_API.minor}.x (standard channel), the version Istio 1.30 requires`,
    check: (m, report) => {
      for (const c of m.gatewayApiCrds) {
        const v = /^v(\d+)\.(\d+)\./.exec(c.version);
        const old =
          !v ||
          Number(v[1]) < MIN_GATEWAY_API.major ||
          (Number(v[1]) === MIN_GATEWAY_API.major && Number(v[2]) < MIN_GATEWAY_API.minor);
        if (old) report(c, `bundle version ${c.version}; Istio 1.30 requires v1.5 or newer`);
      }
    },
  },
  {
    code: 'MESH955',
    severity: 'warning',
    mirrors: [],
    title: 'PeerAuthentication DISABLE on ambient pods (ztunnel ignores it)',
    hint: 'use PERMISSIVE to accept plain text from outside the mesh, or take the pods out of ambient mode (istio.io/dataplane-mode: none) to run them without mTLS',
    check: (m, report) => {
      for (const p of m.peerAuthentications) {
        const modes = [
          ...(p.mode === 'DISABLE' ? ['mtls.mode'] : []),
          ...Object.entries(p.portLevelMtls)
            .filter(([, v]) => v === 'DISABLE')
            .map(([port]) => `portLevelMtls[${port}]`),
        ];
        if (!modes.length) continue;
        const ns = p.namespace === m.rootNamespace ? undefined : p.namespace;
        const ambient = m.workloads.filter(
          (w) =>
            w.ambient &&
            (ns === undefined || w.namespace === ns) &&
            (!p.selector || workloadsSelected(m, w.namespace, p.selector).includes(w)),
        );
        if (ambient.length)
          report(
            p,
            `${modes.join(', ')} is DISABLE and applies to ${ambient.map((w) => w.name).join(', ')}, captured by ztunnel: ztunnel always uses mTLS (HBONE) between ambient pods and ignores DISABLE`,
          );
      }
    },
  },
  {
    code: 'MESH956',
    severity: 'warning',
    mirrors: [],
    title: 'sourceLabels match on a host served by a waypoint (a waypoint cannot evaluate it)',
    hint: "match on a header or the source namespace instead, or route at the caller (sidecar mode): a waypoint does not know the client pod's labels",
    check: (m, report) => {
      for (const vs of m.virtualServices) {
        if (vs.gateways.length && !vs.gateways.includes('mesh')) continue;
        const waypointed = vs.hosts.flatMap((h) => {
          const reg = lookupHost(m, resolveHost(h, vs.namespace, m.clusterDomain));
          const wp = reg?.type === 'service' ? waypointFor(m, reg.service) : undefined;
          return wp ? [`${h} (waypoint ${wp.gateway.namespace}/${wp.gateway.name})`] : [];
        });
        if (!waypointed.length) continue;
        vs.http.forEach((r, i) =>
          (r.match ?? []).forEach((mt, j) => {
            if (mt.sourceLabels && Object.keys(mt.sourceLabels).length)
              report(
                vs,
                `http[${i}].match[${j}].sourceLabels ${JSON.stringify(mt.sourceLabels)} on ${waypointed.join(', ')}: the waypoint applies this route and does not see the client pod's labels, so the match does not select callers as written`,
              );
          }),
        );
      }
    },
  },
  {
    code: 'MESH957',
    severity: 'error',
    mirrors: [],
    title: 'cross-namespace backendRef or certificateRef without a ReferenceGrant that allows it',
    hint: 'add a ReferenceGrant in the referred namespace whose `from` names the referrer\'s group, kind and namespace (for example gateway.networking.k8s.io, HTTPRoute, default) and whose `to` names the referred kind (group "", kind Service or Secret), or refer to an object in the referrer\'s own namespace',
    check: (m, report) => {
      const loaded = namespacesWithObjects(m);
      for (const r of m.gatewayApiRoutes) {
        const from = { group: GATEWAY_API_GROUP, kind: r.kind, namespace: r.namespace, name: r.name };
        for (const b of routeBackendRefs(r)) {
          if (!loaded.has(b.namespace) || referenceGrantFor(m, from, b)) continue;
          report(r, `${refNotPermitted(from, b)}: requests for this backend answer 500`);
        }
      }
      for (const g of m.k8sGateways) {
        const from = { group: GATEWAY_API_GROUP, kind: 'Gateway', namespace: g.namespace, name: g.name };
        for (const c of g.certificateRefs) {
          if (!loaded.has(c.namespace) || referenceGrantFor(m, from, c)) continue;
          report(g, `${refNotPermitted(from, c)}: the listener serves no certificate from it`);
        }
      }
    },
  },
  {
    code: 'MESH958',
    severity: 'error',
    mirrors: [],
    title: 'istio.io/use-waypoint names a waypoint that does not exist',
    hint: 'create the waypoint (a Gateway of class istio-waypoint, `istioctl waypoint apply`) or fix the label (`none` opts out)',
    check: (m, report) => {
      const loaded = namespacesWithObjects(m);
      const labelled = [
        ...m.namespaces.map((e) => ({ e, labels: e.labels, what: `namespace ${e.name}` })),
        ...m.services.map((e) => ({ e, labels: e.labels, what: `Service ${e.namespace}/${e.name}` })),
        ...m.workloads.map((e) => ({
          e,
          labels: e.podLabels,
          what: `the pods of ${e.kind} ${e.namespace}/${e.name}`,
        })),
      ];
      for (const { e, labels, what } of labelled) {
        const name = labels[USE_WAYPOINT];
        if (name === undefined || name === '' || name === 'none') continue;
        const ns = labels[USE_WAYPOINT_NAMESPACE] || e.namespace;
        if (!loaded.has(ns)) continue;
        const gateway = m.k8sGateways.find((g) => g.name === name && g.namespace === ns);
        const label = `${USE_WAYPOINT}=${name}${labels[USE_WAYPOINT_NAMESPACE] ? ` (${USE_WAYPOINT_NAMESPACE}=${ns})` : ''}`;
        if (!gateway)
          report(
            e,
            `${label} on ${what}: no Gateway ${ns}/${name}; traffic is not sent through a waypoint, so the L7 policies and routes meant for it are not applied`,
          );
        else if (gateway.gatewayClassName !== WAYPOINT_CLASS)
          report(
            e,
            `${label} on ${what}: Gateway ${ns}/${name} is of class ${gateway.gatewayClassName || '(none)'}, not ${WAYPOINT_CLASS}; traffic is not sent through a waypoint, so the L7 policies and routes meant for it are not applied`,
          );
      }
    },
  },
];
