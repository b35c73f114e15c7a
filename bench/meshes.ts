/**
 * The meshes the benchmarks measure on: n Apps of 3 versions each, routes with a header match
 * and a weighted split, a DestinationRule, zero trust from a call chain (svc-0 → svc-1 → …).
 */
import { Testing } from 'cdk8s';
import { App, Mesh, ZeroTrustPolicy } from '../constructs/index.js';

export function benchMesh(n: number): Mesh {
  const mesh = new Mesh(Testing.app(), `bench-${n}`);
  new ZeroTrustPolicy(mesh, 'zero-trust');
  const apps: App[] = [];
  for (let i = 0; i < n; i++) {
    const app = new App(mesh, `svc-${i}`, {
      image: 'registry.invalid/svc:{version}',
      versions: ['v1', 'v2', 'v3'],
    });
    app.addRoute({ match: [{ headers: { 'end-user': { exact: 'jason' } } }], to: [{ subset: 'v2' }] });
    app.addRoute({
      to: [
        { subset: 'v1', weight: 90 },
        { subset: 'v3', weight: 10 },
      ],
    });
    if (i > 0) apps[i - 1]!.calls(app, { methods: ['GET'] });
    apps.push(app);
  }
  return mesh;
}
