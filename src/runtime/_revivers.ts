/**
 * Where a child finds how to rebuild the objects it may get in its args
 * beyond queues, pipes and actors (which every child loads): locks, shared
 * values and manager proxies live in higher layers than the runtime, so a
 * child imports their modules when, and only when, its args hold one.
 *
 * The modules are troupe's own, named here by kind: a descriptor in a
 * message can never make a child import a module of its choosing. Whoever
 * made such an object loaded its module, so the module is in that
 * program's module graph, which `deno cache` and `deno compile` keep.
 *
 * @module
 */

import { kindsIn } from "../memory/_shared.ts";

const LOCK = "../sync/lock.ts";
const SEMAPHORE = "../sync/semaphore.ts";
const SHARED_MEMORY = "../sync/shared_memory.ts";

/**
 * The modules that teach `revive` each kind, by kind. A test checks that
 * every kind troupe registers a reviver for is here or loaded by every child.
 */
export const REVIVER_MODULES: { readonly [kind: string]: readonly string[] } = {
  Lock: [LOCK],
  RLock: [LOCK],
  Semaphore: [SEMAPHORE],
  BoundedSemaphore: [SEMAPHORE],
  Event: ["../sync/event.ts"],
  Condition: ["../sync/condition.ts"],
  Barrier: ["../sync/barrier.ts"],
  RawValue: [SHARED_MEMORY],
  Value: [SHARED_MEMORY],
  RawArray: [SHARED_MEMORY],
  SharedArray: [SHARED_MEMORY],
  // The lock proxies' classes are set by their own module.
  proxy: ["../manager/proxy.ts", "../manager/sync_proxy.ts"],
};

/** Imports the modules that rebuild the kinds in `value` that no loaded module can. */
export async function loadRevivers(value: unknown): Promise<void> {
  const modules = new Set<string>();
  for (const kind of kindsIn(value, { unknownOnly: true })) {
    for (const module of Object.hasOwn(REVIVER_MODULES, kind) ? REVIVER_MODULES[kind]! : []) {
      modules.add(new URL(module, import.meta.url).href);
    }
  }
  await Promise.all([...modules].map((module) => import(module)));
}
