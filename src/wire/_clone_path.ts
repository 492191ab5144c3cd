/**
 * Names the part of a value that structured clone refused. `postMessage` only
 * says "() => 1 could not be cloned"; a user needs to know where it sits.
 *
 * @module
 */

import { MAX_NESTING } from "./_codec.ts";

const UNCLONEABLE: ReadonlyArray<[new (...args: never[]) => object, string]> = [
  [WeakMap, "a WeakMap"],
  [WeakSet, "a WeakSet"],
  [WeakRef, "a WeakRef"],
  [Promise, "a Promise"],
];

/** An array index, a property key, or a step already written out (`.get("k")`). */
type Step = number | string | { readonly shown: string };

/** How a walk treats what it meets. */
interface Walk {
  readonly seen: Set<object>;
  /** The path so far, one step per level below the root: an index, a key, or a step as shown. */
  readonly steps: Step[];
  /** Only nesting is looked for: functions and the like are left to the clone. */
  readonly depthOnly: boolean;
  /** The value goes as bytes (a queue item, a manager's frame), which shared memory cannot cross. */
  readonly asBytes?: boolean;
  /** Steps that are no level: 1 when the root is a list of values (args), each at level 1. */
  readonly offset: number;
  /** Objects not to look into (they cross by reference, not by copy). */
  readonly skip: (object: object) => boolean;
}

/**
 * Finds the first part of `value` that cannot be cloned (`asBytes`: that
 * cannot be written as bytes, so shared memory too) and describes it,
 * for example `args[1].onDone is a function`, or
 * `args[0].next.next.next…next is nested more than 1000 levels deep`.
 * Returns `undefined` when the walk finds nothing (the clone failed for a
 * reason it cannot see, such as a Proxy); callers then fall back to the
 * platform's message.
 */
export function findUncloneable(value: unknown, path: string, asBytes = false): string | undefined {
  return walk(value, path, {
    seen: new Set(),
    steps: [],
    depthOnly: false,
    asBytes,
    offset: 0,
    skip: () => false,
  });
}

/**
 * Describes where a member of `values` (each arg, or each field of an
 * object) nests more than `MAX_NESTING` levels deep, as `findUncloneable`
 * does, or returns undefined. It does not look into the objects `skip`
 * names; nothing else stops it, so a value too deep for structured clone or
 * the codec is refused before either overflows its stack.
 */
export function findTooDeep(
  values: object,
  path: string,
  skip: (object: object) => boolean = () => false,
): string | undefined {
  return walk(values, path, { seen: new Set(), steps: [], depthOnly: true, offset: 1, skip });
}

/** A path of `steps` below `root`, shortened in the middle when it is long. */
function showPath(root: string, steps: readonly Step[]): string {
  const show = (part: readonly Step[]) => part.map(showStep).join("");
  if (steps.length <= 8) return root + show(steps);
  return `${root}${show(steps.slice(0, 4))}…${show(steps.slice(-2))}`;
}

function showStep(step: Step): string {
  if (typeof step === "number") return `[${step}]`;
  if (typeof step === "object") return step.shown;
  return /^[A-Za-z_$][\w$]*$/.test(step) ? `.${step}` : `[${JSON.stringify(step)}]`;
}

function walk(value: unknown, root: string, how: Walk): string | undefined {
  const { seen, steps, depthOnly } = how;
  if (!depthOnly && typeof value === "function") return `${showPath(root, steps)} is a function`;
  if (!depthOnly && typeof value === "symbol") return `${showPath(root, steps)} is a symbol`;
  if (typeof value !== "object" || value === null || seen.has(value) || how.skip(value)) return undefined;
  seen.add(value);
  // The value at the root is level 1 (its members are, for a list of values).
  if (steps.length - how.offset >= MAX_NESTING) {
    return `${showPath(root, steps)} is nested more than ${MAX_NESTING} levels deep`;
  }
  if (!depthOnly) {
    for (const [Class, what] of UNCLONEABLE) {
      if (value instanceof Class) return `${showPath(root, steps)} is ${what}`;
    }
  }
  const inner = (item: unknown, step: Step) => {
    steps.push(step);
    const found = walk(item, root, how);
    steps.pop();
    return found;
  };
  if (value instanceof Map) {
    let i = 0;
    for (const [key, item] of value) {
      const found = inner(key, { shown: `.keys()[${i}]` }) ??
        inner(item, { shown: `.get(${describeKey(key)})` });
      if (found) return found;
      i++;
    }
    return undefined;
  }
  if (value instanceof Set) {
    let i = 0;
    for (const item of value) {
      const found = inner(item, { shown: `.values()[${i++}]` });
      if (found) return found;
    }
    return undefined;
  }
  if (how.asBytes && typeof SharedArrayBuffer !== "undefined") {
    if (value instanceof SharedArrayBuffer) return `${showPath(root, steps)} is a SharedArrayBuffer`;
    if (ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer) {
      return `${showPath(root, steps)} is a view of a SharedArrayBuffer`;
    }
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return undefined;
  // An error always crosses: a cause or field that cannot crosses as its text (`_error_codec.ts`).
  if (value instanceof Error) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = inner(value[i], i);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const found = inner((value as Record<string, unknown>)[key], key);
    if (found) return found;
  }
  return undefined;
}

function describeKey(key: unknown): string {
  return typeof key === "string" ? JSON.stringify(key) : String(key);
}
