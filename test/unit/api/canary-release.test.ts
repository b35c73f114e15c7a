/**
 * The CanaryRelease schema as the library and the operator see it: defaults, the union idiom,
 * the messages a user reads (field path, what was received, what to do) and the control
 * annotations.
 */
import {
  ABORT_ANNOTATION,
  RESUME_ANNOTATION,
  backendServiceOf,
  drivenRoute,
  protocolOf,
  parseSpec,
  readCommands,
  resumeValue,
  type CanaryReleaseSpecInput,
} from '../../../api/v1alpha1/canary-release.js';

const base: CanaryReleaseSpecInput = {
  service: 'reviews',
  stable: { subset: 'v1' },
  canary: { subset: 'v3' },
  virtualService: { name: 'reviews', route: 'primary' },
  steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }],
};

const gatewayBase: CanaryReleaseSpecInput = {
  ...base,
  virtualService: undefined,
  httpRoute: { name: 'reviews', rule: 'primary' },
};

function problems(spec: unknown): string[] {
  const r = parseSpec(spec);
  if (r.ok) throw new Error('expected the spec to be refused, it parsed');
  return r.problems.map((p) => `${p.field}: ${p.message}`);
}

describe('parseSpec', () => {
  test('applies the documented defaults', () => {
    const r = parseSpec(base);
    expect(r).toStrictEqual({
      ok: true,
      spec: {
        ...base,
        analysis: {
          interval: '1m',
          threshold: 3,
          successRate: { min: 99 },
          missingData: { policy: 'FailAfterDeadline', deadline: '5m' },
        },
        progressDeadline: '10m',
        driftPolicy: 'Hold',
        promotion: { manualApproval: false },
        rollback: { keepHeaderRoutes: false },
        scaleDown: { enabled: true, delay: '30s' },
      },
    });
  });

  test('keeps a user analysis as written, with only its own defaults filled in', () => {
    const r = parseSpec({ ...base, analysis: { latencyP99: { max: '500ms' } } });
    expect(r.ok && r.spec.analysis).toStrictEqual({
      interval: '1m',
      threshold: 3,
      latencyP99: { max: '500ms' },
      missingData: { policy: 'FailAfterDeadline', deadline: '5m' },
    });
  });

  test('accepts every step kind and the short form', () => {
    expect(
      parseSpec({
        ...base,
        steps: [
          { setWeight: 0 },
          { mirror: { percentage: 12.5, duration: '2m' } },
          { headerRoute: { name: 'jason', headers: { 'end-user': { exact: 'jason' } } } },
          {
            faultTest: {
              abort: { httpStatus: 503, percentage: 10 },
              duration: '1m',
              successRate: { min: 80 },
            },
          },
          { pause: { duration: '1h30m' } },
          { setWeight: 100 },
        ],
      }).ok,
    ).toBe(true);
    const { steps: _, ...rest } = base;
    expect(parseSpec({ ...rest, stepWeight: 10, maxWeight: 50 }).ok).toBe(true);
  });

  test.each<[string, unknown, string]>([
    [
      'fails if a weight is 120',
      { ...base, steps: [{ setWeight: 120 }] },
      '.spec.steps[0].setWeight: must be an integer percentage from 0 to 100 (received 120)',
    ],
    [
      'fails if a weight is not an integer',
      { ...base, steps: [{ setWeight: 12.5 }] },
      '.spec.steps[0].setWeight: must be an integer percentage from 0 to 100 (received 12.5)',
    ],
    [
      'fails if a step sets two step fields',
      { ...base, steps: [{ setWeight: 10, pause: {} }] },
      '.spec.steps[0]: a step sets exactly one of setWeight, pause, headerRoute, mirror, faultTest (received {"setWeight":10,"pause":{}})',
    ],
    [
      'fails if a step has an unknown type',
      { ...base, steps: [{ rollout: 10 }] },
      '.spec.steps[0]: unknown field "rollout": remove it or fix its spelling (received {"rollout":10})',
    ],
    [
      'fails if a pause has a negative duration',
      { ...base, steps: [{ pause: { duration: '-5s' } }] },
      '.spec.steps[0].pause.duration: must be a duration such as 30s, 5m or 1h30m (digits and ms/s/m/h; never negative) (received "-5s")',
    ],
    [
      'fails if a field is misspelt',
      { ...base, analysis: { treshold: 2 } },
      '.spec.analysis: unknown field "treshold": remove it or fix its spelling (received {"treshold":2})',
    ],
    [
      'fails if stepWeight exceeds maxWeight',
      { ...base, steps: undefined, stepWeight: 60, maxWeight: 50 },
      '.spec.stepWeight: stepWeight must not exceed maxWeight (received 60)',
    ],
    [
      'fails if neither steps nor stepWeight is set',
      { ...base, steps: undefined },
      '.spec: set either steps or stepWeight (with maxWeight), not both and not neither (received {"service":"reviews","stable":{"subset":"v1"},"canary":{"subset":"v3"},"virtu...)',
    ],
    [
      'fails if the virtualService route is missing',
      { ...base, virtualService: { name: 'reviews' } },
      '.spec.virtualService.route: is required: expected string (received nothing)',
    ],
    [
      'fails if a metric has neither min nor max',
      { ...base, analysis: { metrics: [{ name: 'errors', query: 'up' }] } },
      '.spec.analysis.metrics[0]: a metric sets at least one of min, max (received {"name":"errors","query":"up"})',
    ],
    [
      'fails if a fault test injects nothing',
      { ...base, steps: [{ faultTest: { duration: '1m' } }] },
      '.spec.steps[0].faultTest: a faultTest sets at least one of delay, abort (received {"duration":"1m"})',
    ],
    // lists the CRD declares a set or a map: the apiserver refuses a repeated item, so zod does too
    [
      'fails if two metrics share a name',
      {
        ...base,
        analysis: {
          metrics: [
            { name: 'errors', query: 'up', min: 1 },
            { name: 'errors', query: 'down', max: 1 },
          ],
        },
      },
      '.spec.analysis.metrics[1].name: metric names must be unique (the apiserver refuses a repeated one); remove or rename it (received "errors")',
    ],
    [
      'fails if two webhooks share a name',
      {
        ...base,
        webhooks: [
          { name: 'chat', url: 'http://a.example' },
          { name: 'chat', url: 'http://b.example' },
        ],
      },
      '.spec.webhooks[1].name: webhook names must be unique (the apiserver refuses a repeated one); remove or rename it (received "chat")',
    ],
    [
      'fails if a webhook lists an event twice',
      { ...base, webhooks: [{ name: 'chat', url: 'http://a.example', events: ['Promoted', 'Promoted'] }] },
      '.spec.webhooks[0].events[1]: webhook events must be unique (the apiserver refuses a repeated one); remove or rename it (received "Promoted")',
    ],
    // the route kinds: exactly one of virtualService, httpRoute, grpcRoute
    [
      'fails if no route is named',
      { ...base, virtualService: undefined },
      '.spec: a CanaryRelease sets exactly one of virtualService, httpRoute, grpcRoute (received {"service":"reviews","stable":{"subset":"v1"},"canary":{"subset":"v3"},"steps...)',
    ],
    [
      'fails if two routes are named',
      { ...base, httpRoute: { name: 'reviews', rule: 'primary' } },
      '.spec: a CanaryRelease sets exactly one of virtualService, httpRoute, grpcRoute (received {"service":"reviews","stable":{"subset":"v1"},"canary":{"subset":"v3"},"virtu...)',
    ],
    [
      'fails if an HTTPRoute rule name is not a rule name',
      { ...gatewayBase, httpRoute: { name: 'reviews', rule: 'Primary' } },
      ".spec.httpRoute.rule: httpRoute.rule must be a rule name: lowercase letters, digits, '-' and '.' (received \"Primary\")",
    ],
    [
      'fails if a faultTest is planned on an HTTPRoute: the Gateway API has no fault injection',
      {
        ...gatewayBase,
        steps: [{ setWeight: 10 }, { faultTest: { abort: { httpStatus: 503 }, duration: '1m' } }],
      },
      '.spec.steps: faultTest steps need a virtualService: the Gateway API has no fault injection field (HTTPRoute and GRPCRoute filters modify headers, redirect, rewrite and mirror); drop the faultTest or drive a VirtualService route (received [{"setWeight":10},{"faultTest":{"abort":{"httpStatus":503},"duration":"1m"}}])',
    ],
    [
      'fails if backend Services are named for a VirtualService',
      { ...base, canary: { subset: 'v3', service: 'reviews-canary' } },
      '.spec.virtualService: stable.service and canary.service name the backend Services of an httpRoute or grpcRoute rule; a virtualService routes to subsets: drop them (received {"name":"reviews","route":"primary"})',
    ],
    [
      'fails if both versions name the same backend Service',
      {
        ...gatewayBase,
        stable: { subset: 'v1', service: 'reviews' },
        canary: { subset: 'v3', service: 'reviews' },
      },
      '.spec.canary.service: stable.service and canary.service must differ: each version needs a Service of its own (received "reviews")',
    ],
  ])('%s', (_name, spec, message) => {
    expect(problems(spec)).toContain(message);
  });

  test('an HTTPRoute or GRPCRoute rule is driven; the backend Services and the protocol follow from the spec', () => {
    const http = parseSpec(gatewayBase);
    expect(http.ok && drivenRoute(http.spec)).toStrictEqual({
      kind: 'HTTPRoute',
      name: 'reviews',
      route: 'primary',
      field: 'httpRoute',
      routeField: 'rule',
    });
    expect(
      http.ok && [backendServiceOf(http.spec, 'stable'), backendServiceOf(http.spec, 'canary')],
    ).toStrictEqual(['reviews-v1', 'reviews-v3']);
    expect(http.ok && protocolOf(http.spec)).toBe('http');
    const grpc = parseSpec({
      ...gatewayBase,
      service: 'reviews.shop.svc.cluster.local',
      httpRoute: undefined,
      grpcRoute: { name: 'reviews', rule: 'primary' },
      canary: { subset: 'v3', service: 'reviews-next' },
    });
    expect(grpc.ok && drivenRoute(grpc.spec).kind).toBe('GRPCRoute');
    expect(
      grpc.ok && [backendServiceOf(grpc.spec, 'stable'), backendServiceOf(grpc.spec, 'canary')],
    ).toStrictEqual(['reviews-v1', 'reviews-next']);
    expect(grpc.ok && protocolOf(grpc.spec)).toBe('grpc');
    const vs = parseSpec({ ...base, protocol: 'grpc' });
    expect(vs.ok && [drivenRoute(vs.spec).kind, protocolOf(vs.spec)]).toStrictEqual([
      'VirtualService',
      'grpc',
    ]);
  });

  test('lists every problem at once', () => {
    const found = problems({ ...base, steps: [{ setWeight: 120 }, { pause: { duration: '-1s' } }] });
    expect(found).toHaveLength(2);
  });
});

describe('virtualService.template', () => {
  const template = {
    metadata: { labels: { app: 'reviews' } },
    spec: { hosts: ['reviews'], http: [{ name: 'primary', route: [{ destination: { host: 'reviews' } }] }] },
  };

  test('a template is kept as written, spec and all', () => {
    const r = parseSpec({ ...base, virtualService: { ...base.virtualService, template } });
    expect(r.ok && r.spec.virtualService).toStrictEqual({ name: 'reviews', route: 'primary', template });
  });

  test('fails if the template has no route of virtualService.route, or no hosts', () => {
    expect(
      problems({
        ...base,
        virtualService: {
          name: 'reviews',
          route: 'primary',
          template: { spec: { http: [{ name: 'main' }] } },
        },
      }),
    ).toStrictEqual([
      '.spec.virtualService.template.spec: hosts must list at least one host, as in a VirtualService (received {"http":[{"name":"main"}]})',
      '.spec.virtualService.template.spec: http has no route named "primary" (virtualService.route); it has "main" (received {"http":[{"name":"main"}]})',
    ]);
  });
});

describe('httpRoute.template and grpcRoute.template', () => {
  const template = {
    metadata: { labels: { app: 'reviews' } },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }],
      rules: [{ name: 'primary', backendRefs: [{ name: 'reviews-v1', port: 9080 }] }],
    },
  };

  test('a template is kept as written, spec and all, on either kind', () => {
    const http = parseSpec({ ...gatewayBase, httpRoute: { name: 'reviews', rule: 'primary', template } });
    expect(http.ok && http.spec.httpRoute).toStrictEqual({ name: 'reviews', rule: 'primary', template });
    const grpc = parseSpec({
      ...gatewayBase,
      httpRoute: undefined,
      grpcRoute: { name: 'reviews', rule: 'primary', template },
    });
    expect(grpc.ok && grpc.spec.grpcRoute).toStrictEqual({ name: 'reviews', rule: 'primary', template });
  });

  test('fails if the template has no rule of httpRoute.rule, or no parentRefs', () => {
    expect(
      problems({
        ...gatewayBase,
        httpRoute: { name: 'reviews', rule: 'primary', template: { spec: { rules: [{ name: 'main' }] } } },
      }),
    ).toStrictEqual([
      '.spec.httpRoute.template.spec: parentRefs must list at least one parent (a Service or a Gateway) by name, as in a route of the Gateway API (received {"rules":[{"name":"main"}]})',
      '.spec.httpRoute.template.spec: rules has no rule named "primary" (httpRoute.rule); it has "main" (received {"rules":[{"name":"main"}]})',
    ]);
  });
});

describe('control annotations', () => {
  test('resume and abort are read with the generation they are for', () => {
    expect(
      readCommands({ [RESUME_ANNOTATION]: resumeValue(7, 3), [ABORT_ANNOTATION]: '7', other: 'x' }),
    ).toStrictEqual({ resume: { generation: 7, step: 3 }, abort: { generation: 7 } });
  });

  test.each([['3'], ['x/3'], ['7/'], ['']])('an unparsable resume value %p approves nothing', (value) => {
    expect(readCommands({ [RESUME_ANNOTATION]: value })).toStrictEqual({});
  });

  test('no annotations, no commands', () => {
    expect(readCommands(undefined)).toStrictEqual({});
  });
});
