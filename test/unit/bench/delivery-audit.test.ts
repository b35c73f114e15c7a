import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { breakdown, writesOf } from '../../../bench/delivery/audit.js';
import { auditEntries } from '../../../test/harness/audit.js';
import { ENV } from '../../../test/harness/cluster.js';

const FLAGGER = 'system:serviceaccount:delivery-bench-system:flagger';
const OURS = 'system:serviceaccount:delivery-bench-system:cdk8s-mesh-operator';

// Lines as kube-apiserver 1.35 writes them with --audit-log-format=json at level Metadata.
const line = (o: {
  verb: string;
  user: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  at: string;
}) =>
  JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: 'a1b2',
    stage: 'ResponseComplete',
    requestURI: '/apis/x',
    verb: o.verb,
    user: { username: o.user, groups: ['system:serviceaccounts'] },
    userAgent: 'flagger/v0.0.0',
    objectRef: {
      resource: o.resource,
      ...(o.subresource ? { subresource: o.subresource } : {}),
      ...(o.namespace ? { namespace: o.namespace } : {}),
      ...(o.name ? { name: o.name } : {}),
    },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: o.at,
    stageTimestamp: o.at,
  });

describe("counting a controller's writes in the audit log (npm run bench -- delivery)", () => {
  let dir: string;
  const saved = process.env[ENV.auditLog];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'audit-test-'));
    const file = join(dir, 'audit.log');
    writeFileSync(
      file,
      [
        line({
          verb: 'patch',
          user: FLAGGER,
          resource: 'virtualservices',
          namespace: 'a',
          name: 'podinfo',
          at: '2026-12-01T07:00:01.000000Z',
        }),
        line({
          verb: 'update',
          user: FLAGGER,
          resource: 'canaries',
          subresource: 'status',
          namespace: 'a',
          name: 'podinfo',
          at: '2026-12-01T07:00:02.000000Z',
        }),
        line({
          verb: 'get',
          user: FLAGGER,
          resource: 'virtualservices',
          namespace: 'a',
          name: 'podinfo',
          at: '2026-12-01T07:00:02.500000Z',
        }),
        line({
          verb: 'create',
          user: FLAGGER,
          resource: 'events',
          namespace: 'a',
          at: '2026-12-01T07:00:03.000000Z',
        }),
        line({
          verb: 'create',
          user: FLAGGER,
          resource: 'events',
          namespace: 'a',
          at: '2026-12-01T07:00:09.000000Z',
        }),
        line({
          verb: 'patch',
          user: OURS,
          resource: 'virtualservices',
          namespace: 'a',
          name: 'reviews',
          at: '2026-12-01T07:00:04.000000Z',
        }),
        line({
          verb: 'patch',
          user: FLAGGER,
          resource: 'virtualservices',
          namespace: 'b',
          name: 'podinfo',
          at: '2026-12-01T07:00:04.000000Z',
        }),
        '{"kind":"Event","stage":"ResponseCom', // the line being written while it is read
      ].join('\n'),
    );
    process.env[ENV.auditLog] = file;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env[ENV.auditLog];
    else process.env[ENV.auditLog] = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads who made each request and when the apiserver answered', () => {
    const entries = auditEntries(0);
    expect(entries).toHaveLength(7);
    expect(entries[1]).toStrictEqual({
      verb: 'update',
      resource: 'canaries',
      subresource: 'status',
      namespace: 'a',
      name: 'podinfo',
      code: 200,
      userAgent: 'flagger/v0.0.0',
      user: FLAGGER,
      at: Date.parse('2026-12-01T07:00:02Z'),
    });
  });

  it("counts one user's writes (not reads) in one namespace within a window, both ends included", () => {
    const entries = auditEntries(0);
    const from = Date.parse('2026-12-01T07:00:01Z');
    const to = Date.parse('2026-12-01T07:00:03Z');
    const flaggerInA = writesOf(entries, FLAGGER, 'a', from, to);
    expect(flaggerInA.map((w) => `${w.verb} ${w.resource}`)).toStrictEqual([
      'patch virtualservices',
      'update canaries',
      'create events',
    ]);
    expect(writesOf(entries, OURS, 'a', from, to)).toStrictEqual([]);
    expect(writesOf(entries, OURS, 'a', from, Date.parse('2026-12-01T07:00:04Z'))).toHaveLength(1);
  });

  it('sums writes by verb and resource, most first', () => {
    const flagger = writesOf(auditEntries(0), FLAGGER, 'a', 0, Number.MAX_SAFE_INTEGER);
    expect(breakdown(flagger)).toBe('create events ×2, patch virtualservices ×1, update canaries/status ×1');
    expect(breakdown([])).toBe('');
  });
});
