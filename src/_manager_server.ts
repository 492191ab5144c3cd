/**
 * What a manager's process runs: a server (`serve`, answering asks
 * concurrently, so a call that waits holds up no other) that makes objects
 * on request and calls their methods for proxies in any process.
 *
 * Objects live as long as the manager: a proxy may be copied into any
 * process, and nothing tells the server when the last copy is gone.
 *
 * @module
 */

import { findFunction } from "./_function_key.ts";
import { ManagedArray, ManagedDict, ManagedList, ManagedNamespace, ManagedValue } from "./_managed.ts";
import type { ManagerRequest, RegisteredType } from "./_protocol.ts";
import { serve } from "./actor.ts";
// Proxies stored in managed objects arrive here and stay proxies.
import "./proxy.ts";
import { JoinableQueue, Queue } from "./queue.ts";
import type { Typecode } from "./shared_memory.ts";

/** Makes an object of a type from a proxy's arguments. */
type Factory = (...args: never[]) => unknown;

/** The built-in types: each makes the object a proxy of that type calls. */
const BUILT_IN: Record<string, Factory> = {
  dict: (entries?: Record<string, unknown>) => new ManagedDict(entries),
  list: (items?: unknown[]) => new ManagedList(items),
  Namespace: (attributes?: Record<string, unknown>) => new ManagedNamespace(attributes),
  Value: (typecode: string, value: unknown) => new ManagedValue(typecode, value),
  Array: (typecode: Typecode, items: number | number[]) => new ManagedArray(typecode, items),
};

/** Types whose objects are not proxied but handed over: they already cross by reference. */
const HANDED_OVER: Record<string, Factory> = {
  Queue: (maxsize?: number) => new Queue(maxsize),
  JoinableQueue: (maxsize?: number) => new JoinableQueue(maxsize),
};

interface Referent {
  readonly typeid: string;
  readonly object: Record<string, unknown>;
  readonly exposed: ReadonlySet<string>;
}

/** Every public method of `object`: functions on its prototype chain not starting with `_`. */
function publicMethods(object: object): Set<string> {
  const names = new Set<string>();
  for (let proto = object; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === "constructor" || name.startsWith("_")) continue;
      if (typeof Object.getOwnPropertyDescriptor(proto, name)?.value === "function") names.add(name);
    }
  }
  return names;
}

/** The target of a manager's process: serves the built-in types and those in `registry`. */
export function managerServer(registry: readonly RegisteredType[]): Promise<void> {
  const referents = new Map<number, Referent>();
  let nextId = 1;
  const registered = new Map(registry.map((type) => [type.typeid, type]));
  /** Registered factories, imported when first used: a missing export fails that create, not the manager. */
  const found = new Map<string, Promise<Factory>>();
  const factoryOf = (type: RegisteredType) => {
    let factory = found.get(type.typeid);
    if (!factory) {
      factory = import(type.module).then((namespace) =>
        findFunction(namespace, type.factory, type.module, "Manager") as Factory
      );
      found.set(type.typeid, factory);
    }
    return factory;
  };

  /** Holds `object`, made for `typeid` (registered as `type`, if it was), and gives its id. */
  const hold = (typeid: string, object: unknown, type?: RegisteredType): number => {
    if (typeof object !== "object" || object === null) {
      throw new TypeError(
        `Cannot manage what the ${typeid} factory returned: ${String(object)} is not an object`,
      );
    }
    const id = nextId++;
    const exposed = type?.exposed ? new Set(type.exposed) : publicMethods(object);
    referents.set(id, { typeid, object: object as Record<string, unknown>, exposed });
    return id;
  };

  // A handler answers at once when the method does: only what returns a
  // promise (a registered async method, a factory to import) runs alongside
  // the next asks.
  return serve<ManagerRequest, unknown, void>({
    ask(request) {
      if (request.op === "create") {
        const { typeid, args } = request;
        const handOver = HANDED_OVER[typeid];
        if (handOver) return handOver(...args as never[]);
        const builtIn = BUILT_IN[typeid];
        if (builtIn) return hold(typeid, builtIn(...args as never[]));
        const type = registered.get(typeid);
        if (!type) {
          throw new TypeError(`Cannot create a ${typeid}: the manager has no such type; register it first`);
        }
        return factoryOf(type).then(async (make) => hold(typeid, await make(...args as never[]), type));
      }
      const referent = referents.get(request.id);
      if (!referent) throw new ReferenceError(`The manager holds no object ${request.id}`);
      const { typeid, object, exposed } = referent;
      const method = object[request.method];
      if (!exposed.has(request.method) || typeof method !== "function") {
        throw new TypeError(
          `Cannot call ${request.method}() on a managed ${typeid}: it is not exposed (exposed: ${
            [...exposed].join(", ")
          })`,
        );
      }
      return method.apply(object, request.args);
    },
  }, { concurrent: true });
}
