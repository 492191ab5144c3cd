/**
 * A module that takes its time to load in a child, for ps()'s "starting".
 * A worker given a Barrier whose action is `noop` imports this module before
 * its target may run; here, in a child, the top-level code writes
 * `<base>.loading` and waits until `<base>.go` exists, so the child stays
 * "starting" until the test lets it go. In the main process it does nothing.
 *
 * (Not the target's own module: that one is imported with the child's entry
 * module, and Deno lets a second import of it resolve before its top-level
 * await finishes, so the target would run anyway.)
 */

import { tmpdir } from "node:os";
import { currentProcess, parentProcess } from "../../mod.ts";
import { CHILD_PATIENCE_MS as PATIENCE_MS } from "../_helpers.ts";

export const MODULE: string = import.meta.url;

/** The files through which child `name` of the main process `rootPid` says it loads, and is let go. */
export function loadingFiles(rootPid: number, name: string): { loading: string; go: string } {
  const base = `${tmpdir()}/troupe-ps-starting-${rootPid}-${name}`;
  return { loading: `${base}.loading`, go: `${base}.go` };
}

/** The Barrier action. */
export function noop(): void {}

const parent = parentProcess();
if (parent !== null) {
  const { loading, go } = loadingFiles(parent.pid!, currentProcess().name);
  await Deno.writeTextFile(loading, "loading");
  const deadline = performance.now() + PATIENCE_MS;
  for (;;) {
    try {
      await Deno.stat(go);
      break;
    } catch {
      if (performance.now() > deadline) throw new Error(`Cannot see ${go} within ${PATIENCE_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
