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

import { acceptEach, Gate, type GateLimits } from "../wire/_accept.ts";
import { authenticateClient, fromHex } from "../wire/_auth.ts";
import { encodeFrame, FrameWriter, readFrames } from "../wire/_frame.ts";
import { uncopyable } from "./_manager_link.ts";
import { findFunction } from "../wire/_function_key.ts";
import { ManagedArray, ManagedDict, ManagedList, ManagedNamespace, ManagedValue } from "./_managed.ts";
import {
  ManagedBarrier,
  ManagedCondition,
  ManagedEvent,
  ManagedLock,
  ManagedSemaphore,
} from "./_managed_sync.ts";
import type { ManagerAddress, ManagerRequest, RegisteredType } from "../runtime/_protocol.ts";
import { revive } from "../memory/_shared.ts";
import { home } from "../memory/_served.ts";
import { serve } from "../runtime/actor.ts";
// Proxies stored in managed objects arrive here and stay proxies.
import { BaseProxy, proxyTarget } from "./proxy.ts";
import { JoinableQueue, Queue } from "../channels/queue.ts";
import type { Typecode } from "../sync/shared_memory.ts";

/** Makes an object of a type from a proxy's arguments. */
type Factory = (...args: never[]) => unknown;

/**
 * A type a manager serves, built in or registered: the one shape both take,
 * so the server makes and calls them alike.
 */
interface ManagedType {
  /**
   * Makes the object from a proxy's arguments (a promise for a registered
   * factory, imported when first used); `lockOf` finds one of this
   * manager's locks (a Condition's).
   */
  make(args: readonly unknown[], lockOf: (proxy: unknown) => ManagedLock): unknown;
  /** What proxies may call; undefined: every public method of the object. */
  readonly exposed?: readonly string[] | undefined;
  /** The object is not proxied but handed over as itself: it already crosses by reference (a queue). */
  readonly handOver?: boolean;
}

const LOCK_METHODS = ["acquire", "release", "locked", "cancel"];

/**
 * The built-in types, in one table: a new one is one entry here (and, for a
 * proxy of its own, one in `proxy.ts`'s `PROXIES`). The server serves them
 * as it serves registered types (`registered` gives those the same shape);
 * registered types may not take their names.
 */
export const BUILT_INS: { readonly [typeid: string]: ManagedType } = {
  dict: { make: ([entries]) => new ManagedDict(entries as Record<string, unknown> | undefined) },
  list: { make: ([items]) => new ManagedList(items as unknown[] | undefined) },
  Namespace: {
    make: ([attributes]) => new ManagedNamespace(attributes as Record<string, unknown> | undefined),
  },
  Value: { make: ([typecode, value]) => new ManagedValue(typecode as string, value) },
  Array: { make: ([typecode, items]) => new ManagedArray(typecode as Typecode, items as number | number[]) },
  Queue: { make: ([maxsize]) => new Queue(maxsize as number | undefined), handOver: true },
  JoinableQueue: { make: ([maxsize]) => new JoinableQueue(maxsize as number | undefined), handOver: true },
  Lock: { make: () => new ManagedLock(), exposed: LOCK_METHODS },
  RLock: { make: () => new ManagedLock(true), exposed: LOCK_METHODS },
  Semaphore: { make: ([value]) => new ManagedSemaphore(value as number | undefined) },
  BoundedSemaphore: { make: ([value]) => new ManagedSemaphore(value as number | undefined, true) },
  Event: { make: () => new ManagedEvent() },
  Condition: {
    make: ([lock], lockOf) => new ManagedCondition(lockOf(lock)),
    exposed: ["acquire", "release", "wait", "notify", "notifyAll", "cancel"],
  },
  Barrier: {
    make: ([parties, timeout]) =>
      new ManagedBarrier(parties as number, (timeout as number | null | undefined) ?? null),
  },
};

/**
 * A registered type in the shape of the built-ins: its factory is imported
 * from its module when first used, so a missing export fails that create,
 * not the manager.
 */
function registered(type: RegisteredType): ManagedType {
  let factory: Promise<Factory> | undefined;
  return {
    make(args) {
      factory ??= import(type.module).then((namespace) =>
        findFunction(namespace, type.factory, type.module, "Manager") as Factory
      );
      return factory.then((make) => make(...args as never[]));
    },
    exposed: type.exposed ?? undefined,
  };
}

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

/**
 * Limits on connections that have not passed the authkey handshake yet:
 * how long one has (a wrong key, garbage or silence past it closes it) and
 * how many are held at once (the oldest gives way to a new one).
 */
const HANDSHAKE_LIMITS: GateLimits = { handshakeMs: 10_000, maxPending: 64 };

/** Where a manager listens, and with which key (hex). */
export interface Listening {
  readonly address: ManagerAddress;
  readonly authkey: string;
  /**
   * Whether the address was chosen for the user: without permission to
   * listen there, the manager then serves through its mailbox only.
   */
  readonly optional: boolean;
}

/**
 * The target of a manager's process: serves the built-in types and those in
 * `registry`, to proxies that ask its mailbox and to connections on its
 * socket that know the key.
 */
export function managerServer(registry: readonly RegisteredType[], listening: Listening): Promise<void> {
  const referents = new Map<number, Referent>();
  let nextId = 1;
  const types = new Map<string, ManagedType>(Object.entries(BUILT_INS));
  for (const type of registry) types.set(type.typeid, registered(type));

  /** Holds `object`, made as a `typeid`, and gives its id. */
  const hold = (typeid: string, exposedBy: ManagedType, object: unknown): number => {
    if (typeof object !== "object" || object === null) {
      throw new TypeError(
        `Cannot manage what the ${typeid} factory returned: ${String(object)} is not an object`,
      );
    }
    const id = nextId++;
    const exposed = exposedBy.exposed ? new Set(exposedBy.exposed) : publicMethods(object);
    referents.set(id, { typeid, object: object as Record<string, unknown>, exposed });
    return id;
  };

  /** The lock a Condition is made over: one of this manager's locks, or a new RLock. */
  const conditionLock = (lock: unknown): ManagedLock => {
    if (lock === undefined || lock === null) return new ManagedLock(true);
    const target = lock instanceof BaseProxy ? proxyTarget(lock) : undefined;
    // Ids are per manager: a lock of another manager (another key) is not ours.
    const held = target?.place.authkey === listening.authkey ? referents.get(target.id)?.object : undefined;
    if (held instanceof ManagedLock) return held;
    throw new TypeError("Cannot create a Condition over that: give a Lock or RLock of the same manager");
  };

  let listener: Deno.Listener | undefined;
  /** Why the manager could not listen (an address in use): the answer to its first request. */
  let listenError: unknown;
  let accepting: Promise<void> | undefined;
  // A request is answered at once when the method answers at once: only
  // what returns a promise (a registered async method, a factory to import)
  // runs alongside the next requests.
  const handle = (request: ManagerRequest): unknown => {
    if (request.op === "where") {
      if (!listener) {
        if (listening.optional && listenError instanceof Deno.errors.NotCapable) {
          return { address: null, home: home.id };
        }
        throw listenError;
      }
      const addr = listener.addr;
      const address = addr.transport === "unix"
        ? (addr as Deno.UnixAddr).path
        : { hostname: (addr as Deno.NetAddr).hostname, port: (addr as Deno.NetAddr).port };
      return { address, home: home.id };
    }
    if (request.op === "create") {
      const { typeid, args } = request;
      const type = types.get(typeid);
      if (!type) {
        throw new TypeError(`Cannot create a ${typeid}: the manager has no such type; register it first`);
      }
      const made = type.make(args, conditionLock);
      const keep = (object: unknown) => type.handOver ? object : hold(typeid, type, object);
      return made instanceof Promise ? made.then(keep) : keep(made);
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
  };

  return serve<ManagerRequest, unknown, void>({
    init() {
      const { address, authkey } = listening;
      try {
        listener = typeof address === "string"
          ? Deno.listen({ transport: "unix", path: address })
          : Deno.listen({ hostname: address.hostname, port: address.port });
      } catch (error) {
        listenError = error;
        return;
      }
      accepting = accept(listener, fromHex(authkey), handle);
    },
    ask: handle,
    async terminate() {
      listener?.close();
      // The socket is free only once the pending accept has let go of it.
      await accepting;
      // As Python's listener does, leave no socket file behind.
      if (listener && typeof listening.address === "string") {
        try {
          Deno.removeSync(listening.address);
        } catch {
          // Removed already.
        }
      }
    },
  }, { concurrent: true });
}

/**
 * Serves every connection `listener` accepts, each on its own, until the
 * listener closes (the manager is stopping). Running out of descriptors
 * costs a pause, never the listening.
 */
function accept(
  listener: Deno.Listener,
  authkey: Uint8Array,
  handle: (request: ManagerRequest) => unknown,
): Promise<void> {
  const gate = new Gate(HANDSHAKE_LIMITS);
  return acceptEach(listener, gate, (conn) => {
    if (conn.localAddr.transport === "tcp") (conn as Deno.TcpConn).setNoDelay(true);
    serveConnection(conn, authkey, handle, gate);
  });
}

/**
 * Serves one connection: the handshake first (a wrong key, garbage, or
 * silence past the gate's limits closes it), then calls, answered as they
 * finish. Whatever a connection does, the others go on.
 */
async function serveConnection(
  conn: Deno.Conn,
  authkey: Uint8Array,
  handle: (request: ManagerRequest) => unknown,
  gate: Gate,
) {
  const admitted = gate.admit(conn);
  try {
    try {
      await authenticateClient(conn, authkey);
    } finally {
      admitted();
    }
    const writer = new FrameWriter(conn);
    await readFrames(conn, (message) => {
      const { n, request } = revive(message) as { n: number; request: ManagerRequest };
      answer(handle, request).then((reply) => {
        let frame: Uint8Array;
        try {
          frame = encodeFrame({ n, ...reply });
        } catch (error) {
          frame = encodeFrame({
            n,
            ok: false,
            error: uncopyable(error, reply.ok ? reply.value : reply.error, "the answer"),
          });
        }
        writer.write(frame);
      });
    });
  } catch {
    // A wrong key, garbage, or a reset: drop this connection.
  } finally {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
}

async function answer(handle: (request: ManagerRequest) => unknown, request: ManagerRequest) {
  try {
    return { ok: true, value: await handle(request) } as const;
  } catch (error) {
    return { ok: false, error } as const;
  }
}
