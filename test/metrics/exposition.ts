/**
 * A tiny parser for the Prometheus text exposition format (what `registry.metrics()` serves), for tests:
 * `name{label="value",…} value` sample lines and `# TYPE name type` lines.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly samples: readonly Sample[];
  /** `# TYPE` declarations by metric family name. */
  readonly types: ReadonlyMap<string, string>;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new Error(`bad sample value: ${text}`);
  return n;
}

/** Parses `key="value",…` (with `\\`, `\"` and `\n` escapes) starting after `{`; returns labels and the index after `}`. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start;
  for (;;) {
    if (line[i] === '}') return { labels, end: i + 1 };
    const eq = line.indexOf('=', i);
    if (eq < 0 || line[eq + 1] !== '"') throw new Error(`bad labels: ${line}`);
    const key = line.slice(i, eq);
    let value = '';
    let j = eq + 2;
    for (; j < line.length && line[j] !== '"'; j++) {
      if (line[j] === '\\') {
        j++;
        value += line[j] === 'n' ? '\n' : line[j];
      } else value += line[j];
    }
    if (j >= line.length) throw new Error(`unterminated label value: ${line}`);
    labels[key] = value;
    i = j + 1;
    if (line[i] === ',') i++;
  }
}

/** Parses a whole exposition. Throws on a malformed line, so the format itself is checked too. */
export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (m) types.set(m[1]!, m[2]!);
      continue;
    }
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    let name: string;
    let labels: Record<string, string> = {};
    let rest: string;
    if (brace >= 0 && (space < 0 || brace < space)) {
      name = line.slice(0, brace);
      const parsed = parseLabels(line, brace + 1);
      labels = parsed.labels;
      rest = line.slice(parsed.end).trim();
    } else {
      name = line.slice(0, space);
      rest = line.slice(space + 1).trim();
    }
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`bad metric name: ${line}`);
    samples.push({ name, labels, value: parseValue(rest.split(' ')[0]!) });
  }
  return { samples, types };
}

/** Samples of `name` whose labels include every `match` pair. */
export function select(exp: Exposition, name: string, match: Record<string, string> = {}): Sample[] {
  return exp.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** Sum of the values of {@link select}. */
export function sum(exp: Exposition, name: string, match: Record<string, string> = {}): number {
  return select(exp, name, match).reduce((acc, s) => acc + s.value, 0);
}

/** The single sample of `name` with exactly-matching labels; throws when there is none or several. */
export function value(exp: Exposition, name: string, match: Record<string, string> = {}): number {
  const found = select(exp, name, match);
  if (found.length !== 1) throw new Error(`${name}${JSON.stringify(match)}: ${found.length} samples`);
  return found[0]!.value;
}

/** Distinct label sets per sample name (histogram `le` ignored). */
export function labelSets(exp: Exposition): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const s of exp.samples) {
    const { le: _le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)));
    let set = out.get(s.name);
    if (!set) out.set(s.name, (set = new Set()));
    set.add(key);
  }
  return out;
}

/** Listens on 127.0.0.1 with a random port; returns the base URL and a close function. */
export async function listen(handler: RequestListener): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
