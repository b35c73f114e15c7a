/**
 * The demo's rollout timeline as a self-contained SVG: the canary's weight, its success rate and
 * its p99 latency over time, the SLO limits as dashed lines, and the milestones (release started,
 * promoted, failure injected, rolled back) as labelled vertical rules.
 */

/** One observation of the release, as the demo polled it. */
export interface Sample {
  /** Seconds since the demo's first release started. */
  readonly t: number;
  /** Which release (1, 2, …); each gets its own colour. */
  readonly release: number;
  readonly canaryWeight: number;
  readonly successRate?: number;
  readonly latencyP99Ms?: number;
}

/** A labelled moment. */
export interface Mark {
  readonly t: number;
  readonly label: string;
  /** Red for failures and rollbacks. */
  readonly bad?: boolean;
}

export interface TimelineOptions {
  readonly title: string;
  /** Label of each release, by number (e.g. `reviews v1 → v3`). */
  readonly releases: Readonly<Record<number, string>>;
  readonly successRateMin?: number;
  readonly latencyP99MaxMs?: number;
}

const COLOURS = ['#2563eb', '#d97706', '#059669', '#7c3aed'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const n = (v: number) => Number(v.toFixed(1));

/** The chart for `samples` and `marks`. */
export function timelineSvg(samples: readonly Sample[], marks: readonly Mark[], o: TimelineOptions): string {
  const W = 960;
  const left = 70;
  const right = 30;
  const panelH = 130;
  const gap = 40;
  const top = 60;
  const tMax = Math.max(1, ...samples.map((s) => s.t), ...marks.map((m) => m.t));
  const x = (t: number) => left + (t / tMax) * (W - left - right);
  const rates = samples.flatMap((s) => (s.successRate === undefined ? [] : [s.successRate]));
  const p99s = samples.flatMap((s) => (s.latencyP99Ms === undefined ? [] : [s.latencyP99Ms]));
  const rateMin = Math.floor(Math.min(95, o.successRateMin ?? 100, ...rates) / 5) * 5;
  const p99Max = Math.max(10, (o.latencyP99MaxMs ?? 0) * 1.2, ...p99s) * 1.05;

  const panels = [
    {
      title: 'canary weight (%)',
      lo: 0,
      hi: 100,
      value: (s: Sample) => s.canaryWeight,
      limit: undefined,
      step: true,
    },
    {
      title: 'canary success rate (%)',
      lo: rateMin,
      hi: 100,
      value: (s: Sample) => s.successRate,
      limit: o.successRateMin,
      step: false,
    },
    {
      title: 'canary p99 latency (ms)',
      lo: 0,
      hi: p99Max,
      value: (s: Sample) => s.latencyP99Ms,
      limit: o.latencyP99MaxMs,
      step: false,
    },
  ] as const;
  const H = top + panels.length * (panelH + gap) + 40;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${left}" y="28" font-size="16" font-weight="600">${esc(o.title)}</text>`,
  ];
  // legend
  let lx = left;
  for (const [num, label] of Object.entries(o.releases)) {
    const c = COLOURS[(Number(num) - 1) % COLOURS.length]!;
    out.push(
      `<rect x="${lx}" y="40" width="12" height="4" fill="${c}"/>`,
      `<text x="${lx + 16}" y="46">${esc(label)}</text>`,
    );
    lx += 24 + label.length * 7;
  }

  panels.forEach((p, i) => {
    const y0 = top + i * (panelH + gap) + 20;
    const y = (v: number) =>
      y0 + panelH - ((Math.min(p.hi, Math.max(p.lo, v)) - p.lo) / (p.hi - p.lo)) * panelH;
    out.push(
      `<text x="${left}" y="${y0 - 6}" font-weight="600">${esc(p.title)}</text>`,
      `<rect x="${left}" y="${y0}" width="${W - left - right}" height="${panelH}" fill="none" stroke="#d1d5db"/>`,
    );
    for (const v of [p.lo, (p.lo + p.hi) / 2, p.hi])
      out.push(`<text x="${left - 6}" y="${n(y(v) + 4)}" text-anchor="end" fill="#6b7280">${n(v)}</text>`);
    if (p.limit !== undefined)
      out.push(
        `<line x1="${left}" x2="${W - right}" y1="${n(y(p.limit))}" y2="${n(y(p.limit))}" stroke="#dc2626" stroke-dasharray="6 4"/>`,
        `<text x="${W - right - 4}" y="${n(y(p.limit) - 4)}" text-anchor="end" fill="#dc2626">SLO ${n(p.limit)}</text>`,
      );
    // one polyline per release, broken where there is no value
    const byRelease = new Map<number, Sample[]>();
    for (const s of samples) byRelease.set(s.release, [...(byRelease.get(s.release) ?? []), s]);
    for (const [release, list] of byRelease) {
      const c = COLOURS[(release - 1) % COLOURS.length]!;
      let run: string[] = [];
      let prevY: number | undefined;
      const flush = () => {
        if (run.length > 1)
          out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${run.join(' ')}"/>`);
        else if (run.length === 1) {
          const [px, py] = run[0]!.split(',');
          out.push(`<circle cx="${px}" cy="${py}" r="2" fill="${c}"/>`);
        }
        run = [];
        prevY = undefined;
      };
      for (const s of list) {
        const v = p.value(s);
        if (v === undefined || !Number.isFinite(v)) {
          flush();
          continue;
        }
        const py = n(y(v));
        if (p.step && prevY !== undefined && prevY !== py) run.push(`${n(x(s.t))},${prevY}`);
        run.push(`${n(x(s.t))},${py}`);
        prevY = py;
      }
      flush();
    }
  });

  // milestones across all panels
  const yTop = top + 20;
  const yBottom = top + panels.length * (panelH + gap) - gap + 20;
  marks.forEach((m, i) => {
    const mx = n(x(m.t));
    const c = m.bad ? '#dc2626' : '#374151';
    out.push(
      `<line x1="${mx}" x2="${mx}" y1="${yTop}" y2="${yBottom}" stroke="${c}" stroke-width="1" stroke-dasharray="2 3"/>`,
      // Labels in the right half hang to the left of their line, so none runs off the chart.
      mx > W / 2
        ? `<text x="${mx - 3}" y="${yBottom + 14 + (i % 2) * 13}" text-anchor="end" fill="${c}">${esc(m.label)}</text>`
        : `<text x="${mx + 3}" y="${yBottom + 14 + (i % 2) * 13}" fill="${c}">${esc(m.label)}</text>`,
    );
  });
  out.push(
    `<text x="${W - right}" y="${H - 6}" text-anchor="end" fill="#6b7280">time (s) 0 – ${n(tMax)}</text>`,
    '</svg>',
  );
  return out.join('\n') + '\n';
}
