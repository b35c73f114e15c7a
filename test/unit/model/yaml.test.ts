/**
 * parseYamlObjects reads plain multi-document YAML with js-yaml and everything else with the
 * `yaml` document model. The two must give the same objects and lines: here the reference is the
 * document model alone, on the repo's YAML fixtures, on edge cases, and on random objects.
 */
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseAllDocuments, stringify } from 'yaml';
import { parseYamlObjects } from '../../../mesh/model/yaml.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures');

/** What the document model alone reads: [line, object] per document with a kind. */
function reference(text: string): [number, unknown][] {
  const lc = new LineCounter();
  return parseAllDocuments(text, { lineCounter: lc })
    .filter((d) => d.errors.length === 0)
    .map((d) => [lc.linePos(d.contents?.range?.[0] ?? d.range[0]).line, d.toJS()] as [number, unknown])
    .filter(
      ([, v]) => v !== null && typeof v === 'object' && typeof (v as { kind?: unknown }).kind === 'string',
    );
}
const read = (text: string) =>
  parseYamlObjects(text, 'f.yaml').objects.map((o) => [o.origin?.line, o.object]);

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

test('every YAML fixture of the repo reads the same as with the document model', () => {
  const files = yamlFiles(fixtures);
  expect(files.length).toBeGreaterThan(15);
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    expect([f, read(text)]).toStrictEqual([f, reference(text)]);
  }
});

const svc = (name: string) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n`;

test.each([
  ['leading marker and comments', `---\n# a comment\n\n${svc('a')}---\n${svc('b')}`],
  ['trailing marker and empty documents', `${svc('a')}---\n---\n\n---\n${svc('b')}---\n`],
  ['CRLF line endings', `${svc('a')}---\n${svc('b')}`.replaceAll('\n', '\r\n')],
  ['marker with a comment', `${svc('a')}--- # next\n${svc('b')}`],
  [
    'core-schema scalars',
    `${svc('a')}data:\n  d: 2026-01-01\n  y: yes\n  o: on\n  n: ~\n  h: 0x1F\n  e: 1e3\n  i: .inf\n  t: true\n  q: "007"\n  z: 007\n`,
  ],
  ['anchors and aliases (document model)', `${svc('a')}spec:\n  a: &x {p: 1}\n  b: *x\n`],
  ['a directive (document model)', `%YAML 1.2\n---\n${svc('a')}`],
  ['content on the marker line (document model)', `--- !!map\n${svc('a')}`],
  ['document end marker (document model)', `${svc('a')}...\n---\n${svc('b')}`],
  ['a line that only starts like a marker', `${svc('a')}data:\n  k: |\n    x\n---#not-a-marker: 1\n`],
  ['a block scalar', `${svc('a')}data:\n  script: |\n    #!/bin/sh\n    echo --- not a marker\n`],
])('%s', (_name, text) => {
  expect(read(text)).toStrictEqual(reference(text));
});

test('an error in one document is reported at its line in the file; the others are read', () => {
  const text = `${svc('a')}---\n${svc('b')}spec:\n  ports: [oops\n---\n${svc('c')}`;
  const r = parseYamlObjects(text, 'f.yaml');
  expect(r.objects.map((o) => [o.origin?.line, (o.object.metadata as { name: string }).name])).toEqual([
    [1, 'a'],
    [13, 'c'],
  ]);
  // line 11: the unclosed flow sequence (the document ends there)
  expect(r.problems).toEqual([
    { file: 'f.yaml', line: 11, message: expect.stringMatching(/^Flow sequence/) },
  ]);
});

test('an alias bomb is refused, not expanded', () => {
  const bomb = `${svc('a')}a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`;
  const r = parseYamlObjects(bomb, 'f.yaml');
  expect(r.objects).toEqual([]);
  expect(r.problems[0]?.message).toMatch(/alias/i);
});

test('random objects read the same through both parsers', () => {
  const key = fc.string({ minLength: 1, maxLength: 8 });
  const doc = fc.record({
    apiVersion: fc.constant('v1'),
    kind: fc.constantFrom('Service', 'ConfigMap'),
    metadata: fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/) }),
    data: fc.dictionary(key, fc.jsonValue({ maxDepth: 3 })),
  });
  fc.assert(
    fc.property(fc.array(doc, { minLength: 1, maxLength: 4 }), (docs) => {
      const text = docs.map((d) => stringify(d)).join('---\n');
      expect(read(text)).toStrictEqual(reference(text));
    }),
    { numRuns: 200 },
  );
});
