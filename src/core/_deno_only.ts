/**
 * Imported first by every public entry point: on another runtime (Node,
 * Bun), troupe fails at import with one sentence that says why, rather
 * than with `Deno is not defined` somewhere inside.
 *
 * @module
 */

if (typeof Deno === "undefined") {
  throw new Error(
    "troupe runs on Deno only (2.x): it is built on Deno's Workers, permissions and subprocesses, " +
      "which Node and Bun do not have",
  );
}
