/** Multi-document YAML into sourced objects, each with its file and line; syntax errors are returned, never thrown. */
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
  const lc = new LineCounter();
  const objects: SourcedObject[] = [];
  const problems: ParseProblem[] = [];
  let docs;
  try {
    docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  } catch (e) {
    return { objects, problems: [{ file, line: 1, message: (e as Error).message }] };
  }
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    const line = lc.linePos(start).line;
    if (doc.errors.length) {
      for (const err of doc.errors) {
        const at = err.pos ? lc.linePos(err.pos[0]).line : line;
        problems.push({ file, line: at, message: err.message.split('\n')[0]! });
      }
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      problems.push({ file, line, message: (e as Error).message });
      continue;
    }
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push({ file, line, message: 'a document must be a Kubernetes object (a mapping with kind)' });
      continue;
    }
    const o = value as KubeObject;
    if (typeof o.kind !== 'string') {
      problems.push({ file, line, message: 'document has no kind' });
      continue;
    }
    objects.push({ object: o, origin: { file, line } });
  }
  return { objects, problems };
}
