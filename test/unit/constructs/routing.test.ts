import { Duration } from 'cdk8s';
import {
  App,
  istioDuration,
  MeshPropsError,
  renderDestination,
  renderHttpRoute,
  renderMatch,
  type HttpRouteOptions,
} from '../../../constructs/index.js';
import { errorOf, newMesh, ofKind, synth } from './helpers.js';

function reviews() {
  const mesh = newMesh();
  const app = new App(mesh, 'reviews', { image: 'r:{version}', versions: ['v1', 'v2', 'v3'] });
  return { mesh, app };
}

/** The `http` routes of the reviews VirtualService after adding `routes`. */
function http(...routes: HttpRouteOptions[]): unknown[] {
  const { mesh, app } = reviews();
  for (const r of routes) app.addRoute(r);
  const [vs] = ofKind(synth(mesh), 'VirtualService');
  return vs!.spec!.http as unknown[];
}

const to = (subset: string, weight?: number) => ({
  destination: { host: 'reviews', subset },
  ...(weight === undefined ? {} : { weight }),
});

describe('App.addRoute and the VirtualService', () => {
  test('the first route creates the VirtualService for the App host; later routes append in order', () => {
    const { mesh, app } = reviews();
    const first = app.addRoute({
      match: [{ headers: { 'end-user': { exact: 'jason' } } }],
      to: [{ subset: 'v2' }],
    });
    const second = app.addRoute({ to: [{ subset: 'v1' }] });
    expect(first).toStrictEqual({
      index: 0,
      options: { match: [{ headers: { 'end-user': { exact: 'jason' } } }], to: [{ subset: 'v2' }] },
    });
    expect(second.index).toBe(1);
    expect(app.routes).toStrictEqual([first.options, second.options]);
    const objs = synth(mesh);
    expect(ofKind(objs, 'VirtualService')).toStrictEqual([
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'reviews', namespace: 'default', labels: { app: 'reviews' } },
        spec: {
          hosts: ['reviews'],
          http: [
            { match: [{ headers: { 'end-user': { exact: 'jason' } } }], route: [to('v2')] },
            { route: [to('v1')] },
          ],
        },
      },
    ]);
    expect(app.virtualService).toBeDefined();
    expect(ofKind(objs, 'VirtualService')).toMatchSnapshot();
  });

  test('a single destination needs no weight; weight 100 is accepted', () => {
    const match = [{ uri: { prefix: '/v3' } }];
    expect(http({ match, to: [{ subset: 'v3' }] }, { to: [{ subset: 'v1', weight: 100 }] })).toStrictEqual([
      { match, route: [to('v3')] },
      { route: [to('v1', 100)] },
    ]);
  });

  test('a destination without subset is the whole Service; port selects a Service port', () => {
    expect(http({ to: [{ port: 9080 }] })).toStrictEqual([
      { route: [{ destination: { host: 'reviews', port: { number: 9080 } } }] },
    ]);
  });

  test.each([
    [50, 50],
    [80, 20],
    [90, 10],
    [100, 0],
  ])('weights %i/%i across v1 and v3', (a, b) => {
    expect(
      http({
        to: [
          { subset: 'v1', weight: a },
          { subset: 'v3', weight: b },
        ],
      }),
    ).toStrictEqual([{ route: [to('v1', a), to('v3', b)] }]);
  });

  test('three destinations', () => {
    expect(
      http({
        to: [
          { subset: 'v1', weight: 34 },
          { subset: 'v2', weight: 33 },
          { subset: 'v3', weight: 33 },
        ],
      }),
    ).toStrictEqual([{ route: [to('v1', 34), to('v2', 33), to('v3', 33)] }]);
  });

  test('name', () => {
    expect(http({ name: 'primary', to: [{ subset: 'v1' }] })).toStrictEqual([
      { name: 'primary', route: [to('v1')] },
    ]);
  });
});

describe('matches', () => {
  test.each([
    ['exact', { exact: 'jason' }],
    ['prefix', { prefix: 'ja' }],
    ['regex', { regex: '^j.*n$' }],
  ] as const)('header %s', (_kind, match) => {
    expect(http({ match: [{ headers: { 'end-user': match } }], to: [{ subset: 'v2' }] })).toStrictEqual([
      { match: [{ headers: { 'end-user': match } }], route: [to('v2')] },
    ]);
  });

  test('uri, method, queryParams and port in one block (AND)', () => {
    const block = {
      uri: { prefix: '/api' },
      method: { exact: 'GET' },
      headers: { 'x-canary': { exact: 'true' }, cookie: { regex: '^(.*?;)?(user=jason)(;.*)?$' } },
      queryParams: { debug: { exact: '1' } },
      port: 9080,
    };
    expect(http({ match: [block], to: [{ subset: 'v3' }] })).toStrictEqual([
      { match: [block], route: [to('v3')] },
    ]);
  });

  test('several blocks are OR-ed, in order', () => {
    const match = [
      { uri: { exact: '/login' } },
      { uri: { exact: '/logout' } },
      { uri: { prefix: '/static' } },
    ];
    expect(http({ match, to: [{ subset: 'v1' }] })).toStrictEqual([{ match, route: [to('v1')] }]);
  });

  test('an empty match list matches everything (no match field)', () => {
    expect(http({ match: [], to: [{ subset: 'v1' }] })).toStrictEqual([{ route: [to('v1')] }]);
  });

  test('renderMatch keeps only the conditions given', () => {
    expect(renderMatch({})).toStrictEqual({});
    expect(renderMatch({ method: { exact: 'POST' } })).toStrictEqual({ method: { exact: 'POST' } });
  });
});

describe('fault injection', () => {
  test('a delay applies to 100% of requests by default', () => {
    expect(
      http({ fault: { delay: { fixedDelay: Duration.seconds(7) } }, to: [{ subset: 'v1' }] }),
    ).toStrictEqual([
      { fault: { delay: { percentage: { value: 100 }, fixedDelay: '7s' } }, route: [to('v1')] },
    ]);
  });

  test('an abort applies to 100% of requests by default', () => {
    expect(http({ fault: { abort: { httpStatus: 500 } }, to: [{ subset: 'v1' }] })).toStrictEqual([
      { fault: { abort: { percentage: { value: 100 }, httpStatus: 500 } }, route: [to('v1')] },
    ]);
  });

  test('delay and abort together, each with its percentage', () => {
    expect(
      http({
        match: [{ headers: { 'end-user': { exact: 'jason' } } }],
        fault: {
          delay: { fixedDelay: Duration.millis(1500), percentage: 10 },
          abort: { httpStatus: 503, percentage: 0.5 },
        },
        to: [{ subset: 'v1' }],
      }),
    ).toStrictEqual([
      {
        match: [{ headers: { 'end-user': { exact: 'jason' } } }],
        fault: {
          delay: { percentage: { value: 10 }, fixedDelay: '1500ms' },
          abort: { percentage: { value: 0.5 }, httpStatus: 503 },
        },
        route: [to('v1')],
      },
    ]);
  });
});

describe('timeout, retries and mirroring', () => {
  test('timeout in whole seconds renders as seconds', () => {
    expect(http({ timeout: Duration.seconds(7), to: [{ subset: 'v1' }] })).toStrictEqual([
      { route: [to('v1')], timeout: '7s' },
    ]);
  });

  test('timeout under or between seconds renders as milliseconds', () => {
    expect(http({ timeout: Duration.millis(1500), to: [{ subset: 'v1' }] })).toStrictEqual([
      { route: [to('v1')], timeout: '1500ms' },
    ]);
  });

  test('retries: attempts alone', () => {
    expect(http({ retries: { attempts: 3 }, to: [{ subset: 'v1' }] })).toStrictEqual([
      { route: [to('v1')], retries: { attempts: 3 } },
    ]);
  });

  test('retries: attempts, perTryTimeout and retryOn', () => {
    expect(
      http({
        retries: {
          attempts: 3,
          perTryTimeout: Duration.millis(250),
          retryOn: 'gateway-error,connect-failure',
        },
        to: [{ subset: 'v1' }],
      }),
    ).toStrictEqual([
      {
        route: [to('v1')],
        retries: { attempts: 3, perTryTimeout: '250ms', retryOn: 'gateway-error,connect-failure' },
      },
    ]);
  });

  test('fails if retries are disabled (attempts 0) with a perTryTimeout, as Istio refuses it', () => {
    expect(() =>
      http({ retries: { attempts: 0, perTryTimeout: Duration.millis(250) }, to: [{ subset: 'v1' }] }),
    ).toThrow(
      'MESH001 (like IST0106) bookinfo/reviews/VirtualService: spec.http[0].retries: attempts is 0, which disables retries, but perTryTimeout is set',
    );
  });

  test('mirror copies 100% of requests by default to another subset of the same host', () => {
    expect(http({ to: [{ subset: 'v1' }], mirror: { subset: 'v2' } })).toStrictEqual([
      { route: [to('v1')], mirror: { host: 'reviews', subset: 'v2' }, mirrorPercentage: { value: 100 } },
    ]);
  });

  test('mirror with a percentage', () => {
    expect(http({ to: [{ subset: 'v1' }], mirror: { subset: 'v3', percentage: 5 } })).toStrictEqual([
      { route: [to('v1')], mirror: { host: 'reviews', subset: 'v3' }, mirrorPercentage: { value: 5 } },
    ]);
  });
});

describe('istioDuration', () => {
  test.each([
    [Duration.seconds(7), '7s'],
    [Duration.millis(1500), '1500ms'],
    [Duration.millis(2000), '2s'],
    [Duration.millis(30), '30ms'],
    [Duration.minutes(1), '60s'],
    [Duration.hours(1), '3600s'],
    [Duration.seconds(0), '0s'],
  ])('%s renders as %s', (d, s) => {
    expect(istioDuration(d)).toBe(s);
  });
});

describe('renderHttpRoute and renderDestination', () => {
  test('render for the given host', () => {
    expect(
      renderHttpRoute('ratings.shop.svc.cluster.local', { to: [{ subset: 'v1' }], mirror: { subset: 'v2' } }),
    ).toStrictEqual({
      route: [{ destination: { host: 'ratings.shop.svc.cluster.local', subset: 'v1' } }],
      mirror: { host: 'ratings.shop.svc.cluster.local', subset: 'v2' },
      mirrorPercentage: { value: 100 },
    });
    expect(renderDestination('ratings', { subset: 'v1', weight: 0, port: 9080 })).toStrictEqual({
      destination: { host: 'ratings', subset: 'v1', port: { number: 9080 } },
      weight: 0,
    });
  });
});

describe('route validation', () => {
  /** The error of adding `bad` as the second route of reviews (after a valid one). */
  const fails = (bad: HttpRouteOptions) => {
    const { mesh, app } = reviews();
    app.addRoute({ to: [{ subset: 'v1' }] });
    const err = errorOf(() => app.addRoute(bad));
    // A rejected route is not added.
    expect(app.routes).toHaveLength(1);
    expect(ofKind(synth(mesh), 'VirtualService')[0]!.spec!.http).toHaveLength(1);
    return err;
  };
  const message = (...lines: string[]) =>
    ['bookinfo/reviews: invalid props', ...lines.map((l) => `  - ${l}`)].join('\n');

  test('fails if weights do not sum to 100', () => {
    const err = fails({
      to: [
        { subset: 'v1', weight: 50 },
        { subset: 'v3', weight: 40 },
      ],
    });
    expect(err).toBeInstanceOf(MeshPropsError);
    expect((err as MeshPropsError).path).toBe('bookinfo/reviews');
    expect(err.message).toBe(
      message(
        'routes[1].to: route weights sum to 90 (v1=50, v3=40); they must sum to 100 (received [{"subset":"v1","weight":50},{"subset":"v3","weight":40}])',
      ),
    );
  });

  test('fails if weights sum over 100, naming a destination without subset as (service)', () => {
    expect(fails({ to: [{ weight: 60 }, { subset: 'v3', weight: 60 }] }).message).toBe(
      message(
        'routes[1].to: route weights sum to 120 ((service)=60, v3=60); they must sum to 100 (received [{"weight":60},{"subset":"v3","weight":60}])',
      ),
    );
  });

  test('fails if a weight is missing with several destinations', () => {
    expect(fails({ to: [{ subset: 'v1', weight: 50 }, { subset: 'v3' }] }).message).toBe(
      message(
        'routes[1].to: 2 destinations need a weight each (1 without one) (received [{"subset":"v1","weight":50},{"subset":"v3"}])',
      ),
    );
  });

  test('fails if a weight is not an integer', () => {
    expect(
      fails({
        to: [
          { subset: 'v1', weight: 50.5 },
          { subset: 'v3', weight: 49.5 },
        ],
      }).message,
    ).toBe(
      message(
        'routes[1].to[0].weight: weights are integers (received 50.5)',
        'routes[1].to[1].weight: weights are integers (received 49.5)',
      ),
    );
  });

  test('fails if a weight is out of [0, 100]', () => {
    expect(
      fails({
        to: [
          { subset: 'v1', weight: 150 },
          { subset: 'v3', weight: -50 },
        ],
      }).message,
    ).toBe(
      message(
        'routes[1].to[0].weight: Too big: expected number to be <=100 (received 150)',
        'routes[1].to[1].weight: Too small: expected number to be >=0 (received -50)',
      ),
    );
  });

  test('fails if a single destination has a weight other than 100', () => {
    expect(fails({ to: [{ subset: 'v1', weight: 50 }] }).message).toBe(
      message(
        'routes[1].to[0].weight: a single destination takes all the traffic: omit its weight or set 100 (received 50)',
      ),
    );
  });

  test('fails if there is no destination', () => {
    expect(fails({ to: [] }).message).toBe(
      message('routes[1].to: a route needs at least one destination (received [])'),
    );
  });

  test('fails if a subset is not a version of the App', () => {
    expect(
      fails({
        to: [
          { subset: 'v1', weight: 50 },
          { subset: 'v4', weight: 50 },
        ],
      }).message,
    ).toBe(
      message(
        'routes[1]: subset \'v4\' is not a version of reviews; declare it in versions (v1, v2, v3) (received ["v4"])',
      ),
    );
  });

  test('fails if the mirror subset is not a version of the App', () => {
    expect(fails({ to: [{ subset: 'v1' }], mirror: { subset: 'v9' } }).message).toBe(
      message(
        'routes[1]: subset \'v9\' is not a version of reviews; declare it in versions (v1, v2, v3) (received ["v9"])',
      ),
    );
  });

  test('fails if a subset is not a DNS label', () => {
    expect(fails({ to: [{ subset: 'V1' }] }).message).toBe(
      message(
        'routes[1].to[0].subset: must be a DNS-1123 label: lower-case letters, digits and "-" (received "V1")',
      ),
    );
  });

  test('fails if a fault percentage is out of [0, 100]', () => {
    expect(
      fails({
        fault: {
          delay: { fixedDelay: Duration.seconds(1), percentage: 150 },
          abort: { httpStatus: 500, percentage: -1 },
        },
        to: [{ subset: 'v1' }],
      }).message,
    ).toBe(
      message(
        'routes[1].fault.delay.percentage: a percentage must be between 0 and 100 (received 150)',
        'routes[1].fault.abort.percentage: a percentage must be between 0 and 100 (received -1)',
      ),
    );
  });

  test.each([
    [199, 'httpStatus must be a valid HTTP status (200-599)'],
    [600, 'Too big: expected number to be <=599'],
  ])('fails if the abort httpStatus is %i', (httpStatus, why) => {
    expect(fails({ fault: { abort: { httpStatus } }, to: [{ subset: 'v1' }] }).message).toBe(
      message(`routes[1].fault.abort.httpStatus: ${why} (received ${httpStatus})`),
    );
  });

  test('fails if a fault has neither delay nor abort', () => {
    expect(fails({ fault: {}, to: [{ subset: 'v1' }] }).message).toBe(
      message('routes[1].fault: a fault needs a delay, an abort or both (received {})'),
    );
  });

  test('fails if a mirror percentage is out of range', () => {
    expect(fails({ to: [{ subset: 'v1' }], mirror: { subset: 'v2', percentage: 101 } }).message).toBe(
      message('routes[1].mirror.percentage: a percentage must be between 0 and 100 (received 101)'),
    );
  });

  test('fails if a header name has upper-case letters', () => {
    expect(
      fails({ match: [{ headers: { 'End-User': { exact: 'jason' } } }], to: [{ subset: 'v1' }] }).message,
    ).toBe(message('routes[1].match[0].headers.End-User: header names are lower-case (received "End-User")'));
  });

  test('fails if a string match has two kinds, or none', () => {
    expect(
      fails({
        match: [{ uri: { exact: '/a', prefix: '/b' } as never }, { method: {} as never }],
        to: [{ subset: 'v1' }],
      }).message,
    ).toBe(
      message(
        'routes[1].match[0].uri: expected exactly one of { exact }, { prefix } or { regex } (received {"exact":"/a","prefix":"/b"})',
        'routes[1].match[1].method: expected exactly one of { exact }, { prefix } or { regex } (received {})',
      ),
    );
  });

  test('fails if a match port is not a port', () => {
    expect(fails({ match: [{ port: 0 }], to: [{ subset: 'v1' }] }).message).toBe(
      message('routes[1].match[0].port: Too small: expected number to be >=1 (received 0)'),
    );
  });

  test('fails if a duration is a number instead of a Duration', () => {
    const seconds = 7 as unknown as Duration;
    expect(
      fails({
        timeout: seconds,
        retries: { attempts: 2, perTryTimeout: seconds },
        fault: { delay: { fixedDelay: seconds } },
        to: [{ subset: 'v1' }],
      }).message,
    ).toBe(
      message(
        'routes[1].fault.delay.fixedDelay: expected a cdk8s Duration, e.g. Duration.seconds(7) (received 7)',
        'routes[1].timeout: expected a cdk8s Duration, e.g. Duration.seconds(7) (received 7)',
        'routes[1].retries.perTryTimeout: expected a cdk8s Duration, e.g. Duration.seconds(7) (received 7)',
      ),
    );
  });

  test('fails if retries attempts is negative', () => {
    expect(fails({ retries: { attempts: -1 }, to: [{ subset: 'v1' }] }).message).toBe(
      message('routes[1].retries.attempts: Too small: expected number to be >=0 (received -1)'),
    );
  });

  test('fails if a key is unknown (strict objects)', () => {
    expect(fails({ to: [{ subset: 'v1', wieght: 100 }], timout: '5s' } as never).message).toBe(
      message(
        'routes[1].to[0]: unknown field "wieght": remove it or fix its spelling (received {"subset":"v1","wieght":100})',
        'routes[1]: unknown field "timout": remove it or fix its spelling (received {"to":[{"subset":"v1","wieght":100}],"timout":"5s"})',
      ),
    );
  });

  test('fails listing every problem of a route at once', () => {
    const err = fails({
      match: [{ headers: { 'X-User': { exact: 'a' } } }],
      fault: { abort: { httpStatus: 700, percentage: 200 } },
      timeout: 3 as unknown as Duration,
      to: [{ subset: 'v1', weight: 1.5 }],
    });
    expect((err as MeshPropsError).issues.map((i) => i.field)).toStrictEqual([
      'routes[1].match[0].headers.X-User',
      'routes[1].to[0].weight',
      'routes[1].fault.abort.httpStatus',
      'routes[1].fault.abort.percentage',
      'routes[1].timeout',
    ]);
  });
});
