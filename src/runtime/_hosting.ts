/**
 * The root isolate's registry of every live process, whoever created it.
 * It starts hosts, relays each child's life to the process that created it,
 * serves children's requests to start and stop their own children, and is
 * what the leak check and `shutdown()` read.
 *
 * @module
 */

import { BACKENDS } from "./_backends.ts";
import { workerOptionsEnabled, workerSandboxUnavailable } from "./_deno_flags.ts";
import { startTimer, stopTimer } from "../core/_duration.ts";
import { runnerEntryParts } from "./_entry.ts";
import { decodeError, encodeError } from "../wire/_error_codec.ts";
import { report } from "../core/_report.ts";
import {
  abandonCalls,
  deliverReply,
  type RingCall,
  type RingReply,
  serveRingCall,
  setCallSender,
} from "../memory/_remote.ts";
import type { Host, HostFactory } from "./_host.ts";
import { holdWhile } from "../core/_keep_alive.ts";
import { SubprocessHost } from "./_host_subprocess.ts";
import { WorkerHost } from "./_host_worker.ts";
import {
  exceeds,
  exceedsHeld,
  grantsEverything,
  heldPermissions,
  type ResolvedPermissions,
  samePermissions,
} from "./_permissions.ts";
import type {
  Backend,
  ChildIdentity,
  FromChild,
  KidHandle,
  KidListener,
  KidNote,
  LaunchSpec,
  Preamble,
  ProbeReport,
  ProcessStatus,
} from "./_protocol.ts";
import { TAG } from "./_protocol.ts";
import { Ring } from "../memory/_ring.ts";
import { type Registered, snapshot } from "./_status.ts";
import { discard } from "../memory/_shared.ts";
import { serveRing, unserve } from "../memory/_served.ts";
import { checkReply, describeError, refuseChild } from "./_validate.ts";
import { ProcessError } from "../core/errors.ts";

/** How each backend's processes are started (its traits are in `_backends.ts`). */
const HOSTS: { readonly [B in Backend]: HostFactory } = {
  worker: (name, onMessage, options) => new WorkerHost(name, onMessage, options),
  subprocess: (name, onMessage, options) => new SubprocessHost(name, onMessage, options),
};

export type { KidHandle, KidListener } from "./_protocol.ts";

/** A live process as the registry reports it. */
export interface HostedProcess {
  readonly id: number;
  readonly name: string;
  readonly daemon: boolean;
  /** The id of the process that created it; 0 is the root. */
  readonly owner: number;
  readonly host: Host;
}

interface Entry extends Registered<Host>, HostedProcess {
  readonly listener: KidListener;
  /**
   * What the process holds, as the root granted it; null for a worker
   * without a sandbox, which holds what the root holds. What its children
   * may get is decided from this, never from what it says of itself.
   */
  readonly permissions: ResolvedPermissions | null;
  /**
   * The modules the root loaded for this process and its ancestors, and the
   * program's main module: what it may have the root load for its children
   * without read permission (see {@linkcode mayLoad}).
   */
  readonly modules: ReadonlySet<string>;
  /** The handles of this process's own children, by the ref it chose. */
  readonly kids: Map<number, KidHandle>;
  /** What it was given that crosses by reference (pipe ends to count out when it exits). */
  readonly given: unknown;
  /** Its own mailbox, which only it reads: this isolate stops serving it when it exits (undefined if lent). */
  readonly mailbox: unknown;
  running: boolean;
  tid: number | null;
}

/** A call routed to a subprocess that serves the ring (`RingCall`'s op), by whom (`from`, `ref`). */
interface RoutedCall {
  readonly from: number;
  readonly ref: number;
  readonly op: RingCall["op"];
  /** A quiet put, answered only if refused. */
  readonly quiet: boolean;
}

/** Whether a caller waits for the answer to a call: not for a quiet put or a cancel. */
function awaited(op: RingCall["op"], quiet: boolean): boolean {
  return !quiet && op !== "cancel";
}

/** The reply to a call whose ring can no longer be reached. */
function gone(why: string): RingReply {
  return {
    ok: false,
    error: encodeError(new ProcessError(`Cannot use the queue or pipe as ${why}: it lived in that process`)),
  };
}

/** Who the process `spec` describes is, as it must learn before its target's module runs. */
function identityOf(spec: LaunchSpec, id: number): ChildIdentity {
  const { name, identity, daemon, parent, mainModule, argv } = spec;
  return { id, name, identity, daemon, parent, mainModule, argv };
}

/**
 * What the root grants the process `spec` describes, started for `parent`
 * (undefined for the root itself): its permissions, or null for a worker
 * that holds what the root holds (no sandbox of its own).
 *
 * A process never gets more than the process that asked for it. The
 * permissions in `spec` were checked against the parent's record; whether
 * a worker may go without a sandbox is decided from that record too, never
 * from the child's word (`sandboxed` is only a request, honoured for a
 * parent that itself holds what the root holds). Anything else gets a
 * sandbox of exactly what it asked for, which needs Deno's worker-options.
 */
function grantOf(spec: LaunchSpec, parent: Entry | undefined): ResolvedPermissions | null {
  const { backend, permissions, sandboxed } = spec.host;
  if (BACKENDS[backend].sandbox === "flags") return permissions;
  const parentHoldsAll = parent === undefined || parent.permissions === null;
  if (parentHoldsAll && !sandboxed) return null;
  // All of everything is what the root holds: a sandbox would change nothing.
  return grantsEverything(permissions) ? null : permissions;
}

/** troupe's own modules, which any process may load: they hold no one's data. */
const TROUPE = new URL("../", import.meta.url).href;

/**
 * The modules the root loads, statically, for a child whose entry is
 * `module`: Deno checks no permission for them, so each must be one the
 * parent could load itself. A runner's generated entry (a pool worker's,
 * checked byte for byte) loads the runner and its module.
 */
function modulesOf(module: string): string[] {
  const parts = runnerEntryParts(module);
  return parts === undefined ? [module] : [parts.runner, parts.module];
}

/**
 * Whether `parent` may have the root load `module` for a child. The root
 * loads a child's module as part of its static module graph, which Deno
 * reads without checking permissions (JSON and literal `import()`s in it
 * included), and for a worker checks the remote imports of that graph
 * against the program's permissions, not the worker's (denoland/deno#29503):
 * for a parent without all of read and import, that would read files and
 * hosts it may not. So such a parent may only use the modules the root
 * loaded for it or its ancestors (its own code), the main module, and
 * troupe's own. At run time, a child's imports are held to its own sandbox.
 */
function mayLoad(parent: Entry, module: string): boolean {
  const held = parent.permissions;
  if (held === null || (held.read === true && held.import === true)) return true;
  if (parent.modules.has(module)) return true;
  return URL.canParse(module) && new URL(module).href.startsWith(TROUPE) && module.startsWith(TROUPE);
}

/** Why a sandboxed process cannot have the root load `module` for its child. */
function moduleRefused(name: string, module: string, parent: Entry): RangeError {
  const shown = module.length > 80 ? `${module.slice(0, 77)}...` : module;
  return new RangeError(
    `Cannot start ${name} from module ${shown} as its parent ${parent.name} may not load it (its sandbox ` +
      `denies read or import): start it from a module ${parent.name} was started from or the main module, ` +
      `or grant ${parent.name} all of read and import`,
  );
}

/** Why a sandboxed process's worker child cannot start: the root cannot give it a sandbox. */
function sandboxUnavailable(name: string, parent: Entry): TypeError {
  return new TypeError(
    `Cannot start ${name} as a worker in the sandbox of ${parent.name} without Deno's worker-options ` +
      "feature (the worker would hold all the program holds): run deno with --unstable-worker-options " +
      '(or add "unstable": ["worker-options"] to deno.json), or use backend: "subprocess"',
  );
}

function startHost(
  spec: LaunchSpec,
  id: number,
  grant: ResolvedPermissions | null,
  onMessage: (message: FromChild) => void,
): Host {
  const { backend, memoryLimitMb } = spec.host;
  const preamble: Preamble = { self: identityOf(spec, id), channel: null };
  const module = spec.entry.kind === "none" ? null : spec.entry.module;
  return HOSTS[backend](spec.name, onMessage, { preamble, module, permissions: grant, memoryLimitMb });
}

/**
 * A child started ahead of need, without a target: it loads troupe and waits
 * to be told who it is, so a later start() skips the cost of creating an
 * isolate or an OS process. It imports its target's module only then, so it
 * serves only children without a sandbox (the import needs read permission).
 */
interface Spare {
  readonly backend: Backend;
  /** A subprocess spare's permissions: what the root held when it started. */
  readonly permissions: ResolvedPermissions;
  host: Host;
  /** Where its messages go: to its readiness until claimed, then to its record. */
  deliver: (message: FromChild) => void;
}

/** The root's registry. One per root isolate. */
export class Hosting {
  #live = new Map<number, Entry>();
  #spares: Spare[] = [];
  #nextId = 1;
  /** Heartbeats and probes sent and not yet answered, by number: to whom, and what takes the answer. */
  #heartbeats = new Map<
    number,
    {
      readonly id: number;
      readonly probe: boolean;
      readonly answer: (answer: ProbeReport | "alive" | null) => void;
    }
  >();
  #nextHeartbeat = 1;
  /**
   * Calls routed to each subprocess that serves rings, by home: who made
   * them, and what they are. Only these may be answered (`served`): one
   * answer each, or for a quiet put, any number of refusals.
   */
  #calls = new Map<number, Map<string, RoutedCall>>();

  /** What the root knows about its own children, for `ps()`. */
  #rootNotes: () => KidNote[];

  constructor(rootNotes: () => KidNote[]) {
    this.#rootNotes = rootNotes;
    setCallSender((ref, home, call) => this.#route(0, ref, home, call));
  }

  /**
   * Starts `count` spares of `backend` (for pools and supervisors, which
   * restart often). Resolves once they are loaded. They keep the program
   * running while they load, not after; the exit handler stops them.
   */
  prestart(backend: Backend, count: number, preload?: string): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const loaded = Promise.withResolvers<void>();
      const spare: Spare = {
        backend,
        permissions: heldPermissions(),
        host: undefined as unknown as Host,
        deliver: (message) => {
          if (message[TAG] !== "ready") return;
          if (preload) spare.host.send({ [TAG]: "preload", module: preload });
          loaded.resolve();
        },
      };
      const preamble: Preamble = { self: null, channel: null };
      const onMessage = (message: FromChild) => spare.deliver(message);
      try {
        spare.host = HOSTS[backend]("spare", onMessage, {
          preamble,
          module: null,
          // What the root holds: explicit where the backend's sandbox is its flags, else none.
          permissions: BACKENDS[backend].sandbox === "flags" ? spare.permissions : null,
          memoryLimitMb: null,
        });
      } catch (error) {
        // No spare then (no permission to run, no Worker): a start that needs
        // one fails at its own call, with this same cause.
        return Promise.all(ready).then(() => Promise.reject(error));
      }
      // It ends with the program; held while it loads (someone may be waiting for that), not after.
      spare.host.keepAlive(false);
      holdWhile(loaded.promise);
      spare.host.exited.then(() => {
        this.#spares = this.#spares.filter((s) => s !== spare);
        loaded.resolve();
      });
      this.#spares.push(spare);
      ready.push(loaded.promise);
    }
    return Promise.all(ready).then(() => {});
  }

  /**
   * Starts spares of `backend` until `count` of them wait (a supervisor keeps
   * one for its next restart), having them import `preload` ahead.
   */
  topUp(backend: Backend, count: number, preload?: string): Promise<void> {
    const waiting = this.#spares.filter((spare) => spare.backend === backend).length;
    return this.prestart(backend, Math.max(0, count - waiting), preload);
  }

  /** How many spares are waiting. */
  get spares(): number {
    return this.#spares.length;
  }

  /** Stops every spare. */
  releaseSpares(): void {
    for (const spare of this.#spares.splice(0)) spare.host.stop("kill");
  }

  /**
   * A spare that can become the process `spec` describes, which the root
   * grants `grant`. A spare holds what the root holds and imports its
   * target's module dynamically (which needs read permission), so it serves
   * only a process granted exactly that: never a sandboxed or restricted one.
   */
  #takeSpare(spec: LaunchSpec, grant: ResolvedPermissions | null): Spare | undefined {
    const { backend, sandboxed, memoryLimitMb } = spec.host;
    if (sandboxed || memoryLimitMb !== null) return undefined;
    const at = this.#spares.findIndex((spare) =>
      spare.backend === backend &&
      (BACKENDS[backend].sandbox === "flags"
        ? grant !== null && grant.read === true && samePermissions(grant, spare.permissions)
        : grant === null)
    );
    return at < 0 ? undefined : this.#spares.splice(at, 1)[0];
  }

  /**
   * Starts a process for `owner`. Throws synchronously, with nothing left
   * running, when the launch message cannot be cloned or the host cannot
   * start.
   */
  host(spec: LaunchSpec, owner: number, listener: KidListener): KidHandle {
    const parent = owner === 0 ? undefined : this.#live.get(owner);
    if (owner !== 0) {
      // A child's spec is its claim (its shape checked as it arrived, `_validate.ts`): checked here
      // against the root's record of it.
      if (!parent) throw new ProcessError(`Cannot start ${spec.name} as its parent has exited`);
      const wider = parent.permissions
        ? exceeds(spec.host.permissions, parent.permissions)
        : exceedsHeld(spec.host.permissions);
      if (wider) {
        throw new RangeError(
          `Cannot start ${spec.name} with ${wider} as its parent ${parent.name} does not hold it`,
        );
      }
    }
    const loads = spec.entry.kind === "none" ? [] : modulesOf(String(spec.entry.module));
    const refused = parent && loads.find((module) => !mayLoad(parent, module));
    if (parent && refused !== undefined) throw moduleRefused(spec.name, refused, parent);
    const grant = grantOf(spec, parent);
    // Without the feature, Deno would end the whole program with exit code 70.
    if (
      BACKENDS[spec.host.backend].sandbox === "worker-options" && grant !== null && !workerOptionsEnabled()
    ) {
      throw parent?.permissions ? sandboxUnavailable(spec.name, parent) : workerSandboxUnavailable();
    }
    const id = this.#nextId++;
    const kids = new Map<number, KidHandle>();
    const spare = this.#takeSpare(spec, grant);
    const host = spare?.host ?? startHost(spec, id, grant, (message) => this.#onMessage(record, message));
    if (spare) spare.deliver = (message) => this.#onMessage(record, message);
    // Joined at exit, as Python joins a non-daemon child; a daemon is terminated then (`shutdown.ts`),
    // and a supervisor's child or a pool worker ends with the program.
    host.keepAlive(!(spec.daemon || spec.detached));
    const record: Entry = {
      id,
      name: spec.name,
      daemon: spec.daemon,
      owner,
      host,
      listener,
      kids,
      given: [spec.args, spec.entry],
      // A lent mailbox (a supervised child's) is read by the next incarnation too: it stays served.
      mailbox: spec.mailboxes.lent ? undefined : spec.mailboxes.own,
      backend: spec.host.backend,
      parentName: spec.parent.name,
      launchedAt: performance.now(),
      running: false,
      tid: null,
      permissions: grant,
      modules: new Set([
        ...(parent?.modules ?? [spec.mainModule]),
        ...loads,
        ...(spec.entry.kind === "none" ? [] : [spec.entry.module]),
      ]),
    };
    try {
      host.send({
        [TAG]: "launch",
        entry: spec.entry,
        args: spec.args,
        mailboxes: spec.mailboxes,
        ...(spare ? { self: identityOf(spec, id) } : {}),
      });
    } catch (error) {
      host.stop("kill");
      throw error;
    }
    this.#live.set(id, record);
    listener({ ev: "spawned", id, pid: host.pid });
    host.exited.then((code) => this.#onExit(record, code));
    return { stop: (how) => host.stop(how) };
  }

  /**
   * Whether process `id` answers a heartbeat within `timeoutMs`: a child
   * whose event loop is stuck (a busy loop) does not. False if it is not alive.
   */
  check(id: number, timeoutMs: number): Promise<boolean> {
    return this.#ask(id, "heartbeat", timeoutMs).then((answer) => answer !== null);
  }

  /** Process `id`'s report on itself, or null if it does not answer within `timeoutMs`. */
  probe(id: number, timeoutMs: number): Promise<ProbeReport | null> {
    return this.#ask(id, "probe", timeoutMs) as Promise<ProbeReport | null>;
  }

  /** `ps()`: every live process's status, giving each `timeoutMs` to answer its probe. */
  snapshot(timeoutMs: number): Promise<ProcessStatus[]> {
    return snapshot([...this.#live.values()], (id) => this.probe(id, timeoutMs), this.#rootNotes());
  }

  /** Sends a heartbeat or a probe; resolves with the answer, or null if none came within `timeoutMs`. */
  #ask(id: number, what: "heartbeat" | "probe", timeoutMs: number): Promise<ProbeReport | "alive" | null> {
    const record = this.#live.get(id);
    if (!record) return Promise.resolve(null);
    const n = this.#nextHeartbeat++;
    const { promise, resolve } = Promise.withResolvers<ProbeReport | "alive" | null>();
    // A heartbeat's timer does not keep the program running, as its interval's does not.
    const probe = what === "probe";
    const timer = startTimer(() => this.#heartbeats.get(n)?.answer(null), timeoutMs, probe);
    this.#heartbeats.set(n, {
      id,
      probe,
      answer: (answer) => {
        this.#heartbeats.delete(n);
        stopTimer(timer);
        if (answer !== null && answer !== "alive" && answer.tid !== null) record.tid = answer.tid;
        resolve(answer);
      },
    });
    record.host.send({ [TAG]: what, n });
    return promise;
  }

  /** Resolves with process `id`'s exit code when it exits; at once with null if it is not alive. */
  watch(id: number): Promise<number | null> {
    // The root outlives every process that could watch it.
    if (id === 0) return new Promise(() => {});
    const watched = this.#live.get(id);
    return watched ? watched.host.exited : Promise.resolve(null);
  }

  /** Every live process, oldest first. */
  live(): HostedProcess[] {
    return [...this.#live.values()];
  }

  /** Live processes whose creator has exited: Python would leave them running as orphans. */
  orphans(): HostedProcess[] {
    return this.live().filter((p) => p.owner !== 0 && !this.#live.has(p.owner));
  }

  /**
   * Acts on a message from process `record`, already checked against the
   * protocol by its host (`_validate.ts`). What it asks that cannot be done
   * throws, or fails the work it started: either way the host kills that
   * child with a report, and the root goes on.
   */
  #onMessage(record: Entry, message: FromChild): void {
    switch (message[TAG]) {
      case "started":
        record.running = true;
        record.tid = message.tid;
        record.listener({ ev: "started" });
        break;
      case "failed":
        record.listener(
          message.shown
            ? { ev: "failed", error: message.error, shown: true }
            : { ev: "failed", error: message.error },
        );
        break;
      case "spawn": {
        const { ref, spec } = message;
        if (spec.parent.id !== record.id) {
          throw new RangeError(
            `Cannot start ${spec.name} for ${record.name} (id ${record.id}) as its spec names ` +
              `process ${spec.parent.id} as the parent`,
          );
        }
        const relay: KidListener = (event) => {
          if (event.ev === "exited") record.kids.delete(ref);
          // A crash whose creator has exited, and cannot report it, is reported here, as a child would.
          if (event.ev === "failed" && !event.shown && !event.refused && !this.#live.has(record.id)) {
            report(`Process ${spec.name}:\n`, decodeError(event.error));
          }
          record.host.send({ [TAG]: "kid", ref, event });
        };
        try {
          // The spec already crossed once, from the child to here, so it clones.
          record.kids.set(ref, this.host(spec, record.id, relay));
        } catch (error) {
          relay({ ev: "failed", error: encodeError(error), refused: true });
          relay({ ev: "exited", code: 1 });
        }
        break;
      }
      case "stop":
        record.kids.get(message.ref)?.stop(message.how);
        break;
      case "call":
        this.#route(record.id, message.ref, message.home, message.call);
        break;
      case "register":
        serveRing(new Ring(message.buffer));
        break;
      case "alive":
      case "probed": {
        // Only the process asked may answer: another could make a stuck one look alive.
        const asked = this.#heartbeats.get(message.n);
        if (asked?.id !== record.id) break;
        asked.answer(message[TAG] === "probed" ? message.report : "alive");
        break;
      }
      case "ps": {
        const { ref, timeoutMs } = message;
        this.#guard(
          record,
          "ps",
          this.snapshot(timeoutMs).then(
            (rows) => record.host.send({ [TAG]: "ps-rows", ref, rows }),
            (error) => record.host.send({ [TAG]: "ps-rows", ref, rows: null, error: encodeError(error) }),
          ),
        );
        break;
      }
      case "check": {
        const { ref, target, timeoutMs } = message;
        this.#guard(
          record,
          "check",
          this.check(target, timeoutMs).then((ok) => record.host.send({ [TAG]: "checked", ref, ok })),
        );
        break;
      }
      case "watch": {
        const { ref, target } = message;
        this.#guard(
          record,
          "watch",
          this.watch(target).then((code) => record.host.send({ [TAG]: "down", ref, code })),
        );
        break;
      }
      case "served":
        this.#served(record, message.to, message.ref, message.reply);
        break;
    }
  }

  /** Work started for process `record` that fails costs that process, never the root. */
  #guard(record: Entry, kind: string, work: Promise<unknown>): void {
    work.catch((error) => {
      refuseChild(record.host, record.name, `Cannot answer its "${kind}" message: ${describeError(error)}`);
    });
  }

  /** Passes on `home`'s answer to call `ref` of process `to`, if that call was routed to it. */
  #served(home: Entry, to: number, ref: number, reply: RingReply): void {
    if (to >= this.#nextId) {
      throw new RangeError(`Cannot pass on an answer to process ${to}, which never existed`);
    }
    const calls = this.#calls.get(home.id);
    const key = `${to}:${ref}`;
    const call = calls?.get(key);
    // Not asked, or no longer awaited (its caller exited): nobody takes it, and nobody may be fooled by it.
    if (!call) return;
    const problem = checkReply(reply, call.op, call.quiet);
    if (problem !== undefined) throw new TypeError(problem);
    if (!call.quiet) calls!.delete(key);
    this.#reply(to, ref, reply);
  }

  /** Passes a call on a ring to the isolate that serves it: this one, or a subprocess's. */
  #route(from: number, ref: number, home: number, call: RingCall): void {
    if (home === 0) {
      serveRingCall(from, ref, call).then((reply) => reply && this.#reply(from, ref, reply)).catch(
        (error) => {
          // The answer could not be sent (it cannot cross to that process): the call was the caller's fault.
          if (from === 0) return deliverReply(ref, { ok: false, error: encodeError(error) });
          const record = this.#live.get(from);
          if (record) {
            refuseChild(
              record.host,
              record.name,
              `Cannot answer its call on a queue or pipe: ${describeError(error)}`,
            );
          }
        },
      );
      return;
    }
    if (call.op === "buffer") {
      // Only the root's OS process shares memory with workers; a subprocess could not send it.
      throw new TypeError(`Cannot ask process ${home} for a ring's memory: only the root gives it`);
    }
    const server = this.#live.get(home);
    if (!server) {
      this.#reply(from, ref, gone(`the process that created it (id ${home}) has exited`));
      return;
    }
    let calls = this.#calls.get(home);
    if (!calls) this.#calls.set(home, calls = new Map());
    const quiet = call.op === "put" && call.quiet === true;
    const key = `${from}:${ref}`;
    // A quiet caller sends many puts under one ref: its entry stays.
    if (!quiet || !calls.has(key)) calls.set(key, { from, ref, op: call.op, quiet });
    server.host.send({ [TAG]: "serve", from, ref, call });
  }

  #reply(to: number, ref: number, reply: RingReply): void {
    if (to === 0) deliverReply(ref, reply);
    else this.#live.get(to)?.host.send({ [TAG]: "reply", ref, reply });
  }

  /** Settles the calls a process was serving when it exited, and drops the waits it had made. */
  #settleCalls(record: Entry): void {
    const calls = this.#calls.get(record.id);
    this.#calls.delete(record.id);
    for (const { from, ref, op, quiet } of calls?.values() ?? []) {
      if (!awaited(op, quiet)) continue;
      this.#reply(from, ref, gone(`${record.name}, which created it, has exited`));
    }
    abandonCalls(record.id);
    for (const [home, waiting] of this.#calls) {
      for (const [key, { from, ref, op, quiet }] of waiting) {
        if (from !== record.id) continue;
        waiting.delete(key);
        if (!awaited(op, quiet)) continue;
        this.#live.get(home)?.host.send({ [TAG]: "serve", from, ref: -ref, call: { op: "cancel", ref } });
      }
    }
  }

  #onExit(record: Entry, code: number): void {
    this.#live.delete(record.id);
    this.#settleCalls(record);
    try {
      // However it ended (a kill runs no cleanup), its pipe ends are closed now.
      discard(record.given, { gone: true });
      unserve(record.mailbox);
    } catch {
      // What its creator described (a child's spawn) was no descriptor of ours: there is nothing to give back.
    }
    record.listener({ ev: "exited", code });
    for (const other of this.#live.values()) {
      if (other.owner !== record.id) continue;
      other.host.send({ [TAG]: "parent-exited" });
      // A process that ended by its own hand (a return, Deno.exit, a crash)
      // takes its daemon children with it; one stopped by a signal leaves
      // them orphaned, as in Python.
      if (other.daemon && code >= 0) other.host.stop("terminate");
    }
    // Its probes (ps) will not be answered: they end now, whatever their timeout.
    for (const waiting of this.#heartbeats.values()) {
      if (waiting.probe && waiting.id === record.id) waiting.answer(null);
    }
  }
}
