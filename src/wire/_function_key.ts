/**
 * How a pool names a function to its workers, as Python pickles a function:
 * by reference, not by value. A key is the function's export name and a
 * hash of its source; a worker imports the pool's module, finds the export
 * by name and checks the hash, so it runs the very function it was given
 * (not a same-named one) or fails saying why.
 *
 * @module
 */

/**
 * A function as a pool names it to its workers: its export name and a hash
 * of its source, `"name#hash"`, so a worker finds the very function the
 * pool was given and not another of the same name.
 */
export type FunctionKey = string;

const keys = new WeakMap<object, FunctionKey>();

/** FNV-1a over UTF-16 units: collisions only need to be unlikely, not impossible to make. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

/**
 * The key of `fn`; throws a TypeError (`what`: "the function", "initializer")
 * for one that cannot have one. `owner` is what says where to find it: a
 * Pool, or a Barrier (its action).
 */
export function functionKey(fn: unknown, what: string, owner = "Pool"): FunctionKey {
  if (typeof fn === "function") {
    const known = keys.get(fn);
    if (known) return known;
  }
  if (typeof fn !== "function") {
    throw new TypeError(`${what} must be a function exported from the ${owner}'s module, not ${typeof fn}`);
  }
  const source = Function.prototype.toString.call(fn);
  if (/^class\b/.test(source)) throw new TypeError(`${what} must be a function, not class ${fn.name}`);
  if (!fn.name || fn.name.startsWith("bound ") || fn.name.includes("#")) {
    throw new TypeError(
      `${what} must be a named function exported from the ${owner}'s module (workers find it by its export ` +
        "name): export a named function and pass that, not an anonymous, inline or bound one",
    );
  }
  const key = `${fn.name}#${hash(source)}`;
  keys.set(fn, key);
  return key;
}

/**
 * The function `key` names among `namespace`'s exports (the module at
 * `module`); throws a ReferenceError that says how to fix a miss.
 */
export function findFunction(
  namespace: Record<string, unknown>,
  key: FunctionKey,
  module: string,
  owner = "Pool",
): (...args: unknown[]) => unknown {
  const at = key.lastIndexOf("#");
  const name = key.slice(0, at), wanted = key.slice(at + 1);
  const matches = (value: unknown): value is (...args: unknown[]) => unknown =>
    typeof value === "function" && value.name === name &&
    hash(Function.prototype.toString.call(value)) === wanted;
  const found = [namespace[name], ...Object.values(namespace)].find(matches);
  if (found) return found;
  throw new ReferenceError(
    `Cannot find the function "${name}" among the exports of ${module}: export it ` +
      `(export function ${name}() {}), or, if another module exports it, create the ${owner} with that ` +
      "module's URL as its module option (module: import.meta.url there)",
  );
}
