/** The rules on mTLS. */
import { containerPortOf, effectiveMtls, hostMatches, workloadsSelected } from '../../model/query.js';
import { fq, drTls, drWorkloads } from './shared.js';
import type { Rule } from '../rule.js';

export const mtlsRules: readonly Rule[] = [
  {
    code: 'MESH401',
    severity: 'error',
    mirrors: ['KIA0207'],
    title: 'DestinationRule disables TLS to a STRICT workload',
    hint: 'remove tls.mode DISABLE from the DestinationRule, or make the PeerAuthentication PERMISSIVE',
    check: (m, report) => {
      for (const dr of m.destinationRules) {
        const off = drTls(dr).filter((t) => t.mode === 'DISABLE');
        if (!off.length) continue;
        const strict = drWorkloads(m, dr).find((w) => {
          const e = effectiveMtls(m, w);
          return w.sidecar && e.mode === 'STRICT' && e.scope !== 'mesh';
        });
        if (strict) {
          const e = effectiveMtls(m, strict);
          report(
            dr,
            `${off.map((o) => o.where).join(', ')} sends plain text to ${strict.name}, whose PeerAuthentication ${e.decidedBy} is STRICT: requests fail`,
          );
        }
      }
    },
  },
  {
    code: 'MESH402',
    severity: 'error',
    mirrors: ['KIA0208'],
    title: 'DestinationRule disables TLS under mesh-wide STRICT',
    hint: 'make the mesh-wide PeerAuthentication PERMISSIVE, or add a PERMISSIVE policy for the namespace/workload',
    check: (m, report) => {
      for (const dr of m.destinationRules) {
        const off = drTls(dr).filter((t) => t.mode === 'DISABLE');
        if (!off.length) continue;
        const w = drWorkloads(m, dr).find(
          (x) => x.sidecar && effectiveMtls(m, x).scope === 'mesh' && effectiveMtls(m, x).mode === 'STRICT',
        );
        if (w)
          report(
            dr,
            `${off.map((o) => o.where).join(', ')} sends plain text to ${w.name}, but mesh-wide PeerAuthentication ${effectiveMtls(m, w).decidedBy} is STRICT`,
          );
      }
    },
  },
  {
    code: 'MESH403',
    severity: 'error',
    mirrors: ['KIA0205', 'KIA0206'],
    title: 'DestinationRule requires mTLS to a workload that disables it',
    hint: 'enable mTLS on the workload (PeerAuthentication PERMISSIVE or STRICT) or drop ISTIO_MUTUAL',
    check: (m, report) => {
      for (const dr of m.destinationRules) {
        const on = drTls(dr).filter((t) => t.mode === 'ISTIO_MUTUAL');
        if (!on.length) continue;
        const w = drWorkloads(m, dr).find((x) => !x.sidecar || effectiveMtls(m, x).mode === 'DISABLE');
        if (w) {
          report(
            dr,
            `${on.map((o) => o.where).join(', ')} sends Istio mTLS to ${w.name}, which ${w.sidecar ? `has mTLS DISABLE (${effectiveMtls(m, w).decidedBy})` : 'has no sidecar'}: requests fail`,
          );
        }
      }
    },
  },
  {
    code: 'MESH404',
    severity: 'info',
    mirrors: ['KIA0501'],
    title: 'STRICT namespace relies on auto mTLS',
    hint: 'fine with auto mTLS (the default); with autoMtls off add a DestinationRule with tls.mode ISTIO_MUTUAL',
    check: (m, report) => {
      for (const pa of m.peerAuthentications) {
        if (pa.selector || pa.mode !== 'STRICT' || pa.namespace === m.rootNamespace) continue;
        const covered = m.destinationRules.some(
          (dr) =>
            drTls(dr).some((t) => t.mode === 'ISTIO_MUTUAL') &&
            hostMatches(fq(m, dr.host, dr.namespace), `x.${pa.namespace}.svc.${m.clusterDomain}`),
        );
        if (!covered)
          report(
            pa,
            `namespace ${pa.namespace} is STRICT and no DestinationRule enables mTLS for it: clients depend on auto mTLS`,
          );
      }
    },
  },
  {
    code: 'MESH405',
    severity: 'info',
    mirrors: ['KIA0505'],
    title: 'mTLS-disabled namespace relies on auto mTLS',
    hint: 'fine with auto mTLS (the default); with autoMtls off add a DestinationRule with tls.mode DISABLE',
    check: (m, report) => {
      for (const pa of m.peerAuthentications) {
        if (pa.selector || pa.mode !== 'DISABLE' || pa.namespace === m.rootNamespace) continue;
        const covered = m.destinationRules.some(
          (dr) =>
            drTls(dr).some((t) => t.mode === 'DISABLE') &&
            hostMatches(fq(m, dr.host, dr.namespace), `x.${pa.namespace}.svc.${m.clusterDomain}`),
        );
        if (!covered)
          report(
            pa,
            `namespace ${pa.namespace} disables mTLS and no DestinationRule disables it for clients: they depend on auto mTLS`,
          );
      }
    },
  },
  {
    code: 'MESH406',
    severity: 'error',
    mirrors: ['istio-validation'],
    title: 'portLevelMtls without a workload selector',
    hint: 'port-level mTLS needs a selector: add spec.selector.matchLabels for the workload',
    check: (m, report) => {
      for (const pa of m.peerAuthentications) {
        if (!pa.selector && Object.keys(pa.portLevelMtls).length)
          report(
            pa,
            `portLevelMtls (${Object.keys(pa.portLevelMtls).join(', ')}) is set on a namespace or mesh-wide policy`,
          );
      }
    },
  },
  {
    code: 'MESH407',
    severity: 'warning',
    mirrors: [],
    title: 'portLevelMtls port is not a container port',
    hint: 'portLevelMtls keys are the container (target) port, not the Service port',
    check: (m, report) => {
      for (const pa of m.peerAuthentications) {
        if (!pa.selector) continue;
        const ws = workloadsSelected(m, pa.namespace, pa.selector);
        if (!ws.length) continue;
        const ports = new Set(ws.flatMap((w) => w.containerPorts));
        if (!ports.size) continue;
        for (const p of Object.keys(pa.portLevelMtls)) {
          if (!ports.has(Number(p))) {
            const svcPort = m.services.find(
              (s) => s.namespace === pa.namespace && s.ports.some((x) => String(x.port) === p),
            );
            report(
              pa,
              `port ${p} is not a container port of ${ws.map((w) => w.name).join(', ')} (container ports: ${[...ports].join(', ')})${svcPort ? `; ${p} is a port of Service ${svcPort.name}, whose target port is ${containerPortOf(svcPort, Number(p))}` : ''}`,
            );
          }
        }
      }
    },
  },
  {
    code: 'MESH408',
    severity: 'warning',
    mirrors: ['IST0127'],
    title: 'PeerAuthentication selector matches no workload',
    hint: 'fix the labels of spec.selector.matchLabels',
    check: (m, report) => {
      for (const pa of m.peerAuthentications) {
        if (pa.selector && !workloadsSelected(m, pa.namespace, pa.selector).length)
          report(pa, `no workload in ${pa.namespace} has the labels ${JSON.stringify(pa.selector)}`);
      }
    },
  },
];
