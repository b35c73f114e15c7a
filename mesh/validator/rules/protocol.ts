/**
 * The rules on protocols: what an HTTP field means on a TCP or gRPC port. Istio reads a port's
 * protocol from the Service (`appProtocol` or the port name) or the ServiceEntry.
 */
import { httpOnlyFields } from '../../explain/authz.js';
import { indexOf, portProtocol, protocolOfHost, workloadsSelected } from '../../model/query.js';
import type { HttpMatchRequest, MeshModel, Service, ServicePort, Workload } from '../../model/types.js';
import { destinationsOf, fq, id } from './shared.js';
import type { Rule } from '../rule.js';

/** The TCP ports of the Services selecting a workload (container port, Service port, protocol). */
function tcpPorts(m: MeshModel, w: Workload): { service: Service; port: ServicePort; protocol: string }[] {
  return (indexOf(m).servicesOfWorkload.get(w) ?? []).flatMap((service) =>
    service.ports.flatMap((port) => {
      const p = portProtocol(port);
      return p.handling === 'tcp' ? [{ service, port, protocol: p.name }] : [];
    }),
  );
}

const targetOf = (p: ServicePort) => String(typeof p.targetPort === 'number' ? p.targetPort : p.port);

export const protocolRules: readonly Rule[] = [
  {
    code: 'MESH509',
    severity: 'warning',
    mirrors: [],
    title: 'AuthorizationPolicy HTTP fields on a TCP port',
    hint: 'for a TCP port, allow by principal, namespace and port only (methods, paths, hosts, headers and JWT fields exist only in HTTP); give HTTP fields their own rule with the HTTP ports',
    check: (m, report) => {
      for (const p of m.authorizationPolicies) {
        const workloads = workloadsSelected(m, p.namespace, p.selector).filter((w) => w.sidecar);
        p.rules.forEach((rule, i) => {
          const fields = httpOnlyFields(rule);
          if (!fields.length) return;
          const ports = rule.to?.flatMap((t) => t.operation?.ports ?? []) ?? [];
          const hit = workloads
            .flatMap((w) => tcpPorts(m, w).map((t) => ({ w, ...t })))
            .find((t) => !ports.length || ports.includes(targetOf(t.port)));
          if (!hit) return;
          const where = `${hit.w.name} (port ${hit.port.port} of Service ${id(hit.service)} is ${hit.protocol}, a TCP port)`;
          report(
            p,
            p.action === 'ALLOW'
              ? `rules[${i}] uses ${fields.join(', ')} on ${where}: Istio drops this ALLOW rule on TCP, so it never allows a connection there`
              : `rules[${i}] uses ${fields.join(', ')} on ${where}: Istio ignores them on TCP, so this ${p.action} rule applies to every connection the rest of it matches`,
          );
        });
      }
    },
  },
  {
    code: 'MESH114',
    severity: 'warning',
    mirrors: [],
    title: 'HTTP route to a TCP port',
    hint: 'route a TCP service with tcp rules (match on port), or name the Service port for its protocol (http-…, grpc-…) if it does speak HTTP',
    check: (m, report) => {
      for (const vs of m.virtualServices) {
        const ingress = vs.gateways.some((g) => g !== 'mesh');
        for (const { d, field, route } of destinationsOf(vs)) {
          if (!route || !field.startsWith('http[')) continue;
          const host = fq(m, d.host, vs.namespace);
          const proto = protocolOfHost(m, host, d.port?.number);
          if (proto?.handling !== 'tcp') continue;
          const at = `${d.host}${d.port?.number ? `:${d.port.number}` : ''}`;
          report(
            vs,
            ingress
              ? `${field}: the gateway sends HTTP to ${at}, a ${proto.name} (TCP) port: the request reaches a server that does not speak HTTP`
              : `${field}: ${at} is a ${proto.name} (TCP) port: sidecars do not apply http rules to it (the default route does), so this route never takes effect`,
          );
        }
      }
    },
  },
  {
    code: 'MESH115',
    severity: 'warning',
    mirrors: [],
    title: 'HTTP method other than POST for a gRPC service',
    hint: 'every gRPC call is an HTTP/2 POST: match and authorize gRPC by path (/package.Service/Method) instead of method',
    check: (m, report) => {
      const grpc = (host: string, port?: number) => {
        const n = protocolOfHost(m, host, port)?.name;
        return n === 'GRPC' || n === 'GRPC-WEB';
      };
      const notPost = (methods: readonly string[] | undefined) =>
        (methods ?? []).filter((x) => x.toUpperCase() !== 'POST' && x !== '*');
      for (const vs of m.virtualServices) {
        const hosts = vs.hosts.map((h) => fq(m, h, vs.namespace)).filter((h) => grpc(h));
        if (!hosts.length) continue;
        vs.http.forEach((r, i) =>
          (r.match ?? []).forEach((mt: HttpMatchRequest, j) => {
            const method = mt.method?.exact ?? mt.method?.prefix;
            if (method && method.toUpperCase() !== 'POST')
              report(
                vs,
                `http[${i}].match[${j}].method ${method} never matches ${hosts.join(', ')}, a gRPC service (every call is POST)`,
              );
          }),
        );
      }
      for (const p of m.authorizationPolicies) {
        const services = new Set(
          workloadsSelected(m, p.namespace, p.selector).flatMap((w) =>
            (indexOf(m).servicesOfWorkload.get(w) ?? []).filter((s) => grpc(s.fqdn)),
          ),
        );
        if (!services.size) continue;
        p.rules.forEach((rule, i) =>
          rule.to?.forEach((t, j) => {
            const bad = notPost(t.operation?.methods);
            if (bad.length)
              report(
                p,
                `rules[${i}].to[${j}].operation.methods ${bad.join(', ')} never match a call to ${[...services].map(id).join(', ')}, a gRPC service (every call is POST)`,
              );
          }),
        );
      }
    },
  },
];
