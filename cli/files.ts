/** Reads YAML/JSON files and directories into sourced objects; unreadable or malformed input is reported, not thrown. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseYamlObjects, type ParseProblem } from '../mesh/model/yaml.js';
import type { KubeObject, SourcedObject } from '../mesh/model/types.js';

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Every YAML/JSON file under the given files and directories (directories recursively, sorted). */
export function collectFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string, explicit: boolean) => {
    const st = statSync(p); // throws ENOENT: a tool failure, reported by the caller
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) if (!e.startsWith('.')) walk(join(p, e), false);
    } else if (explicit || EXTENSIONS.has(extname(p))) out.push(p);
  };
  for (const p of paths) walk(p, true);
  return out;
}

export interface LoadedFiles {
  readonly objects: SourcedObject[];
  readonly problems: ParseProblem[];
}

/** Loads every document of every file. JSON files may hold an object, an array, or a List. */
export function loadFiles(files: readonly string[]): LoadedFiles {
  const objects: SourcedObject[] = [];
  const problems: ParseProblem[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    if (extname(file) === '.json') {
      try {
        const v = JSON.parse(text) as KubeObject | KubeObject[];
        for (const o of Array.isArray(v) ? v : [v]) objects.push({ object: o, origin: { file } });
      } catch (e) {
        problems.push({ file, line: 1, message: (e as Error).message });
      }
      continue;
    }
    const parsed = parseYamlObjects(text, file);
    objects.push(...parsed.objects);
    problems.push(...parsed.problems);
  }
  return { objects, problems };
}
