import { Duration } from 'cdk8s';
import { App, renderTrafficPolicy, type AppProps, type TrafficPolicy } from '../../../constructs/index.js';
import { errorOf, newMesh, ofKind, synth } from './helpers.js';

/** The DestinationRule spec of an App with the given traffic policies. */
function destinationRule(props: AppProps): Record<string, unknown> {
  const mesh = newMesh();
  new App(mesh, 'reviews', { image: 'r:{version}', ...props });
  return ofKind(synth(mesh), 'DestinationRule')[0]!.spec!;
}

describe('renderTrafficPolicy', () => {
  test('nothing given renders nothing (Istio defaults apply)', () => {
    expect(renderTrafficPolicy(undefined)).toBeUndefined();
    expect(renderTrafficPolicy({})).toBeUndefined();
  });

  describe('loadBalancer', () => {
    test.each(['ROUND_ROBIN', 'RANDOM', 'LEAST_REQUEST', 'PASSTHROUGH'] as const)(
      '%s is a simple balancer',
      (lb) => {
        expect(renderTrafficPolicy({ loadBalancer: lb })).toStrictEqual({ loadBalancer: { simple: lb } });
      },
    );

    test.each<[string, TrafficPolicy['loadBalancer'], unknown]>([
      ['a header', { consistentHash: { httpHeaderName: 'x-user' } }, { httpHeaderName: 'x-user' }],
      ['the source IP', { consistentHash: { useSourceIp: true } }, { useSourceIp: true }],
      [
        'a query parameter',
        { consistentHash: { httpQueryParameterName: 'uid' } },
        { httpQueryParameterName: 'uid' },
      ],
      [
        'a cookie, name only',
        { consistentHash: { httpCookie: { name: 'session' } } },
        { httpCookie: { name: 'session' } },
      ],
      [
        'a cookie with path and ttl in seconds',
        { consistentHash: { httpCookie: { name: 'session', path: '/', ttl: Duration.hours(1) } } },
        { httpCookie: { name: 'session', path: '/', ttl: '3600s' } },
      ],
      [
        'a cookie with a ttl in milliseconds',
        { consistentHash: { httpCookie: { name: 'session', ttl: Duration.millis(500) } } },
        { httpCookie: { name: 'session', ttl: '500ms' } },
      ],
    ])('consistent hash on %s', (_what, loadBalancer, consistentHash) => {
      expect(renderTrafficPolicy({ loadBalancer })).toStrictEqual({ loadBalancer: { consistentHash } });
    });
  });

  describe('connectionPool', () => {
    test('TCP limits only', () => {
      expect(
        renderTrafficPolicy({ connectionPool: { maxConnections: 100, connectTimeout: Duration.millis(30) } }),
      ).toStrictEqual({ connectionPool: { tcp: { maxConnections: 100, connectTimeout: '30ms' } } });
    });

    test('HTTP limits only', () => {
      expect(
        renderTrafficPolicy({
          connectionPool: {
            http1MaxPendingRequests: 1,
            http2MaxRequests: 10,
            maxRequestsPerConnection: 1,
            maxRetries: 3,
          },
        }),
      ).toStrictEqual({
        connectionPool: {
          http: {
            http1MaxPendingRequests: 1,
            http2MaxRequests: 10,
            maxRequestsPerConnection: 1,
            maxRetries: 3,
          },
        },
      });
    });

    test('zero limits are kept, not dropped as unset', () => {
      expect(renderTrafficPolicy({ connectionPool: { maxConnections: 0, maxRetries: 0 } })).toStrictEqual({
        connectionPool: { tcp: { maxConnections: 0 }, http: { maxRetries: 0 } },
      });
    });

    test('the circuit breaker of the Istio task: 1 connection, 1 pending request, 1 request per connection', () => {
      expect(
        renderTrafficPolicy({
          connectionPool: { maxConnections: 1, http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 },
          outlierDetection: {
            consecutive5xxErrors: 1,
            interval: Duration.seconds(1),
            baseEjectionTime: Duration.minutes(3),
            maxEjectionPercent: 100,
          },
        }),
      ).toStrictEqual({
        connectionPool: {
          tcp: { maxConnections: 1 },
          http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 },
        },
        outlierDetection: {
          consecutive5xxErrors: 1,
          interval: '1s',
          baseEjectionTime: '180s',
          maxEjectionPercent: 100,
        },
      });
    });
  });

  describe('outlierDetection', () => {
    test('defaults: 5 consecutive 5xx, every 10s, ejected 30s, at most 10% of hosts', () => {
      expect(renderTrafficPolicy({ outlierDetection: {} })).toStrictEqual({
        outlierDetection: {
          consecutive5xxErrors: 5,
          interval: '10s',
          baseEjectionTime: '30s',
          maxEjectionPercent: 10,
        },
      });
    });

    test('each field overrides its default only', () => {
      expect(
        renderTrafficPolicy({
          outlierDetection: { consecutive5xxErrors: 0, interval: Duration.millis(1500) },
        }),
      ).toStrictEqual({
        outlierDetection: {
          consecutive5xxErrors: 0,
          interval: '1500ms',
          baseEjectionTime: '30s',
          maxEjectionPercent: 10,
        },
      });
    });
  });

  test.each(['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'] as const)('tls %s', (mode) => {
    expect(renderTrafficPolicy({ tls: mode })).toStrictEqual({ tls: { mode } });
  });
});

describe('traffic policy on an App and on its subsets', () => {
  test('the App policy applies to the whole DestinationRule, a version policy to its subset only; consecutive5xxErrors reaches the YAML', () => {
    expect(
      destinationRule({
        versions: [
          'v1',
          { name: 'v2', trafficPolicy: { outlierDetection: { consecutive5xxErrors: 1 } } },
          { name: 'v3', trafficPolicy: { loadBalancer: 'RANDOM' } },
        ],
        trafficPolicy: { loadBalancer: 'ROUND_ROBIN', outlierDetection: {} },
      }),
    ).toStrictEqual({
      host: 'reviews',
      trafficPolicy: {
        loadBalancer: { simple: 'ROUND_ROBIN' },
        outlierDetection: {
          consecutive5xxErrors: 5,
          interval: '10s',
          baseEjectionTime: '30s',
          maxEjectionPercent: 10,
        },
      },
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        {
          name: 'v2',
          labels: { version: 'v2' },
          trafficPolicy: {
            outlierDetection: {
              consecutive5xxErrors: 1,
              interval: '10s',
              baseEjectionTime: '30s',
              maxEjectionPercent: 10,
            },
          },
        },
        { name: 'v3', labels: { version: 'v3' }, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } },
      ],
    });
  });

  test('an empty policy adds nothing', () => {
    expect(
      destinationRule({ trafficPolicy: {}, versions: [{ name: 'v1', trafficPolicy: {} }] }),
    ).toStrictEqual({
      host: 'reviews',
      subsets: [{ name: 'v1', labels: { version: 'v1' } }],
    });
  });
});

describe('traffic policy validation', () => {
  const fails = (trafficPolicy: TrafficPolicy) =>
    errorOf(() => new App(newMesh(), 'reviews', { image: 'x', trafficPolicy })).message;
  const message = (...lines: string[]) =>
    ['bookinfo/reviews: invalid props', ...lines.map((l) => `  - ${l}`)].join('\n');

  test('fails if the load balancer is unknown', () => {
    expect(fails({ loadBalancer: 'WEIGHTED' as never })).toBe(
      message(
        'trafficPolicy.loadBalancer: Invalid option: expected one of "ROUND_ROBIN"|"RANDOM"|"LEAST_REQUEST"|"PASSTHROUGH" (received "WEIGHTED")',
      ),
    );
  });

  test('fails if a consistent hash has two keys, or none', () => {
    const expected = (received: string) =>
      message(
        'trafficPolicy.loadBalancer.consistentHash: expected exactly one of { httpHeaderName }, { httpCookie: { name, ttl?: Duration, path? } }, { useSourceIp: true } or { httpQueryParameterName } ' +
          `(received ${received})`,
      );
    expect(
      fails({ loadBalancer: { consistentHash: { httpHeaderName: 'x', useSourceIp: true } as never } }),
    ).toBe(expected('{"httpHeaderName":"x","useSourceIp":true}'));
    expect(fails({ loadBalancer: { consistentHash: {} as never } })).toBe(expected('{}'));
    expect(fails({ loadBalancer: { consistentHash: { useSourceIp: false } as never } })).toBe(
      expected('{"useSourceIp":false}'),
    );
  });

  test('fails if a connection pool limit is negative or fractional, or a key unknown', () => {
    expect(
      fails({ connectionPool: { maxConnections: -1, maxRetries: 1.5, maxConnection: 1 } as never }),
    ).toBe(
      message(
        'trafficPolicy.connectionPool.maxConnections: Too small: expected number to be >=0 (received -1)',
        'trafficPolicy.connectionPool.maxRetries: expected int (received 1.5)',
        'trafficPolicy.connectionPool: unknown field "maxConnection": remove it or fix its spelling (received {"maxConnections":-1,"maxRetries":1.5,"maxConnection":1})',
      ),
    );
  });

  test('fails if outlier detection durations are numbers or the ejection percentage is out of range', () => {
    expect(
      fails({
        outlierDetection: {
          interval: 10 as unknown as Duration,
          baseEjectionTime: 30 as unknown as Duration,
          maxEjectionPercent: 101,
        },
      }),
    ).toBe(
      message(
        'trafficPolicy.outlierDetection.interval: expected a cdk8s Duration, e.g. Duration.seconds(7) (received 10)',
        'trafficPolicy.outlierDetection.baseEjectionTime: expected a cdk8s Duration, e.g. Duration.seconds(7) (received 30)',
        'trafficPolicy.outlierDetection.maxEjectionPercent: a percentage must be between 0 and 100 (received 101)',
      ),
    );
  });

  test('fails if the connect timeout is a number', () => {
    expect(fails({ connectionPool: { connectTimeout: 30 as unknown as Duration } })).toBe(
      message(
        'trafficPolicy.connectionPool.connectTimeout: expected a cdk8s Duration, e.g. Duration.seconds(7) (received 30)',
      ),
    );
  });

  test('fails if the TLS mode is unknown', () => {
    expect(fails({ tls: 'AUTO' as never })).toBe(
      message(
        'trafficPolicy.tls: Invalid option: expected one of "DISABLE"|"SIMPLE"|"MUTUAL"|"ISTIO_MUTUAL" (received "AUTO")',
      ),
    );
  });

  test('fails if a version traffic policy is invalid, naming the version field', () => {
    expect(
      errorOf(
        () =>
          new App(newMesh(), 'reviews', {
            image: 'x',
            versions: ['v1', { name: 'v2', trafficPolicy: { loadBalancer: 'FASTEST' as never } }],
          }),
      ).message,
    ).toBe(
      message(
        'versions[1].trafficPolicy.loadBalancer: Invalid option: expected one of "ROUND_ROBIN"|"RANDOM"|"LEAST_REQUEST"|"PASSTHROUGH" (received "FASTEST")',
      ),
    );
  });
});
