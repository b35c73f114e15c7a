/** The rules on AuthorizationPolicy. */
import { deniedCallMessage, deniedDeclaredCalls, undeclaredAllowances } from '../../explain/reachability.js';
import { effectiveMtls, indexOf, workloadsSelected } from '../../model/query.js';
import { METHODS, PRINCIPAL } from './shared.js';
import type { Rule } from '../rule.js';
import { WAYPOINT_CLASS } from '../../model/gateway-api.js';

export const authorizationPolicyRules: readonly Rule[] = [
  {
    code: 'MESH501',
    severity: 'warning',
    mirrors: ['IST0127', 'KIA0004'],
    title: 'AuthorizationPolicy selector matches no workload',
    hint: 'fix the labels of spec.selector.matchLabels',
    check: (m, report) => {
      for (const p of m.authorizationPolicies) {
        if (p.selector && !workloadsSelected(m, p.namespace, p.selector).length)
          report(
            p,
            `no workload in ${p.namespace === m.rootNamespace ? 'the mesh' : p.namespace} has the labels ${JSON.stringify(p.selector)}`,
          );
      }
    },
  },
  {
    code: 'MESH508',
    severity: 'warning',
    mirrors: ['IST0127'],
    title: 'namespace-wide AuthorizationPolicy in a namespace without mesh workloads',
    hint: 'deploy the workloads (with sidecars) the policy is for, or move the policy to their namespace',
    check: (m, report) => {
      const ix = indexOf(m);
      for (const p of m.authorizationPolicies) {
        if (p.selector || p.namespace === m.rootNamespace) continue;
        // ztunnel enforces policies on ambient workloads.
        if (!(ix.workloadsByNs.get(p.namespace) ?? []).some((w) => w.sidecar || w.ambient))
          report(p, `applies to the whole namespace ${p.namespace}, which has no workload with a sidecar`);
      }
    },
  },
  {
    code: 'MESH502',
    severity: 'warning',
    mirrors: ['KIA0106'],
    title: 'principal whose ServiceAccount does not exist',
    hint: 'principals are <trustDomain>/ns/<namespace>/sa/<serviceAccount>: fix the name or create the ServiceAccount',
    check: (m, report) => {
      const ix = indexOf(m);
      const used = new Set(m.workloads.map((w) => `${w.namespace}/${w.serviceAccountName}`));
      // Istio runs a waypoint as <name>, any other Gateway API Gateway as <name>-<class>.
      for (const g of m.k8sGateways)
        used.add(
          `${g.namespace}/${g.gatewayClassName === WAYPOINT_CLASS ? g.name : `${g.name}-${g.gatewayClassName}`}`,
        );
      for (const p of m.authorizationPolicies) {
        p.rules.forEach((r, i) =>
          (r.from ?? []).forEach((f) =>
            [...(f.source?.principals ?? []), ...(f.source?.notPrincipals ?? [])].forEach((pr) => {
              const mt = PRINCIPAL.exec(pr);
              if (!mt) return;
              const [, , ns, sa] = mt;
              if (!m.knownNamespaces.has(ns!) || sa === 'default') return;
              if (!ix.serviceAccounts.has(`${ns}/${sa}`) && !used.has(`${ns}/${sa}`))
                report(p, `rules[${i}]: principal ${pr}: ServiceAccount ${ns}/${sa} not found`);
            }),
          ),
        );
      }
    },
  },
  {
    code: 'MESH503',
    severity: 'warning',
    mirrors: ['KIA0101'],
    title: 'source namespace not found',
    hint: 'fix the namespace name in source.namespaces',
    check: (m, report) => {
      if (!m.namespaces.length) return;
      for (const p of m.authorizationPolicies) {
        p.rules.forEach((r, i) =>
          (r.from ?? []).forEach((f) =>
            (f.source?.namespaces ?? []).forEach((ns) => {
              if (!ns.includes('*') && !m.knownNamespaces.has(ns))
                report(p, `rules[${i}]: namespace ${ns} not found`);
            }),
          ),
        );
      }
    },
  },
  {
    code: 'MESH504',
    severity: 'error',
    mirrors: ['KIA0102'],
    title: 'invalid HTTP method',
    hint: 'methods are upper-case HTTP methods (GET, POST, …) or fully-qualified gRPC names',
    check: (m, report) => {
      for (const p of m.authorizationPolicies) {
        p.rules.forEach((r, i) =>
          (r.to ?? []).forEach((t) =>
            [...(t.operation?.methods ?? []), ...(t.operation?.notMethods ?? [])].forEach((meth) => {
              if (!METHODS.has(meth) && !meth.includes('/') && meth !== '*')
                report(p, `rules[${i}]: method ${meth} is not an HTTP method`);
            }),
          ),
        );
      }
    },
  },
  {
    code: 'MESH505',
    severity: 'warning',
    mirrors: ['KIA0105'],
    title: 'identity-based rule on a workload without mTLS',
    hint: 'principals and namespaces need mTLS: enable it (PeerAuthentication STRICT or PERMISSIVE) on the workload',
    check: (m, report) => {
      for (const p of m.authorizationPolicies) {
        const needs = p.rules.some((r) =>
          (r.from ?? []).some(
            (f) =>
              f.source?.principals ||
              f.source?.namespaces ||
              f.source?.notPrincipals ||
              f.source?.notNamespaces,
          ),
        );
        if (!needs) continue;
        const off = workloadsSelected(m, p.namespace, p.selector).find(
          (w) => w.sidecar && effectiveMtls(m, w).mode === 'DISABLE',
        );
        if (off)
          report(
            p,
            `uses principals or namespaces, but ${off.name} has mTLS DISABLE (${effectiveMtls(m, off).decidedBy}): those rules never match`,
          );
      }
    },
  },
  {
    code: 'MESH510',
    severity: 'warning',
    mirrors: [],
    title: 'principal of workloads that run without a sidecar (the rule never matches them)',
    hint: 'a pod without a sidecar has no mTLS identity: inject the sidecar into it, or allow it by source ipBlocks (ZeroTrustPolicy.allowOutsideMesh)',
    check: (m, report) => {
      const ix = indexOf(m);
      for (const p of m.authorizationPolicies)
        p.rules.forEach((r, i) =>
          (r.from ?? []).forEach((f) =>
            (f.source?.principals ?? []).forEach((pr) => {
              const mt = PRINCIPAL.exec(pr);
              if (!mt) return;
              const ws = ix.workloadsByServiceAccount.get(`${mt[2]}/${mt[3]}`) ?? [];
              if (ws.length && !ws.some((w) => w.sidecar || w.ambient))
                report(
                  p,
                  `rules[${i}] names ${pr}, but every workload running as ${mt[2]}/${mt[3]} (${ws.map((w) => w.name).join(', ')}) has no sidecar: its requests carry no principal, so this source never matches them`,
                );
            }),
          ),
        );
    },
  },
  {
    code: 'MESH506',
    severity: 'error',
    mirrors: [],
    title: 'declared call denied by the policies on a port of the callee',
    hint: 'allow the caller on the callee at the port named (ZeroTrustPolicy derives this from app.calls), or remove the declared call',
    check: (m, report) => {
      for (const d of deniedDeclaredCalls(m)) report(d.policy ?? d.service, deniedCallMessage(d));
    },
  },
  {
    code: 'MESH507',
    severity: 'warning',
    mirrors: [],
    title: 'policy allows a caller no declared call needs',
    hint: 'remove the principal from the policy, or declare the call (app.calls(other))',
    check: (m, report) => {
      for (const u of undeclaredAllowances(m))
        report(
          u.policy,
          `rules[${u.rule}] allows ${u.principal}, but no declared call from it reaches ${u.callees.join(', ') || 'the selected workloads'}`,
        );
    },
  },
];
