/**
 * A summary of a V8 heap snapshot (`.heapsnapshot`, as `node --heapsnapshot-signal` writes it):
 * self size and count by constructor (objects by class name, strings, arrays, code…), and for the
 * largest groups the retainers that hold them (owner's constructor and the property it is held
 * by). Parsed from the file's number arrays without building the whole JSON tree, so a snapshot
 * of a few hundred MB fits in a bench process.
 *
 * Run alone: `tsx bench/heap-snapshot.ts FILE [TOP]`.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface Meta {
  readonly node_fields: string[];
  readonly node_types: [string[], ...unknown[]];
  readonly edge_fields: string[];
  readonly edge_types: [string[], ...unknown[]];
}

/** The integers of the JSON array that starts after `key` (e.g. `"nodes":[`). */
function intArray(buf: Buffer, key: string): Int32Array | Float64Array {
  const start = buf.indexOf(key);
  if (start < 0) throw new Error(`no ${key} in the snapshot`);
  const end = buf.indexOf(0x5d /* ] */, start + key.length);
  let count = 0;
  for (let i = start + key.length; i < end; i++) if (buf[i] === 0x2c) count++;
  const out = new Float64Array(count + 1);
  let n = 0;
  let v = 0;
  let digits = false;
  for (let i = start + key.length; i <= end; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) {
      v = v * 10 + (c - 0x30);
      digits = true;
    } else if (c === 0x2c || c === 0x5d) {
      if (digits) out[n++] = v;
      v = 0;
      digits = false;
    }
  }
  return out.subarray(0, n);
}

export interface HeapGroup {
  readonly name: string;
  readonly count: number;
  readonly selfBytes: number;
  /** The largest holders of this group: `Owner.property` → bytes. */
  readonly retainers: readonly { readonly via: string; readonly bytes: number }[];
}

export interface HeapSummary {
  readonly totalBytes: number;
  readonly nodes: number;
  readonly groups: readonly HeapGroup[];
}

/** Summarizes the snapshot in `file`: the `top` groups by self size, each with its 4 largest retainers. */
export function summarizeHeapSnapshot(file: string, top = 15): HeapSummary {
  const buf = readFileSync(file);
  const metaEnd = buf.indexOf('"nodes":[');
  const head = buf.subarray(0, metaEnd).toString('utf8');
  const meta = (JSON.parse(head.replace(/,\s*$/, '') + '}') as { snapshot: { meta: Meta } }).snapshot.meta;
  const nodes = intArray(buf, '"nodes":[');
  const edges = intArray(buf, '"edges":[');
  const sStart = buf.indexOf('"strings":[') + '"strings":'.length;
  const sText = buf.subarray(sStart).toString('utf8');
  const strings = JSON.parse(sText.slice(0, sText.lastIndexOf(']') + 1)) as string[];

  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const nType = meta.node_fields.indexOf('type');
  const nName = meta.node_fields.indexOf('name');
  const nSize = meta.node_fields.indexOf('self_size');
  const nEdges = meta.node_fields.indexOf('edge_count');
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const eTo = meta.edge_fields.indexOf('to_node');
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const count = nodes.length / nf;

  const groupOf = (i: number): string => {
    const t = nodeTypes[nodes[i * nf + nType]!]!;
    if (t === 'object' || t === 'native') return strings[nodes[i * nf + nName]!]!;
    if (t === 'hidden' || t === 'synthetic') return `(${t}) ${strings[nodes[i * nf + nName]!]}`;
    return `(${t})`;
  };
  const group = new Array<string>(count);
  const bytes = new Map<string, { count: number; self: number }>();
  let total = 0;
  for (let i = 0; i < count; i++) {
    const g = groupOf(i);
    group[i] = g;
    const size = nodes[i * nf + nSize]!;
    total += size;
    const s = bytes.get(g) ?? { count: 0, self: 0 };
    s.count++;
    s.self += size;
    bytes.set(g, s);
  }
  const ranked = [...bytes].sort((a, b) => b[1].self - a[1].self).slice(0, top);
  const wanted = new Set(ranked.map(([g]) => g));

  // The first strong retainer of each node of a wanted group.
  const firstRetainer = new Map<number, string>();
  let edge = 0;
  for (let i = 0; i < count; i++) {
    const n = nodes[i * nf + nEdges]!;
    for (let k = 0; k < n; k++, edge++) {
      const type = edgeTypes[edges[edge * ef + eType]!]!;
      if (type === 'weak' || type === 'shortcut') continue;
      const to = edges[edge * ef + eTo]! / nf;
      if (!wanted.has(group[to]!) || firstRetainer.has(to)) continue;
      const nameIdx = edges[edge * ef + eName]!;
      const prop = type === 'element' || type === 'hidden' ? `[${type}]` : strings[nameIdx];
      firstRetainer.set(to, `${group[i]}.${prop}`);
    }
  }
  const via = new Map<string, Map<string, number>>();
  for (const [to, v] of firstRetainer) {
    const g = group[to]!;
    const m = via.get(g) ?? new Map<string, number>();
    m.set(v, (m.get(v) ?? 0) + nodes[to * nf + nSize]!);
    via.set(g, m);
  }
  return {
    totalBytes: total,
    nodes: count,
    groups: ranked.map(([name, s]) => ({
      name,
      count: s.count,
      selfBytes: s.self,
      retainers: [...(via.get(name) ?? new Map<string, number>())]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(([v, b]) => ({ via: v, bytes: b })),
    })),
  };
}

/** The summary as lines of text. */
export function formatHeapSummary(s: HeapSummary): string {
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
  const lines = [`heap ${mb(s.totalBytes)} in ${s.nodes} nodes; largest groups by self size:`];
  for (const g of s.groups) {
    lines.push(`  ${mb(g.selfBytes).padStart(9)}  ${String(g.count).padStart(8)}  ${g.name.slice(0, 80)}`);
    for (const r of g.retainers)
      lines.push(`             ${mb(r.bytes).padStart(9)} held by ${r.via.slice(0, 100)}`);
  }
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tsx bench/heap-snapshot.ts FILE.heapsnapshot [TOP]');
    process.exit(2);
  }
  console.log(formatHeapSummary(summarizeHeapSnapshot(file, Number(process.argv[3] ?? 15))));
}
