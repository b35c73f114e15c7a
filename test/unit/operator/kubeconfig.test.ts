/** The one kubeconfig loader (operator and CLI): where it looks, which context, and errors that never quote the file. */
import * as k8s from '@kubernetes/client-node';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadKubeConfig, pooledApiClient } from '../../../operator/adapters/kubeconfig.js';
import { makeCerts } from '../../harness/certs.js';
import { tempDirEach } from '../cli/helpers.js';

const tmp = tempDirEach('kubeconfig-');

function kubeconfig(name: string, contexts: string[], current?: string): string {
  const p = join(tmp(), name);
  writeFileSync(
    p,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: contexts.map((c) => ({ name: c, cluster: { server: `https://${c}.example:6443` } })),
      users: [{ name: 'u', user: { token: 'SECRET-TOKEN' } }],
      contexts: contexts.map((c) => ({ name: c, context: { cluster: c, user: 'u' } })),
      ...(current ? { 'current-context': current } : {}),
    }),
  );
  return p;
}
const server = (r: ReturnType<typeof loadKubeConfig>) =>
  r.ok ? r.value.kubeConfig.getCurrentCluster()?.server : r.error;
const noEnv = () => ({ HOME: join(tmp(), 'home') });

describe('loadKubeConfig', () => {
  test('--kubeconfig, with its current context or --context', () => {
    const p = kubeconfig('kc', ['dev', 'prod'], 'dev');
    expect(server(loadKubeConfig({ path: p, env: noEnv() }))).toBe('https://dev.example:6443');
    const prod = loadKubeConfig({ path: p, context: 'prod', env: noEnv() });
    expect(server(prod)).toBe('https://prod.example:6443');
    expect(prod.ok && prod.value.source).toBe(p);
  });

  test('a relative --kubeconfig resolves from cwd', () => {
    kubeconfig('kc', ['dev'], 'dev');
    expect(server(loadKubeConfig({ path: 'kc', cwd: tmp(), env: noEnv() }))).toBe('https://dev.example:6443');
  });

  test('KUBECONFIG: a list of files, missing ones skipped, the first current context wins', () => {
    const a = kubeconfig('a', ['dev'], 'dev');
    const b = kubeconfig('b', ['prod'], 'prod');
    const r = loadKubeConfig({ env: { ...noEnv(), KUBECONFIG: `${join(tmp(), 'gone')}:${a}:${b}` } });
    expect(server(r)).toBe('https://dev.example:6443');
    expect(r.ok && r.value.kubeConfig.getContexts().map((c) => c.name)).toEqual(['dev', 'prod']);
  });

  test('~/.kube/config when neither --kubeconfig nor KUBECONFIG is given', () => {
    mkdirSync(join(tmp(), 'home/.kube'), { recursive: true });
    kubeconfig('home/.kube/config', ['home'], 'home');
    const r = loadKubeConfig({ env: noEnv() });
    expect(server(r)).toBe('https://home.example:6443');
    expect(r.ok && r.value.source).toBe(join(tmp(), 'home/.kube/config'));
  });

  test.each<[string, () => Parameters<typeof loadKubeConfig>[0], (dir: string) => string]>([
    [
      'the --kubeconfig file does not exist',
      () => ({ path: '/nope', env: noEnv() }),
      () => 'the kubeconfig /nope does not exist: check the path given with --kubeconfig',
    ],
    [
      'a relative --kubeconfig file does not exist',
      () => ({ path: 'kc.yaml', cwd: tmp(), env: noEnv() }),
      (d) =>
        `the kubeconfig kc.yaml does not exist (relative to ${d}): check the path given with --kubeconfig`,
    ],
    [
      'the --kubeconfig path is a directory',
      () => ({ path: tmp(), env: noEnv() }),
      (d) => `the kubeconfig ${d} is not a regular file: check the path given with --kubeconfig`,
    ],
    [
      'there is no kubeconfig at all',
      () => ({ env: noEnv(), serviceAccountToken: join(tmp(), 'no-token') }),
      (d) =>
        `no kubeconfig: --kubeconfig is not given, KUBECONFIG is not set, and ${d}/home/.kube/config does not exist; pass --kubeconfig <path>, set KUBECONFIG, or write ${d}/home/.kube/config (kind, minikube and cloud CLIs create it)`,
    ],
    [
      'no file of KUBECONFIG exists',
      () => ({ env: { ...noEnv(), KUBECONFIG: '/x1:/x2' } }),
      () =>
        'KUBECONFIG names files none of which exist (/x1, /x2): fix KUBECONFIG, or pass --kubeconfig <path>',
    ],
    [
      '--context is not in the file',
      () => ({ path: kubeconfig('kc', ['dev', 'prod'], 'dev'), context: 'staging', env: noEnv() }),
      (d) =>
        `context "staging" is not in the kubeconfig ${d}/kc (contexts: dev, prod): pass one of those with --context`,
    ],
    [
      'the file names no current context',
      () => ({ path: kubeconfig('kc', ['dev']), env: noEnv() }),
      (d) =>
        `the kubeconfig ${d}/kc names no current cluster (current-context is not set): pass --context <name> (contexts: dev)`,
    ],
  ])('fails if %s, saying which file and what to do', (_name, req, message) => {
    expect(loadKubeConfig(req())).toEqual({ ok: false, error: message(tmp()) });
  });

  test('fails if the file is not valid YAML, naming line and column and never quoting the file', () => {
    const p = join(tmp(), 'kc');
    writeFileSync(p, 'apiVersion: v1\nusers:\n- name: u\n  user:\n    token: SECRET-TOKEN\n   bad: [\n');
    const r = loadKubeConfig({ path: p, env: noEnv() });
    expect(r).toEqual({
      ok: false,
      error: `the kubeconfig ${p} is not valid YAML at line 6, column 4: bad indentation of a mapping entry: fix the file, or pass another with --kubeconfig`,
    });
    expect(JSON.stringify(r)).not.toContain('SECRET');
  });

  test('fails if the file is YAML but not a kubeconfig, without quoting it', () => {
    const p = join(tmp(), 'kc');
    writeFileSync(p, '- SECRET-TOKEN\n');
    expect(loadKubeConfig({ path: p, env: noEnv() })).toEqual({
      ok: false,
      error: `the kubeconfig ${p} is not a kubeconfig (expected a mapping with clusters, users, contexts): fix the file, or pass another with --kubeconfig`,
    });
    writeFileSync(p, 'clusters: [{ cluster: { server: SECRET-TOKEN } }]\n');
    const r = loadKubeConfig({ path: p, env: noEnv() });
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain('SECRET');
  });
});

describe('pooledApiClient', () => {
  /** A loopback HTTPS server that answers every GET with an empty object, counting TLS connections. */
  async function countingServer(dir: string) {
    const certs = makeCerts(dir);
    const connections = { count: 0 };
    const headers: string[] = [];
    const server = createServer(
      { cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey) },
      (req, res) => {
        headers.push(String(req.headers.authorization));
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end('{"kind":"Thing","metadata":{"name":"x"}}');
      },
    );
    server.on('secureConnection', () => connections.count++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'loop',
          server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
          caData: readFileSync(certs.caCert).toString('base64'),
        },
      ],
      users: [{ name: 'u', token: 'T0KEN' }],
      contexts: [{ name: 'loop', cluster: 'loop', user: 'u' }],
      currentContext: 'loop',
    });
    return { kc, connections, headers, close: () => new Promise<void>((r) => server.close(() => r())) };
  }
  const get = (api: k8s.CustomObjectsApi) =>
    api.getNamespacedCustomObject({ group: 'g', version: 'v1', namespace: 'n', plural: 'things', name: 'x' });

  test('twenty requests share the connections of one pool, each with the kubeconfig credentials', async () => {
    const s = await countingServer(join(tmp(), 'certs'));
    try {
      const api = pooledApiClient(s.kc, k8s.CustomObjectsApi);
      for (let i = 0; i < 20; i++)
        expect(await get(api)).toStrictEqual({ kind: 'Thing', metadata: { name: 'x' } });
      // undici's pool opens a second connection while the first one is released, then reuses both;
      // a stall of seconds on a loaded machine may let one expire
      expect(s.connections.count).toBeGreaterThanOrEqual(1);
      expect(s.connections.count).toBeLessThanOrEqual(4);
      expect(s.headers).toStrictEqual(Array(20).fill('Bearer T0KEN'));
    } finally {
      await s.close();
    }
  }, 60_000);

  test("client-node's own makeApiClient opens a connection per request (what the pool avoids)", async () => {
    const s = await countingServer(join(tmp(), 'certs'));
    try {
      const api = s.kc.makeApiClient(k8s.CustomObjectsApi);
      for (let i = 0; i < 20; i++) await get(api);
      expect(s.connections.count).toBe(20);
    } finally {
      await s.close();
    }
  }, 60_000);

  test('a client certificate rotated on disk is used once the pool is maxAgeMs old, and not before', async () => {
    const a = makeCerts(join(tmp(), 'a'));
    const b = makeCerts(join(tmp(), 'b'));
    const seen: string[] = [];
    const server = createServer(
      {
        cert: readFileSync(a.serverCert),
        key: readFileSync(a.serverKey),
        ca: [readFileSync(a.caCert), readFileSync(b.caCert)],
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        seen.push((req.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"Thing"}');
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const fingerprint = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;
    const certFile = join(tmp(), 'client.crt');
    const keyFile = join(tmp(), 'client.key');
    const install = (c: typeof a) => {
      writeFileSync(certFile, readFileSync(c.adminCert));
      writeFileSync(keyFile, readFileSync(c.adminKey));
    };
    try {
      install(a);
      const kc = new k8s.KubeConfig();
      kc.loadFromOptions({
        clusters: [
          {
            name: 'loop',
            server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
            caData: readFileSync(a.caCert).toString('base64'),
          },
        ],
        users: [{ name: 'u', certFile, keyFile }],
        contexts: [{ name: 'loop', cluster: 'loop', user: 'u' }],
        currentContext: 'loop',
      });
      let clock = 1_000_000;
      const api = pooledApiClient(kc, k8s.CustomObjectsApi, { maxAgeMs: 60_000, now: () => clock });
      await get(api);
      install(b);
      clock += 59_000;
      await get(api);
      clock += 2_000;
      await get(api);
      await get(api);
      expect(seen).toStrictEqual([
        fingerprint(a.adminCert),
        fingerprint(a.adminCert),
        fingerprint(b.adminCert),
        fingerprint(b.adminCert),
      ]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 60_000);

  test('fails if the kubeconfig has no current cluster, saying what to set', () => {
    expect(() => pooledApiClient(new k8s.KubeConfig(), k8s.CustomObjectsApi)).toThrow(
      'the kubeconfig has no current cluster: set its current-context',
    );
  });
});
