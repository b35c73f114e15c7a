/**
 * The README is the front door: its rule table matches the validator's rules, and the test
 * command it gives is the one CI runs.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RULES } from '../../constructs/validator/rules.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

test('the README lists every validator rule with its severity, mirrored codes and title', () => {
  const rows = new Map(
    [...readme.matchAll(/^\|\s*`(MESH\d+)`\s*\|\s*(\w+)\s*\|([^|]+)\|([^|]+)\|$/gm)].map((m) => [
      m[1],
      { severity: m[2], mirrors: m[3]!.trim(), title: m[4]!.trim() },
    ]),
  );
  expect(RULES.length).toBeGreaterThanOrEqual(25);
  expect([...rows.keys()].sort()).toEqual(RULES.map((r) => r.code).sort());
  for (const r of RULES) {
    expect(rows.get(r.code)).toEqual({
      severity: r.severity,
      mirrors: r.mirrors.length ? r.mirrors.join(', ') : '–',
      title: r.title,
    });
  }
});

test('CI runs the test command the README gives', () => {
  expect(readme).toContain('npm test ');
  expect(readFileSync(join(root, '.ci/run'), 'utf8')).toMatch(/^npm test$/m);
});
