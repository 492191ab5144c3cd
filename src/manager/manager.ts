/**
 * `Manager`: Python's `multiprocessing.Manager()`, a process that holds
 * shared objects (a dict, a list, a Namespace, values, queues, and types
 * you register) and serves them to proxies in any process, worker or
 * subprocess.
 *
 * @module
 */

import { BACKEND_NAMES, isBackend } from "../runtime/_backends.ts";
import { keyBytes, toHex } from "../wire/_auth.ts";
import { checkDuration } from "../core/_duration.ts";
import { functionKey } from "../wire/_function_key.ts";
import { closeLink, ManagerLink, sendToManager } from "./_manager_link.ts";
import { BUILT_INS, managerServer } from "./_manager_server.ts";
import type { ManagerAddress, ManagerPlace, ManagerRequest, RegisteredType } from "../runtime/_protocol.ts";
import { runtime } from "../runtime/_runtime.ts";
import { ProcessError } from "../core/errors.ts";
import { type Backend, Process, requestStop } from "../runtime/process.ts";
import {
  type ArrayProxy,
  type BaseProxy,
  type DictKey,
  type DictProxy,
  type ListProxy,
  makeProxy,
  type NamespaceProxy,
  type ValueProxy,
} from "./proxy.ts";
import type { JoinableQueue, Queue } from "../channels/queue.ts";
import type {
  BarrierProxy,
  ConditionProxy,
  EventProxy,
  LockProxy,
  RLockProxy,
  SemaphoreProxy,
} from "./sync_proxy.ts";
// The lock proxies' classes, which makeProxy gives for those types.
import "./sync_proxy.ts";
import type { Typecode } from "../sync/shared_memory.ts";

export type { ManagerAddress } from "../runtime/_protocol.ts";

const SERVER_MODULE = new URL("./_manager_server.ts", import.meta.url).href;
/** How long `shutdown()` lets the manager stop by itself before it terminates it: Python's shutdown_timeout. */
const SHUTDOWN_MS = 1_000;

/**
 * How a Manager runs.
 *
 * @example
 * ```ts
 * import { Manager, type ManagerOptions } from "@troupe/troupe";
 *
 * const options: ManagerOptions = { backend: "worker" };
 * await using _manager = await new Manager(options).start();
 * ```
 */
export interface ManagerOptions {
  /** Where the manager's process runs. @default {"worker"} */
  readonly backend?: Backend;
  /** The module that exports registered factories, unless `register` says otherwise. @default {the main module} */
  readonly module?: string | URL;
  /**
   * Where it listens for connections: a Unix socket's path, or a TCP host
   * and port (port 0: any free one). Processes of other OS processes, and
   * other programs (`Manager.connect`), reach it there.
   * @default {{ hostname: "127.0.0.1", port: 0 }}
   */
  readonly address?: ManagerAddress;
  /**
   * The key a connection must prove it knows (a string is taken as UTF-8;
   * empty is allowed). Processes of this program get it with their proxies.
   * @default {32 random bytes}
   */
  readonly authkey?: string | Uint8Array;
}

/**
 * How to connect to a manager another program started.
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "@troupe/troupe";
 *
 * const options: ConnectOptions = { authkey: "secret" };
 * ```
 */
export interface ConnectOptions {
  /** The manager's key. */
  readonly authkey: string | Uint8Array;
}

/**
 * How a registered type is served.
 *
 * @example
 * ```ts
 * import type { RegisterOptions } from "@troupe/troupe";
 *
 * const options: RegisterOptions = { exposed: ["add", "total"] };
 * ```
 */
export interface RegisterOptions {
  /** The methods proxies may call. @default {every public method of the object} */
  readonly exposed?: readonly string[];
  /** The module that exports the factory. @default {the manager's module} */
  readonly module?: string | URL;
}

/**
 * A manager: a process of its own (named `SyncManager-N`, as in Python)
 * that holds objects and runs their methods for proxies. Use it when
 * processes cannot share memory (subprocess children, or structures richer
 * than numbers): `dict()`, `list()`, `namespace()`, `value()`, `array()`,
 * `queue()`, and `create()` for types you `register()`.
 *
 * Every proxy method is one round trip to the manager. After `shutdown()`
 * (or leaving an `await using` block) every proxy call rejects with
 * `ActorExitedError` at once; objects a manager made live until then.
 *
 * @example Ten processes append to a shared dict and list (seed 003)
 * ```ts
 * import { Manager } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using manager = await new Manager().start();
 * const d = await manager.dict<number, number>();
 * const l = await manager.list<number>();
 * await Promise.all([1, 2, 3].map(async (n) => {
 *   await d.set(n, n * n);
 *   await l.append(n);
 * }));
 * assert.equal(await d.len(), 3);
 * assert.deepEqual((await l.copy()).toSorted(), [1, 2, 3]);
 * ```
 */
export class Manager implements AsyncDisposable {
  readonly #backend: Backend;
  readonly #module: string;
  readonly #listen: ManagerAddress;
  /** Whether the address is the default, which the manager may do without (no `net` permission). */
  readonly #listenOptional: boolean;
  readonly #authkey: string;
  readonly #registry: RegisteredType[] = [];
  #process: Process | undefined;
  /** How proxies reach the manager, once it serves. */
  #place: ManagerPlace | undefined;
  #state: "initial" | "started" | "connected" | "shutdown" = "initial";

  /**
   * Creates a manager; `start()` starts its process.
   *
   * @param options `backend`, `module`, `address` and `authkey`.
   * @throws {TypeError} For an unknown backend, a module that is not a URL, or a bad address or key.
   */
  constructor(options: ManagerOptions = {}) {
    const { backend = "worker", module, address, authkey } = options;
    if (!isBackend(backend)) {
      throw new TypeError(`Cannot create a Manager with backend ${String(backend)}: use ${BACKEND_NAMES}`);
    }
    this.#backend = backend;
    this.#module = moduleOf(module, "Manager");
    this.#listen = address === undefined ? { hostname: "127.0.0.1", port: 0 } : checkAddress(address);
    this.#listenOptional = address === undefined;
    this.#authkey = toHex(
      authkey === undefined ? crypto.getRandomValues(new Uint8Array(32)) : checkKey(authkey),
    );
  }

  /**
   * Connects to a manager that another program (or this one) started and
   * made listen at `address`: Python's `BaseManager.connect()`. The two sides
   * prove to each other that they know the key; the manager's objects are
   * then made and used through this one as through the manager itself.
   * Queues live in the manager's program and cannot be handed to another.
   *
   * @param address Where the manager listens (`manager.address` there).
   * @param options `authkey`: the manager's key.
   * @returns A manager handle; its `shutdown()` only stops this handle (the manager serves on).
   * @throws {AuthenticationError} When the keys differ (the promise rejects).
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using server = await new Manager({ authkey: "secret" }).start();
   * await using client = await Manager.connect(server.address, { authkey: "secret" });
   * const d = await client.dict({ hello: "world" });
   * assert.equal(await d.get("hello"), "world");
   * ```
   */
  static async connect(address: ManagerAddress, options: ConnectOptions): Promise<Manager> {
    const manager = new Manager({ address, authkey: options.authkey });
    const checked = checkAddress(address);
    const place: ManagerPlace = {
      server: null,
      address: checked,
      authkey: manager.#authkey,
      home: -1,
    };
    // Fails here, not at the first call, when the key is wrong.
    const link = await ManagerLink.open(checked, keyBytes(options.authkey));
    link.close();
    await link.done;
    manager.#place = place;
    manager.#state = "connected";
    return manager;
  }

  /**
   * Where the manager listens, once started (for `Manager.connect`).
   *
   * @throws {ProcessError} Before `start()`, or when it could not listen (no `net` permission).
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   *
   * await using manager = await new Manager().start();
   * console.log(manager.address); // { hostname: "127.0.0.1", port: 41234 }
   * ```
   */
  get address(): ManagerAddress {
    if (!this.#place) throw new ProcessError("Cannot tell the Manager's address before start()");
    if (this.#place.address === null) {
      throw new ProcessError(
        "Cannot tell the Manager's address as it does not listen: this program may not open a socket " +
          "(grant --allow-net=127.0.0.1), so only its own processes reach it, through its mailbox",
      );
    }
    return this.#place.address;
  }

  /**
   * Registers a type the manager will make with `factory` (an exported
   * function of `module`, found by name as pool functions are), before
   * `start()`: Python's `BaseManager.register`.
   *
   * @param typeid The type's name, for `create(typeid)`.
   * @param factory Makes the object, in the manager's process.
   * @param options `exposed` methods and the `module` that exports `factory`.
   * @throws {ProcessError} After `start()`.
   * @throws {TypeError} For a factory that is not a named function, or a built-in type's name.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * // In a program, `counter` is exported from your module (the manager's module by default).
   * const module = "data:text/javascript,export function counter() { let n = 0; return { add: (by) => (n += by) }; }";
   * const { counter } = await import(module);
   * const manager = new Manager();
   * manager.register("Counter", counter, { module, exposed: ["add"] });
   * await manager.start();
   * const c = await manager.create("Counter");
   * assert.equal(await c.call("add", [2]), 2);
   * await manager.shutdown();
   * ```
   */
  register(typeid: string, factory: (...args: never[]) => unknown, options: RegisterOptions = {}): void {
    if (this.#state !== "initial") {
      throw new ProcessError(`Cannot register ${typeid} after start(): register every type before`);
    }
    if (typeof typeid !== "string" || typeid === "" || Object.hasOwn(BUILT_INS, typeid)) {
      throw new TypeError(
        `Cannot register a type named ${JSON.stringify(typeid)}: give a new, non-empty name`,
      );
    }
    const { exposed, module } = options;
    if (exposed !== undefined && !(Array.isArray(exposed) && exposed.every((m) => typeof m === "string"))) {
      throw new TypeError(`Cannot register ${typeid}: exposed must be an array of method names`);
    }
    const type: RegisteredType = {
      typeid,
      factory: functionKey(factory, `The factory of ${typeid}`, "Manager"),
      module: module === undefined ? this.#module : moduleOf(module, "Manager.register"),
      exposed: exposed ?? null,
    };
    const at = this.#registry.findIndex((known) => known.typeid === typeid);
    if (at >= 0) this.#registry[at] = type;
    else this.#registry.push(type);
  }

  /**
   * Starts the manager's process.
   *
   * @returns This manager, once it serves.
   * @throws {ProcessError} When started before, or after `shutdown()` (the promise rejects).
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   *
   * const manager = new Manager();
   * await manager.start();
   * await manager.shutdown();
   * ```
   */
  async start(): Promise<this> {
    if (this.#state === "started" || this.#state === "connected") {
      throw new ProcessError("Cannot start the Manager twice: it already runs");
    }
    if (this.#state === "shutdown") throw new ProcessError("Cannot start the Manager as it has shut down");
    const process = new Process({
      target: managerServer,
      args: [this.#registry, {
        address: this.#listen,
        authkey: this.#authkey,
        optional: this.#listenOptional,
      }],
      module: SERVER_MODULE,
      backend: this.#backend,
      daemon: true,
    });
    // Python's manager processes take the next process name, as SyncManager-N.
    process.name = process.name.replace(/^Process/, "SyncManager");
    this.#state = "started";
    this.#process = process;
    try {
      await process.start();
      const server = process.ref<ManagerRequest, unknown>();
      const where = await server.ask({ op: "where" }, { timeout: Infinity }) as {
        address: ManagerAddress | null;
        home: number;
      };
      this.#place = { server, address: where.address, authkey: this.#authkey, home: where.home };
    } catch (error) {
      this.#state = "shutdown";
      // One that could not launch never started.
      if (process.isAlive()) process.kill();
      throw error;
    }
    return this;
  }

  /**
   * A new managed dict, Python's `manager.dict()`.
   *
   * @typeParam K The keys (primitives, compared by value).
   * @typeParam V The values.
   * @param entries Its first entries, as an object.
   * @returns A proxy on it.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using manager = await new Manager().start();
   * const d = await manager.dict({ a: 1 });
   * assert.equal(await d.get("a"), 1);
   * ```
   */
  dict<K extends DictKey = string, V = unknown>(entries?: Record<string, V>): Promise<DictProxy<K, V>> {
    return this.#create("dict", entries === undefined ? [] : [entries]) as Promise<DictProxy<K, V>>;
  }

  /**
   * A new managed list, Python's `manager.list()`.
   *
   * @typeParam T The items.
   * @param items Its first items.
   * @returns A proxy on it.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using manager = await new Manager().start();
   * assert.equal(await (await manager.list([1, 2])).len(), 2);
   * ```
   */
  list<T = unknown>(items: Iterable<T> = []): Promise<ListProxy<T>> {
    return this.#create("list", [[...items]]) as Promise<ListProxy<T>>;
  }

  /**
   * A new managed Namespace, Python's `manager.Namespace()`.
   *
   * @param attributes Its first attributes.
   * @returns A proxy on it.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using manager = await new Manager().start();
   * const ns = await manager.namespace({ x: 1 });
   * assert.equal(await ns.get("x"), 1);
   * ```
   */
  namespace(attributes: Record<string, unknown> = {}): Promise<NamespaceProxy> {
    return this.#create("Namespace", [attributes]) as Promise<NamespaceProxy>;
  }

  /**
   * A new managed value, Python's `manager.Value(typecode, value)`: held by
   * the manager, not in shared memory, so subprocesses can use it too.
   *
   * @typeParam T The value.
   * @param typecode Python's typecode, kept for show (the manager does not check it, as in Python).
   * @param value The first value.
   * @returns A proxy on it.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using manager = await new Manager().start();
   * assert.equal(await (await manager.value("d", 1.5)).get(), 1.5);
   * ```
   */
  value<T = number>(typecode: string, value: T): Promise<ValueProxy<T>> {
    return this.#create("Value", [typecode, value]) as Promise<ValueProxy<T>>;
  }

  /**
   * A new managed array, Python's `manager.Array(typecode, sequence)`.
   *
   * @typeParam T The elements.
   * @param typecode One of `b B h H i I l L q Q f d c`.
   * @param items A length (zero-filled) or the elements.
   * @returns A proxy on it.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using manager = await new Manager().start();
   * assert.deepEqual(await (await manager.array("d", 2)).copy(), [0, 0]);
   * ```
   */
  array<T = number>(typecode: Typecode, items: number | Iterable<T>): Promise<ArrayProxy<T>> {
    const initial = typeof items === "number" ? items : [...items];
    return this.#create("Array", [typecode, initial]) as Promise<ArrayProxy<T>>;
  }

  /**
   * A new queue living in the manager's process, Python's `manager.Queue()`.
   * It is a real `Queue`, not a proxy: queues already reach every process.
   *
   * @typeParam T The items.
   * @param maxsize Python's maxsize: 0 or less is unbounded.
   * @returns The queue.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using manager = await new Manager().start();
   * const q = await manager.queue<string>();
   * await q.put("hi");
   * assert.equal(await q.get(), "hi");
   * ```
   */
  queue<T = unknown>(maxsize = 0): Promise<Queue<T>> {
    return this.#ask({ op: "create", typeid: "Queue", args: [maxsize] }) as Promise<Queue<T>>;
  }

  /**
   * A new joinable queue living in the manager's process, Python's
   * `manager.JoinableQueue()`.
   *
   * @typeParam T The items.
   * @param maxsize Python's maxsize: 0 or less is unbounded.
   * @returns The queue.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   *
   * await using manager = await new Manager().start();
   * const q = await manager.joinableQueue<number>();
   * await q.put(1);
   * await q.get();
   * q.taskDone();
   * await q.join();
   * ```
   */
  joinableQueue<T = unknown>(maxsize = 0): Promise<JoinableQueue<T>> {
    return this.#ask({ op: "create", typeid: "JoinableQueue", args: [maxsize] }) as Promise<JoinableQueue<T>>;
  }

  /**
   * A new lock held by the manager, Python's `manager.Lock()`: for processes
   * that cannot share memory (a shared-memory `Lock` is quicker otherwise).
   *
   * @returns A proxy on it.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   *
   * await using manager = await new Manager().start();
   * const lock = await manager.lock();
   * {
   *   await using _held = await lock.hold();
   * }
   * ```
   */
  lock(): Promise<LockProxy> {
    return this.#create("Lock", []) as Promise<LockProxy>;
  }

  /**
   * A new re-entrant lock held by the manager, Python's `manager.RLock()`.
   *
   * @returns A proxy on it.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   *
   * await using manager = await new Manager().start();
   * const lock = await manager.rlock();
   * await lock.acquire();
   * await lock.release();
   * ```
   */
  rlock(): Promise<RLockProxy> {
    return this.#create("RLock", []) as Promise<RLockProxy>;
  }

  /**
   * A new semaphore held by the manager, Python's `manager.Semaphore(value)`.
   *
   * @param value The initial count. @default {1}
   * @returns A proxy on it.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using manager = await new Manager().start();
   * assert.equal(await (await manager.semaphore(3)).getValue(), 3);
   * ```
   */
  semaphore(value = 1): Promise<SemaphoreProxy> {
    return this.#create("Semaphore", [value]) as Promise<SemaphoreProxy>;
  }

  /**
   * A new bounded semaphore held by the manager, Python's
   * `manager.BoundedSemaphore(value)`.
   *
   * @param value The initial count, and the most it may reach. @default {1}
   * @returns A proxy on it.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using manager = await new Manager().start();
   * const sem = await manager.boundedSemaphore(1);
   * await assert.rejects(sem.release(), RangeError);
   * ```
   */
  boundedSemaphore(value = 1): Promise<SemaphoreProxy> {
    return this.#create("BoundedSemaphore", [value]) as Promise<SemaphoreProxy>;
  }

  /**
   * A new event held by the manager, Python's `manager.Event()`.
   *
   * @returns A proxy on it.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using manager = await new Manager().start();
   * assert.equal(await (await manager.event()).isSet(), false);
   * ```
   */
  event(): Promise<EventProxy> {
    return this.#create("Event", []) as Promise<EventProxy>;
  }

  /**
   * A new condition held by the manager, Python's `manager.Condition(lock)`.
   *
   * @param lock One of this manager's locks. @default {a new RLock}
   * @returns A proxy on it.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   *
   * await using manager = await new Manager().start();
   * const cond = await manager.condition(await manager.lock());
   * await cond.acquire();
   * await cond.notifyAll();
   * await cond.release();
   * ```
   */
  condition(lock?: LockProxy): Promise<ConditionProxy> {
    return this.#create("Condition", lock === undefined ? [] : [lock]) as Promise<ConditionProxy>;
  }

  /**
   * A new barrier held by the manager, Python's `manager.Barrier(parties,
   * timeout=…)`, without an action (it would run in the manager).
   *
   * @param parties How many parties each cycle needs.
   * @param options `timeout`: the default of `wait`, in ms (none or `Infinity`: no limit).
   * @returns A proxy on it.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using manager = await new Manager().start();
   * assert.equal(await (await manager.barrier(1)).wait(), 0);
   * ```
   */
  barrier(parties: number, options: { readonly timeout?: number } = {}): Promise<BarrierProxy> {
    try {
      checkDuration(options.timeout, "create a Barrier", "timeout");
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#create("Barrier", [parties, options.timeout ?? null]) as Promise<BarrierProxy>;
  }

  /**
   * A new object of a registered type.
   *
   * @param typeid The name it was registered under.
   * @param args The factory's arguments (copied).
   * @returns A proxy on it; `call(method, args)` runs its methods.
   * @throws {TypeError} For a type not registered.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function box(value) { return { get: () => value }; }";
   * const { box } = await import(module);
   * const manager = new Manager();
   * manager.register("Box", box, { module });
   * await manager.start();
   * const b = await manager.create("Box", 42);
   * assert.equal(await b.call("get"), 42);
   * await manager.shutdown();
   * ```
   */
  create(typeid: string, ...args: unknown[]): Promise<BaseProxy> {
    return this.#create(typeid, args);
  }

  /**
   * Stops the manager's process; every proxy call then rejects. Idempotent.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   *
   * const manager = await new Manager().start();
   * await manager.shutdown();
   * await manager.shutdown();
   * ```
   */
  async shutdown(): Promise<void> {
    const was = this.#state;
    this.#state = "shutdown";
    // A connected handle only stops being used: the manager serves on, and
    // this process's connection to it stays for its other handles and proxies.
    if (was !== "started") return;
    const process = this.#process!;
    // As Python's: ask the server to stop (it closes its socket), then terminate it if it lingers.
    if (process.exitCode === null) {
      requestStop(process);
      await process.join(SHUTDOWN_MS);
      if (process.exitCode === null) process.terminate();
    }
    await process.join();
    await closeLink(this.#place!);
  }

  /** Shuts the manager down at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  async #create(typeid: string, args: readonly unknown[]): Promise<BaseProxy> {
    const id = await this.#ask({ op: "create", typeid, args }) as number;
    return makeProxy(typeid, id, this.#place!);
  }

  #ask(request: ManagerRequest): Promise<unknown> {
    if (!this.#place || this.#state === "shutdown") {
      return Promise.reject(
        new ProcessError(
          this.#state === "shutdown"
            ? "Cannot use the Manager as it has shut down"
            : "Cannot use the Manager before start(): await manager.start() first",
        ),
      );
    }
    return sendToManager(this.#place, request);
  }
}

function checkAddress(address: unknown): ManagerAddress {
  if (typeof address === "string" && address !== "") return address;
  const { hostname, port } = (address ?? {}) as { hostname?: unknown; port?: unknown };
  if (
    typeof hostname === "string" && Number.isInteger(port) && (port as number) >= 0 &&
    (port as number) < 65536
  ) {
    return { hostname, port: port as number };
  }
  throw new TypeError(
    `Cannot use ${
      JSON.stringify(address)
    } as a manager's address: give a Unix socket path or { hostname, port }`,
  );
}

function checkKey(authkey: unknown): Uint8Array {
  if (typeof authkey === "string" || authkey instanceof Uint8Array) return keyBytes(authkey);
  throw new TypeError(`Cannot use a ${typeof authkey} as an authkey: give a string or a Uint8Array`);
}

function moduleOf(module: string | URL | undefined, what: string): string {
  if (module === undefined) return runtime.mainModule;
  if (!URL.canParse(String(module))) {
    throw new TypeError(
      `${what}: module must be an absolute URL such as import.meta.url, not ${String(module)}`,
    );
  }
  return String(module);
}
