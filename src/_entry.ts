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

/** The URL of the entry module for a child with this preamble. */
export function entryUrl(bootstrap: URL, preamble: Preamble, module: string | null): string {
  const setPreamble = `globalThis[Symbol.for("troupe.preamble")] = ${JSON.stringify(preamble)};`;
  const imports = [dataUrl(setPreamble), bootstrap.href, ...(module === null ? [] : [module])];
  return dataUrl(imports.map((url) => `import ${JSON.stringify(url)};`).join("\n"));
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
