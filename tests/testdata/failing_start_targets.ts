/**
 * A module that refuses to load while the environment variable
 * `FAIL_START_VARIABLE` is "1": a child whose target is here then fails to
 * start (before its target runs), which is how the supervisor tests make a
 * restart fail and succeed again at will. Run the children with
 * `spares: false`, so no process has loaded it ahead.
 */

import { member } from "./actor_targets.ts";

export const FAIL_START_MODULE: string = import.meta.url;
export const FAIL_START_VARIABLE = "TROUPE_TEST_FAIL_START";

if (Deno.env.get(FAIL_START_VARIABLE) === "1") {
  throw new Error("this module refuses to load on purpose");
}

/** A `member` (see actor_targets.ts) whose module may refuse to load. */
export function fragile(name: string): Promise<void> {
  return member(name);
}
