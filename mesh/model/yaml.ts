/**
 * Multi-document YAML into sourced objects, each with its file and line; syntax errors are
 * returned, never thrown.
 *
 * Two parsers, one result. Plain Kubernetes YAML (documents separated by bare `---` lines, no
 * directives, no aliases) is split at its document markers and read with js-yaml, about eight
 * times faster than a full document model on a large file, which is what `cli lint` spends most
 * of its time on. Anything else, and any document js-yaml refuses, goes through the `yaml`
 * library's document model, which reports errors with their exact position and bounds alias
 * expansion. Both read YAML 1.2's core schema, so they give the same values (a test compares them).
 */
import { CORE_SCHEMA, load } from 'js-yaml';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { KubeObject, SourcedObject } from './types.js';

/** A document that could not be read. */
export interface ParseProblem {
  readonly file: string;
  /** 1-based line of the problem. */
  readonly line: number;
  readonly message: string;
}

export interface ParsedYaml {
  readonly objects: SourcedObject[];
  readonly problems: ParseProblem[];
}

/** Parses every document of `text`; empty documents are skipped, non-objects are problems. */
export function parseYamlObjects(text: string, file: string): ParsedYaml {
  const out: ParsedYaml = { objects: [], problems: [] };
  const chunks = plainDocuments(text);
  if (!chunks) {
    parseWithDocumentModel(text, file, 0, out);
    return out;
  }
  for (const c of chunks) {
    if (ALIAS.test(c.body)) {
      parseWithDocumentModel(c.body, file, c.line - 1, out);
      continue;
    }
    let value: unknown;
    try {
      value = load(c.body, { schema: CORE_SCHEMA });
    } catch {
      // the document model says exactly what and where
      parseWithDocumentModel(c.body, file, c.line - 1, out);
      continue;
    }
    accept(value, file, c.line + firstContentLine(c.body), out);
  }
  return out;
}

/** The parser of every unusual input: `yaml`'s document model, lines offset by `lineOffset`. */
function parseWithDocumentModel(text: string, file: string, lineOffset: number, out: ParsedYaml): void {
  const lc = new LineCounter();
  let docs;
  try {
    docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  } catch (e) {
    out.problems.push({ file, line: lineOffset + 1, message: (e as Error).message });
    return;
  }
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    const line = lineOffset + lc.linePos(start).line;
    if (doc.errors.length) {
      for (const err of doc.errors) {
        const at = err.pos ? lineOffset + lc.linePos(err.pos[0]).line : line;
        out.problems.push({ file, line: at, message: err.message.split('\n')[0]! });
      }
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      out.problems.push({ file, line, message: (e as Error).message });
      continue;
    }
    accept(value, file, line, out);
  }
}

function accept(value: unknown, file: string, line: number, out: ParsedYaml): void {
  if (value === null || value === undefined) return;
  if (typeof value !== 'object' || Array.isArray(value)) {
    out.problems.push({
      file,
      line,
      message: 'a document must be a Kubernetes object (a mapping with kind)',
    });
    return;
  }
  const o = value as KubeObject;
  if (typeof o.kind !== 'string') {
    out.problems.push({ file, line, message: 'document has no kind' });
    return;
  }
  out.objects.push({ object: o, origin: { file, line } });
}

/** A bare document marker, with at most a comment after it. */
const MARKER = /^---(?:[ \t]+(?:#.*)?)?\r?$/;
/** What only the document model reads: directives, document end markers, content on a marker line. */
const UNUSUAL = /^(?:%|\.\.\.(?:[ \t]|\r?$)|---[ \t]+[^ \t#\r])/m;
/** An alias (`*name`) where one can start: the document model bounds what aliases expand to. */
const ALIAS = /(?:^|[\s[{,])\*[^\s,\]}]/;

/** The documents of plain multi-document YAML with the 1-based line each starts on, or undefined when it is not plain. */
function plainDocuments(text: string): { line: number; body: string }[] | undefined {
  if (UNUSUAL.test(text)) return undefined;
  const lines = text.split('\n');
  const chunks: { line: number; body: string }[] = [];
  let from = 0;
  for (let i = 0; i <= lines.length; i++) {
    if (i === lines.length || MARKER.test(lines[i]!)) {
      chunks.push({ line: from + 1, body: lines.slice(from, i).join('\n') });
      from = i + 1;
    }
  }
  return chunks;
}

/** Lines before the first line of content (blank and comment lines). */
function firstContentLine(body: string): number {
  let n = 0;
  let at = 0;
  while (at < body.length) {
    const end = body.indexOf('\n', at);
    const t = body.slice(at, end === -1 ? body.length : end).trim();
    if (t !== '' && !t.startsWith('#')) return n;
    if (end === -1) break;
    at = end + 1;
    n++;
  }
  return n;
}
