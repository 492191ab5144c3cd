/**
 * Building a `Process` object for a process that already exists: the current
 * one in a child (possibly a user subclass) or its parent. Python's spawn
 * unpickles the Process object without calling `__init__`; likewise the
 * subclass's constructor must not run in the child, yet `Process`'s own must,
 * to create its private fields. `Reflect.construct(Process, [], Subclass)`
 * does exactly that, and this module hands the constructor what to adopt.
 *
 * @module
 */

import type { Role } from "./_process_engine.ts";

/** What the adopted object stands for, and for the current process, what it runs. */
export interface Adoption {
  readonly role: Exclude<Role, "child">;
  readonly target?: (...args: never[]) => unknown;
  readonly args?: readonly unknown[];
}

let pending: Adoption | undefined;

/** Builds an instance of `Class` (Process or a subclass) through `Base`'s constructor only. */
export function adopt<T extends object>(
  Base: abstract new (...args: never[]) => T,
  Class: abstract new (...args: never[]) => T,
  adoption: Adoption,
): T {
  pending = adoption;
  try {
    return Reflect.construct(Base, [], Class) as T;
  } finally {
    pending = undefined;
  }
}

/** Called first thing by the Process constructor: an adoption in progress, if any. */
export function takeAdoption(): Adoption | undefined {
  const adoption = pending;
  pending = undefined;
  return adoption;
}
