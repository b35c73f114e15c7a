/** ExternalService (ServiceEntry), the Mesh's outbound traffic policy and Sidecar, and callers outside the mesh. */
import { App, ExternalService, MeshPropsError, ZeroTrustPolicy } from '../../../constructs/index.js';
import { errorOf, newMesh, one, synth } from './helpers.js';

describe('ExternalService', () => {
  test('a ServiceEntry: hosts, ports named after their protocol, DNS resolution, MESH_EXTERNAL', () => {
    const mesh = newMesh();
    new ExternalService(mesh, 'stripe', {
      hosts: ['api.stripe.com'],
      ports: [
        { number: 443, protocol: 'TLS' },
        { number: 80, protocol: 'HTTP' },
      ],
    });
    expect(one(synth(mesh), 'ServiceEntry', 'stripe')).toStrictEqual({
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: 'stripe', namespace: 'default' },
      spec: {
        hosts: ['api.stripe.com'],
        ports: [
          { name: 'tls', number: 443, protocol: 'TLS' },
          { name: 'http', number: 80, protocol: 'HTTP' },
        ],
        location: 'MESH_EXTERNAL',
        resolution: 'DNS',
      },
    });
  });

  test('a wildcard host resolves NONE by default; addresses and exportTo pass through', () => {
    const mesh = newMesh();
    new ExternalService(mesh, 'google', {
      hosts: ['*.googleapis.com'],
      addresses: ['169.254.169.254'],
      exportTo: ['.'],
    });
    expect(one(synth(mesh), 'ServiceEntry', 'google').spec).toStrictEqual({
      hosts: ['*.googleapis.com'],
      addresses: ['169.254.169.254'],
      ports: [{ name: 'tls', number: 443, protocol: 'TLS' }],
      location: 'MESH_EXTERNAL',
      resolution: 'NONE',
      exportTo: ['.'],
    });
  });

  test('fails on a bare * host, DNS for a wildcard, STATIC without addresses, a repeated port', () => {
    const mesh = newMesh();
    const e = errorOf(
      () =>
        new ExternalService(mesh, 'bad', {
          hosts: ['*', '*.example.com'],
          resolution: 'DNS',
          ports: [
            { number: 443, protocol: 'TLS' },
            { number: 443, protocol: 'HTTPS' },
          ],
        }),
    );
    expect(e).toBeInstanceOf(MeshPropsError);
    expect(e.message).toContain(
      'hosts[0]: must be a DNS name, optionally with a leading *. wildcard (no bare *)',
    );
    expect(e.message).toContain(
      'resolution: DNS resolution cannot resolve the wildcard host *: use NONE or list the hosts',
    );
    expect(e.message).toContain('ports[1].number: port 443 is listed twice');
    expect(
      errorOf(() => new ExternalService(newMesh(), 'x', { hosts: ['a.com'], resolution: 'STATIC' })).message,
    ).toContain('addresses: STATIC resolution needs addresses');
  });
});

describe('outboundTrafficPolicy and the namespace Sidecar', () => {
  test('REGISTRY_ONLY: a Sidecar default with the mode and the namespace and istio-system visible', () => {
    const mesh = newMesh({ outboundTrafficPolicy: 'REGISTRY_ONLY' });
    expect(one(synth(mesh), 'Sidecar', 'default')).toStrictEqual({
      apiVersion: 'networking.istio.io/v1',
      kind: 'Sidecar',
      metadata: { name: 'default', namespace: 'default' },
      spec: {
        egress: [{ hosts: ['./*', 'istio-system/*'] }],
        outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
      },
    });
  });

  test('egressHosts alone: a Sidecar with those hosts and no mode; neither: no Sidecar', () => {
    const mesh = newMesh({ egressHosts: ['./*', 'payments/*'] });
    expect(one(synth(mesh), 'Sidecar', 'default').spec).toStrictEqual({
      egress: [{ hosts: ['./*', 'payments/*'] }],
    });
    expect(synth(newMesh()).filter((o) => o.kind === 'Sidecar')).toStrictEqual([]);
  });

  test('fails if an egress host has no namespace part', () => {
    expect(errorOf(() => newMesh({ egressHosts: ['api.example.com'] })).message).toContain(
      'egressHosts[0]: must be <namespace>/<host>',
    );
  });
});

describe('ZeroTrustPolicy.allowOutsideMesh', () => {
  test('one rule by source address and port for that App only, and PERMISSIVE on its container port only', () => {
    const mesh = newMesh();
    const zt = new ZeroTrustPolicy(mesh, 'zero-trust');
    const web = new App(mesh, 'web', { image: 'x', port: 80, targetPort: 8080 });
    zt.allowOutsideMesh(web, { ipBlocks: ['10.0.5.0/24'], methods: ['GET'] });
    const objs = synth(mesh);
    expect(one(objs, 'AuthorizationPolicy', 'web-viewer').spec).toStrictEqual({
      selector: { matchLabels: { app: 'web' } },
      action: 'ALLOW',
      rules: [
        {
          from: [{ source: { ipBlocks: ['10.0.5.0/24'] } }],
          to: [{ operation: { methods: ['GET'], ports: ['8080'] } }],
        },
      ],
    });
    expect(one(objs, 'PeerAuthentication', 'web-outside-mesh').spec).toStrictEqual({
      selector: { matchLabels: { app: 'web' } },
      portLevelMtls: { 8080: { mode: 'PERMISSIVE' } },
    });
    // The namespace stays STRICT.
    expect(one(objs, 'PeerAuthentication', 'default').spec).toStrictEqual({ mtls: { mode: 'STRICT' } });
  });

  test('fails without an address, with a bad one, or on a port the App lacks', () => {
    const mesh = newMesh();
    const zt = new ZeroTrustPolicy(mesh, 'zero-trust');
    const web = new App(mesh, 'web', { image: 'x' });
    expect(errorOf(() => zt.allowOutsideMesh(web, { ipBlocks: [] })).message).toContain(
      'allowOutsideMesh(web).ipBlocks: name the caller by address: without a sidecar it has no principal',
    );
    expect(errorOf(() => zt.allowOutsideMesh(web, { ipBlocks: ['10.0.0.0/33'] })).message).toContain(
      'allowOutsideMesh(web).ipBlocks[0]: must be an IP address or CIDR block such as 10.0.5.0/24',
    );
    expect(
      errorOf(() => zt.allowOutsideMesh(web, { ipBlocks: ['10.0.0.1'], ports: [81] })).message,
    ).toContain('allowOutsideMesh(web).ports: web has no Service port 81 (its ports: 80)');
  });
});
