/** The explanation as text: what `cdk8s-mesh explain` prints. */
import type { Explanation, HeaderChanges } from './types.js';

/** A share in [0, 1] as a percentage with one decimal: `33.3%`. */
export const percent = (p: number) => `${Math.round(p * 1000) / 10}%`;

/** The request in one line: `GET reviews:9080/ [end-user: jason] from Deployment default/productpage`. */
export function requestLine(e: Explanation): string {
  const r = e.request;
  if (e.protocol.tcp)
    return `TCP connection to ${r.host}${r.port ? `:${r.port}` : ''} (${e.protocol.name}) from ${e.caller.description}`;
  const hdrs = Object.entries(r.headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return `${r.method} ${r.host}${r.port ? `:${r.port}` : ''}${r.path}${hdrs ? ` [${hdrs}]` : ''} from ${e.caller.description}`;
}

/** The explanation as text, one fact per line (what `cli explain` prints). */
export function formatExplanation(e: Explanation): string {
  const lines = [requestLine(e)];
  if (e.gateway) lines.push(`  gateway:         ${e.gateway}`);
  lines.push(`  host:            ${e.host}`);
  const g = e.gatewayApiRoute;
  if (g) {
    lines.push(`  ${`${g.kind}:`.padEnd(16)} ${g.name} (${g.where})`);
    lines.push(`  parent:          ${g.parent}, applied by ${g.appliedBy}`);
  } else
    lines.push(
      `  VirtualService:  ${e.virtualService ? `${e.virtualService} (${e.virtualServiceWhere})` : 'none (default route to the Service)'}`,
    );
  if (e.route)
    lines.push(
      `  rule:            ${g ? 'rules' : (e.route.kind ?? 'http')}[${e.route.index}]${e.route.name ? ` '${e.route.name}'` : ''}${e.route.match !== undefined ? ` ${g ? 'matches' : 'match'}[${e.route.match}]` : ' (no match: catch-all)'}`,
    );
  if (e.noRoute) lines.push('  result:          404 no route');
  for (const d of e.destinations) {
    lines.push(
      `  → ${percent(d.probability)} ${d.host}${d.subset ? ` subset ${d.subset}` : ''}${d.labels ? ` ${JSON.stringify(d.labels)}` : ''}${d.workloads.length ? ` → ${d.workloads.join(', ')}` : ''}`,
    );
    if (d.problem) lines.push(`      problem:     ${d.problem}`);
    if (d.egress?.result === 'serviceEntry')
      lines.push(`      egress:      routed to ServiceEntry ${d.egress.serviceEntry} (outside the mesh)`);
    if (d.egress?.result === 'passthrough')
      lines.push(
        `      egress:      PassthroughCluster: ${d.egress.notImportedBy ? `not imported by ${d.egress.notImportedBy}` : 'in no ServiceEntry'}, forwarded as addressed (ALLOW_ANY, ${d.egress.decidedBy})`,
      );
    if (d.tls)
      lines.push(
        `      mTLS:        client ${d.tls.client} (${d.tls.clientDecidedBy}), server ${d.tls.server} (${d.tls.serverDecidedBy})${d.tls.ok ? '' : ' → connection fails'}`,
      );
    if (d.waypoint)
      lines.push(
        `      waypoint:    ${d.waypoint.name} (${d.waypoint.boundBy}): ${d.waypoint.authorization.decision}: ${d.waypoint.authorization.reason}`,
      );
    if (d.authorization)
      lines.push(
        `      authz:       ${d.authorization.decision}${d.authorization.enforcedBy ? ` at ${d.authorization.enforcedBy}` : ''}: ${d.authorization.reason}`,
      );
  }
  if (e.fault?.delay)
    lines.push(`  fault delay:     ${e.fault.delay.fixedDelay} on ${e.fault.delay.percentage}% of requests`);
  if (e.fault?.abort)
    lines.push(
      `  fault abort:     HTTP ${e.fault.abort.httpStatus} on ${e.fault.abort.percentage}% of requests`,
    );
  if (e.timeout) lines.push(`  timeout:         ${e.timeout}`);
  if (e.retries)
    lines.push(
      `  retries:         ${e.retries.attempts}${e.retries.perTryTimeout ? ` × ${e.retries.perTryTimeout}` : ''}${e.retries.retryOn ? ` on ${e.retries.retryOn}` : ''}`,
    );
  if (e.mirror)
    lines.push(
      `  mirror:          ${e.mirror.percentage}% to ${e.mirror.host}${e.mirror.subset ? ` subset ${e.mirror.subset}` : ''}`,
    );
  const rw = e.rewrites;
  const changes = (what: string, h: HeaderChanges | undefined) =>
    h
      ? [
          `  ${what}: ${[
            ...Object.entries(h.set ?? {}).map(([k, v]) => `set ${k}: ${v}`),
            ...Object.entries(h.add ?? {}).map(([k, v]) => `add ${k}: ${v}`),
            ...(h.remove ?? []).map((k) => `remove ${k}`),
          ].join(', ')}`,
        ]
      : [];
  lines.push(
    ...changes('request headers:', rw?.requestHeaders),
    ...changes('response headers:', rw?.responseHeaders),
  );
  if (rw?.path !== undefined || rw?.hostname !== undefined)
    lines.push(
      `  rewrite:         ${[rw.hostname !== undefined ? `host ${rw.hostname}` : '', rw.path !== undefined ? `path ${rw.path}` : ''].filter(Boolean).join(', ')}`,
    );
  if (e.directResponse) lines.push(`  direct response: ${e.directResponse}`);
  if (e.redirect)
    lines.push(
      e.redirect.httpsRedirect
        ? `  result:          301 redirect to https (Gateway ${e.gateway} tls.httpsRedirect)`
        : `  redirect:        ${JSON.stringify(e.redirect)}`,
    );
  for (const n of e.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}
