/**
 * Names the part of a value that structured clone refused. `postMessage` only
 * says "() => 1 could not be cloned"; a user needs to know where it sits.
 *
 * @module
 */

const UNCLONEABLE: ReadonlyArray<[new (...args: never[]) => object, string]> = [
  [WeakMap, "a WeakMap"],
  [WeakSet, "a WeakSet"],
  [WeakRef, "a WeakRef"],
  [Promise, "a Promise"],
];

/**
 * Finds the first part of `value` that cannot be cloned and describes it,
 * for example `args[1].onDone is a function`. Returns `undefined` when the
 * walk finds nothing (the clone failed for a reason it cannot see, such as a
 * Proxy); callers then fall back to the platform's message.
 */
export function findUncloneable(value: unknown, path: string): string | undefined {
  return walk(value, path, new Set());
}

function walk(value: unknown, path: string, seen: Set<object>): string | undefined {
  if (typeof value === "function") return `${path} is a function`;
  if (typeof value === "symbol") return `${path} is a symbol`;
  if (typeof value !== "object" || value === null || seen.has(value)) return undefined;
  seen.add(value);
  for (const [Class, what] of UNCLONEABLE) {
    if (value instanceof Class) return `${path} is ${what}`;
  }
  if (value instanceof Map) {
    let i = 0;
    for (const [key, item] of value) {
      const found = walk(key, `${path}.keys()[${i}]`, seen) ??
        walk(item, `${path}.get(${describeKey(key)})`, seen);
      if (found) return found;
      i++;
    }
    return undefined;
  }
  if (value instanceof Set) {
    let i = 0;
    for (const item of value) {
      const found = walk(item, `${path}.values()[${i++}]`, seen);
      if (found) return found;
    }
    return undefined;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return undefined;
  for (const key of Object.keys(value)) {
    const step = Array.isArray(value)
      ? `[${key}]`
      : /^[A-Za-z_$][\w$]*$/.test(key)
      ? `.${key}`
      : `[${JSON.stringify(key)}]`;
    const found = walk((value as Record<string, unknown>)[key], path + step, seen);
    if (found) return found;
  }
  return undefined;
}

function describeKey(key: unknown): string {
  return typeof key === "string" ? JSON.stringify(key) : String(key);
}
