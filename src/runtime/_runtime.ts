/**
 * What this isolate knows about itself as a process: its name and identity,
 * its parent, the children it created, and how to launch more. The root
 * isolate launches through its hosting registry; a child asks the root.
 *
 * @module
 */

import type { Hosting } from "./_hosting.ts";
import type {
  ChildIdentity,
  FromChild,
  KidEvent,
  KidHandle,
  KidListener,
  LaunchSpec,
  ProcessInfo,
  ProcessStatus,
  StopHow,
} from "./_protocol.ts";
import { TAG } from "./_protocol.ts";
import { type ChildView, kidNotes } from "./_status.ts";

/** A child this isolate started, as `ps()` and `shutdown()` see it (a `ProcessEngine`). */
export interface ChildEngine extends ChildView {
  readonly daemon: boolean;
  /** It ends with the program rather than at exit (a supervisor's child, a pool worker). */
  readonly detached: boolean;
  stop(how: StopHow): void;
  join(timeoutMs?: number, signal?: AbortSignal): Promise<void>;
}

/** This process as it knows itself. */
export interface SelfInfo extends ProcessInfo {
  /** Python's `_identity`: the counters from the root down; empty for the root. */
  readonly identity: readonly number[];
  readonly daemon: boolean;
}

/** A child's line to the root, over which it launches and stops its own children. */
class RootLink {
  #post: (message: FromChild) => void;
  #kids = new Map<number, KidListener>();
  #watches = new Map<number, (code: number | null) => void>();
  #checks = new Map<number, (ok: boolean) => void>();
  #snapshots = new Map<number, PromiseWithResolvers<readonly ProcessStatus[]>>();
  #nextRef = 1;

  constructor(post: (message: FromChild) => void) {
    this.#post = post;
  }

  launch(spec: LaunchSpec, listener: KidListener): KidHandle {
    const ref = this.#nextRef++;
    // Throws synchronously when the spec cannot be cloned, before anything starts.
    this.#post({ [TAG]: "spawn", ref, spec });
    this.#kids.set(ref, listener);
    return { stop: (how) => this.#post({ [TAG]: "stop", ref, how }) };
  }

  deliver(ref: number, event: KidEvent): void {
    this.#kids.get(ref)?.(event);
    if (event.ev === "exited") this.#kids.delete(ref);
  }

  watch(target: number): Promise<number | null> {
    const ref = this.#nextRef++;
    const { promise, resolve } = Promise.withResolvers<number | null>();
    this.#watches.set(ref, resolve);
    this.#post({ [TAG]: "watch", ref, target });
    return promise;
  }

  down(ref: number, code: number | null): void {
    this.#watches.get(ref)?.(code);
    this.#watches.delete(ref);
  }

  check(target: number, timeoutMs: number): Promise<boolean> {
    const ref = this.#nextRef++;
    const { promise, resolve } = Promise.withResolvers<boolean>();
    this.#checks.set(ref, resolve);
    this.#post({ [TAG]: "check", ref, target, timeoutMs });
    return promise;
  }

  checked(ref: number, ok: boolean): void {
    this.#checks.get(ref)?.(ok);
    this.#checks.delete(ref);
  }

  ps(timeoutMs: number): Promise<readonly ProcessStatus[]> {
    const ref = this.#nextRef++;
    const answer = Promise.withResolvers<readonly ProcessStatus[]>();
    this.#snapshots.set(ref, answer);
    this.#post({ [TAG]: "ps", ref, timeoutMs });
    return answer.promise;
  }

  psRows(ref: number, rows: readonly ProcessStatus[] | Error): void {
    const answer = this.#snapshots.get(ref);
    this.#snapshots.delete(ref);
    if (rows instanceof Error) answer?.reject(rows);
    else answer?.resolve(rows);
  }
}

/** The per-isolate process state. */
export class Runtime {
  role: "root" | "child" = "root";
  self: SelfInfo = { name: "MainProcess", identity: [], daemon: false, id: 0, pid: Deno.pid };
  parent: ProcessInfo | null = null;
  /** Resolves when the parent process exits (never, for the root's children: they die with it). */
  readonly parentExit: PromiseWithResolvers<void> = Promise.withResolvers<void>();
  parentAlive = true;
  /** Aborted when this process is asked to finish (a supervisor's graceful stop). */
  readonly stopRequested: AbortController = new AbortController();
  /** True while a child imports the module of its target: starting a process then is a fork bomb. */
  bootstrapping = false;
  /** The `Process` object that stands for this isolate, once made. */
  current: object | undefined;
  /** This process's mailbox (a Queue): given by the parent, or made on first use in the root. */
  mailbox: object | undefined;
  /** The parent's mailbox; none in the root. */
  parentMailbox: object | undefined;
  /** Children this isolate created that have started and not yet been seen to exit. */
  readonly children: Set<ChildEngine> = new Set();
  #mainModule: string | undefined;
  #counter = 0;
  #hosting: Hosting | undefined;
  #rootLink: RootLink | undefined;

  /** The root's main module, where targets are looked for by default. */
  get mainModule(): string {
    return this.#mainModule ??= Deno.mainModule;
  }

  /** The root's arguments, which every process sees as `Deno.args`. */
  get argv(): readonly string[] {
    return Deno.args;
  }

  /** The root's registry of every live process; only the root has one. */
  get hosting(): Hosting | undefined {
    return this.role === "root" ? this.#hosting : undefined;
  }

  /** Gives the root its registry (children never load it: see the end of this module). */
  installHosting(hosting: Hosting): void {
    this.#hosting ??= hosting;
  }

  /** Python's per-process counter, consumed by every constructed Process. */
  nextCount(): number {
    return ++this.#counter;
  }

  /** Starts a child of this process, wherever it is hosted. */
  launch(spec: LaunchSpec, listener: KidListener): KidHandle {
    if (this.#rootLink) return this.#rootLink.launch(spec, listener);
    return this.hosting!.host(spec, 0, listener);
  }

  /** Makes this isolate the process `preamble` describes; called once, by the bootstrap. */
  becomeChild(preamble: ChildIdentity, post: (message: FromChild) => void): void {
    this.role = "child";
    this.self = {
      name: preamble.name,
      identity: preamble.identity,
      daemon: preamble.daemon,
      id: preamble.id,
      pid: Deno.pid,
    };
    this.parent = preamble.parent;
    this.#mainModule = preamble.mainModule;
    // Python's children see the parent's sys.argv.
    Object.defineProperty(Deno, "args", { value: Object.freeze([...preamble.argv]), configurable: true });
    this.#rootLink = new RootLink(post);
  }

  /**
   * Resolves with process `id`'s exit code when it exits, or at once with
   * null if it is not alive: OTP's monitor. Any process may watch any other.
   */
  watch(id: number): Promise<number | null> {
    if (this.#rootLink) return this.#rootLink.watch(id);
    return this.hosting!.watch(id);
  }

  /** Whether process `id` answers a heartbeat within `timeoutMs` (false if it is not alive). */
  check(id: number, timeoutMs: number): Promise<boolean> {
    if (this.#rootLink) return this.#rootLink.check(id, timeoutMs);
    return this.hosting!.check(id, timeoutMs);
  }

  /** `ps()`: every live process's status, giving each `timeoutMs` to answer its probe. */
  ps(timeoutMs: number): Promise<readonly ProcessStatus[]> {
    if (this.#rootLink) return this.#rootLink.ps(timeoutMs);
    return this.hosting!.snapshot(timeoutMs);
  }

  /** Passes on the answer to `ps()`: its rows, or the error that stopped it. */
  psRows(ref: number, rows: readonly ProcessStatus[] | Error): void {
    this.#rootLink?.psRows(ref, rows);
  }

  /** Passes on the answer to a check. */
  checked(ref: number, ok: boolean): void {
    this.#rootLink?.checked(ref, ok);
  }

  /** Passes on that a watched process exited. */
  down(ref: number, code: number | null): void {
    this.#rootLink?.down(ref, code);
  }

  /** Passes a report about one of this process's children to whoever waits on it. */
  deliver(ref: number, event: KidEvent): void {
    this.#rootLink?.deliver(ref, event);
  }

  markParentExited(): void {
    this.parentAlive = false;
    this.parentExit.resolve();
  }
}

// One runtime per isolate, even if two copies of troupe are loaded (say a
// user module imports another version): they must agree on who this is.
const KEY = Symbol.for("troupe.runtime");
const scope = globalThis as unknown as Record<symbol, Runtime | undefined>;

/** This isolate's runtime. */
export const runtime: Runtime = scope[KEY] ??= new Runtime();

// Only the root hosts processes. A child's entry module sets its preamble
// before any of troupe loads, so a child skips the registry and the hosts
// (and their codec): every module it loads lengthens the ~20 ms for which
// creating a worker blocks the parent.
if ((globalThis as Record<symbol, unknown>)[Symbol.for("troupe.preamble")] === undefined) {
  const { Hosting } = await import("./_hosting.ts");
  runtime.installHosting(new Hosting(() => kidNotes(runtime.children)));
}
