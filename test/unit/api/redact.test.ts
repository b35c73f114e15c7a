/** No credential reaches output: URLs, free text and log fields as the CLI and the operator show them. */
import { REDACTED, redactText, redactUrl, redactValues } from '../../../api/redact.js';
import { createLogger, type LogEntry } from '../../../operator/runtime/log.js';

describe('redactUrl', () => {
  test.each([
    ['https://admin:hunter2@10.0.0.1:6443', `https://${REDACTED}@10.0.0.1:6443/`],
    ['https://10.0.0.1:6443/?token=abc123&watch=1', `https://10.0.0.1:6443/?token=${REDACTED}&watch=1`],
    [
      'http://prom:9090/api?access_token=x&query=up',
      `http://prom:9090/api?access_token=${REDACTED}&query=up`,
    ],
    [
      'https://s3/o?X-Amz-Signature=abc&X-Amz-Credential=k',
      `https://s3/o?X-Amz-Signature=${REDACTED}&X-Amz-Credential=${REDACTED}`,
    ],
    ['https://10.0.0.1:6443', 'https://10.0.0.1:6443'],
    ['http://prometheus.istio-system:9090', 'http://prometheus.istio-system:9090'],
  ])('%s → %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});

describe('redactText', () => {
  test.each([
    [
      'cannot reach https://u:hunter2@h:1/a?token=abc (ECONNREFUSED)',
      `cannot reach https://${REDACTED}@h:1/a?token=${REDACTED} (ECONNREFUSED)`,
    ],
    ['Authorization: Bearer eyJhbGciOi.payload.sig', `Authorization: Bearer ${REDACTED}`],
    ['user: {token: abc123, password: "p w"}', `user: {token: ${REDACTED}, password: ${REDACTED}}`],
    ['client-key-data: LS0tLS1CRUdJTg==', `client-key-data: ${REDACTED}`],
    [
      '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----',
      `-----BEGIN EC PRIVATE KEY----- ${REDACTED} -----END EC PRIVATE KEY-----`,
    ],
    ['weights 80/20 on reviews', 'weights 80/20 on reviews'],
  ])('%j', (text, shown) => {
    expect(redactText(text)).toBe(shown);
  });

  test('values at any depth, errors by their message', () => {
    expect(redactValues({ a: ['x https://u:p@h/ y'], b: { c: new Error('token=abc') }, n: 3 })).toEqual({
      a: [`x https://${REDACTED}@h/ y`],
      b: { c: `token=${REDACTED}` },
      n: 3,
    });
  });
});

describe('the operator log', () => {
  test('no credential in a log line, whatever field carries it', () => {
    const lines: LogEntry[] = [];
    const log = createLogger({ sink: (e) => lines.push(e) }).with({
      cluster: 'https://admin:hunter2@10.0.0.1:6443',
    });
    log.error('cannot reach http://prom:9090/?token=s3cr3t', { error: new Error('Bearer abc.def.ghi') });
    const text = JSON.stringify(lines);
    for (const secret of ['hunter2', 's3cr3t', 'abc.def.ghi']) expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({
      level: 'error',
      msg: `cannot reach http://prom:9090/?token=${REDACTED}`,
      cluster: `https://${REDACTED}@10.0.0.1:6443/`,
    });
  });
});
