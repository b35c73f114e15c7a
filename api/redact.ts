/**
 * Credentials never reach output. URLs are shown without their user and password and with the
 * values of credential-like query parameters (`token`, `access_token`, `password`, `X-Amz-Signature`,
 * …) replaced, and free text (log fields, error messages from libraries) has every URL in it treated
 * so, and `Bearer`/`Basic` authorization values, `token: …`/`password=…` pairs and PEM private keys
 * replaced. The CLI and the operator (logs, Events, status) pass what they echo through here.
 */

/** What replaces a secret. */
export const REDACTED = 'REDACTED';

/** Query parameter names that carry credentials (lower case; matched as whole names or as a suffix after `_`, `-` or `.`). */
const SECRET_PARAMS =
  /^(?:.*[_.-])?(?:token|access_token|id_token|refresh_token|password|passwd|pwd|secret|client_secret|key|api_?key|apikey|auth|authorization|credential|credentials|signature|sig|session|code)$/i;

/** A URL as it may be shown: no user or password, credential-like query values replaced. */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return redactUserInfo(url);
  }
  let changed = false;
  if (u.username || u.password) {
    u.username = u.username ? REDACTED : '';
    u.password = '';
    changed = true;
  }
  for (const name of [...new Set(u.searchParams.keys())]) {
    if (SECRET_PARAMS.test(name)) {
      u.searchParams.set(name, REDACTED);
      changed = true;
    }
  }
  return changed ? u.toString() : url;
}

/** `scheme://user:pass@host` in text that is not a parseable URL. */
const redactUserInfo = (s: string) => s.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@?#]+@/gi, `$1${REDACTED}@`);

/** A URL in free text: a scheme, `://`, then anything up to whitespace or a closing quote or bracket. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`)\]}]+/gi;

const PATTERNS: readonly [RegExp, string][] = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, `$1 ${REDACTED}`],
  [
    /-----BEGIN ([A-Z ]*PRIVATE KEY)-----[\s\S]*?(?:-----END \1-----|$)/g,
    `-----BEGIN $1----- ${REDACTED} -----END $1-----`,
  ],
  [
    /\b((?:client-key-data|client-certificate-data|token|id-token|refresh-token|access-token|password|passwd|secret|client-secret|api-?key)\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&"'}]+)/gi,
    `$1${REDACTED}`,
  ],
];

/** Free text with every credential it may carry replaced. */
export function redactText(text: string): string {
  let out = text.replace(URL_IN_TEXT, (u) => redactUrl(u));
  for (const [re, to] of PATTERNS) out = out.replace(re, to);
  return out;
}

/** A log entry's or a message's values with redactText applied to every string, at any depth. */
export function redactValues<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (depth > 20 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => redactValues(v, depth + 1)) as T;
  if (value instanceof Error) return redactText(value.message) as T;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redactValues(v, depth + 1)]),
  ) as T;
}
