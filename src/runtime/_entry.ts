/**
 * The entry module of a child: a small generated `data:` module that sets
 * the child's preamble, then statically imports the bootstrap and the module
 * of the target, in that order.
 *
 * Static imports matter for sandboxes: Deno loads a program's static module
 * graph without checking permissions, but a dynamic import of a local file
 * needs read permission. Importing the target's module statically lets a
 * child without `read` still load its own code, as `deno run` of a main
 * module does. The bootstrap has no top-level await, so it is fully set up
 * before the target's module is evaluated.
 *
 * @module
 */

import type { Preamble } from "./_protocol.ts";

const KEY = Symbol.for("troupe.preamble");

const BOOTSTRAP = Symbol.for("troupe.bootstrap");

const EVALUATED = Symbol.for("troupe.entryEvaluated");

/** The URL of the entry module for a child with this preamble. */
export function entryUrl(bootstrap: URL, preamble: Preamble, module: string | null): string {
  const setPreamble = `globalThis[Symbol.for("troupe.preamble")] = ${JSON.stringify(preamble)};\n` +
    `globalThis[Symbol.for("troupe.bootstrap")] = ${JSON.stringify(bootstrap.href)};`;
  const imports = [dataUrl(setPreamble), bootstrap.href, ...(module === null ? [] : [module])];
  // Runs once every import above is evaluated, top-level awaits included.
  const done = `globalThis[Symbol.for("troupe.entryEvaluated")]?.();`;
  return dataUrl([...imports.map((url) => `import ${JSON.stringify(url)};`), done].join("\n"));
}

let evaluated: Promise<void> | undefined;

/**
 * Resolves once the entry module is evaluated: the target's module included,
 * with its top-level awaits. Its first call must come from the bootstrap's
 * own evaluation, before the entry module's last line runs.
 *
 * Awaiting `import()` of the target's module is not enough: while that
 * module waits in a top-level await, Deno resolves the import at once, and
 * the target would run before the module's own bindings are initialized.
 */
export function entryEvaluated(): Promise<void> {
  if (!evaluated) {
    const { promise, resolve } = Promise.withResolvers<void>();
    (globalThis as Record<symbol, unknown>)[EVALUATED] = resolve;
    evaluated = promise;
  }
  return evaluated;
}

/**
 * Whether the module at `url` is the bootstrap this isolate's entry module
 * started. The bootstraps are also imported statically by the hosts, so that
 * every module a child loads is in the module graph of the program that
 * starts it (what `deno cache` fetches, a lock file pins and `deno compile`
 * embeds); imported that way, a bootstrap must do nothing.
 */
export function isBootstrap(url: string): boolean {
  return (globalThis as Record<symbol, unknown>)[BOOTSTRAP] === url;
}

/** The preamble the entry module set; read once, by the bootstrap. */
export function readPreamble(): Preamble {
  const preamble = (globalThis as Record<symbol, Preamble | undefined>)[KEY];
  if (!preamble) throw new Error("Cannot start a troupe child without its entry module's preamble");
  return preamble;
}

function dataUrl(code: string): string {
  return `data:text/javascript,${encodeURIComponent(code)}`;
}

/** This module, which an entry of {@linkcode runnerEntry} imports. */
const ENTRY_MODULE = import.meta.url;

/**
 * The module a child starts on to run the exports of `runner` (troupe's own,
 * a pool worker's loop, say) on `module`: both are imported statically, so
 * both are in the child's static module graph, which Deno loads without
 * checking permissions: a child in a sandbox without `read` still loads the
 * code it runs. The runner finds `module` with {@linkcode adoptedModule}.
 */
export function runnerEntry(runner: string, module: string): string {
  const code = [
    `import { adoptModule } from ${JSON.stringify(ENTRY_MODULE)};`,
    `import * as adopted from ${JSON.stringify(module)};`,
    `adoptModule(${JSON.stringify(module)}, adopted);`,
    `export * from ${JSON.stringify(runner)};`,
  ].join("\n");
  return dataUrl(code);
}

/**
 * The runner and the module of `url` if it is exactly an entry that
 * {@linkcode runnerEntry} makes, byte for byte (anything else could import
 * more); else undefined.
 */
export function runnerEntryParts(url: string): { runner: string; module: string } | undefined {
  const prefix = "data:text/javascript,";
  if (!url.startsWith(prefix)) return undefined;
  let code: string;
  try {
    code = decodeURIComponent(url.slice(prefix.length));
  } catch {
    return undefined;
  }
  const module = quotedIn(code, /^import \* as adopted from ("(?:[^"\\]|\\.)*");$/m);
  const runner = quotedIn(code, /^export \* from ("(?:[^"\\]|\\.)*");$/m);
  if (module === undefined || runner === undefined) return undefined;
  return runnerEntry(runner, module) === url ? { runner, module } : undefined;
}

/** The JSON string `pattern` captures in `code`, parsed; undefined if there is none. */
function quotedIn(code: string, pattern: RegExp): string | undefined {
  const quoted = pattern.exec(code)?.[1];
  if (quoted === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(quoted);
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The modules entries of {@linkcode runnerEntry} imported statically in this isolate, by URL. */
const adopted = new Map<string, Record<string, unknown>>();

/**
 * Hands the runner the module its entry imported statically: a dynamic
 * import of a local file needs read permission, which a sandboxed child may
 * not have.
 *
 * @internal
 */
export function adoptModule(url: string, namespace: Record<string, unknown>): void {
  adopted.set(url, namespace);
}

/** The module `url`, if this isolate's entry imported it statically (see {@linkcode runnerEntry}). */
export function adoptedModule(url: string): Record<string, unknown> | undefined {
  return adopted.get(url);
}
