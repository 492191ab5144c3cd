/**
 * The root isolate's registry of every live process, whoever created it.
 * It starts hosts, relays each child's life to the process that created it,
 * serves children's requests to start and stop their own children, and is
 * what the leak check and `shutdown()` read.
 *
 * @module
 */

import { workerOptionsEnabled, workerSandboxUnavailable } from "./_deno_flags.ts";
import { encodeError } from "./_error_codec.ts";
import type { Host } from "./_host.ts";
import { SubprocessHost } from "./_host_subprocess.ts";
import { WorkerHost } from "./_host_worker.ts";
import { exceeds, exceedsHeld, type ResolvedPermissions } from "./_permissions.ts";
import type { FromChild, KidEvent, LaunchSpec, Preamble, StopHow } from "./_protocol.ts";
import { TAG } from "./_protocol.ts";

/** What the creator of a process holds: a way to stop it. */
export interface KidHandle {
  stop(how: StopHow): void;
}

/** Receives a child's life, in order: spawned, then started or failed, then exited. */
export type KidListener = (event: KidEvent) => void;

/** A live process as the registry reports it. */
export interface HostedProcess {
  readonly id: number;
  readonly name: string;
  readonly daemon: boolean;
  /** The id of the process that created it; 0 is the root. */
  readonly owner: number;
  readonly host: Host;
}

interface Entry extends HostedProcess {
  readonly listener: KidListener;
  /** What the process holds; null for a worker without a sandbox, which holds what the root holds. */
  readonly permissions: ResolvedPermissions | null;
  /** The handles of this process's own children, by the ref it chose. */
  readonly kids: Map<number, KidHandle>;
}

function startHost(spec: LaunchSpec, id: number, onMessage: (message: FromChild) => void): Host {
  const { backend, permissions, sandboxed, memoryLimitMb } = spec.host;
  const { name, identity, daemon, parent, mainModule, argv } = spec;
  const preamble: Preamble = { id, name, identity, daemon, parent, mainModule, argv, channel: null };
  const module = spec.entry.kind === "none" ? null : spec.entry.module;
  if (backend === "subprocess") {
    return new SubprocessHost(name, onMessage, { preamble, module, permissions, memoryLimitMb });
  }
  // Without the feature, Deno would end the whole program with exit code 70.
  if (sandboxed && !workerOptionsEnabled()) throw workerSandboxUnavailable();
  return new WorkerHost(name, onMessage, { preamble, module, permissions: sandboxed ? permissions : null });
}

/** The root's registry. One per root isolate. */
export class Hosting {
  #live = new Map<number, Entry>();
  #nextId = 1;

  /**
   * Starts a process for `owner`. Throws synchronously, with nothing left
   * running, when the launch message cannot be cloned or the host cannot
   * start.
   */
  host(spec: LaunchSpec, owner: number, listener: KidListener): KidHandle {
    const parent = this.#live.get(owner);
    const wider = parent &&
      (parent.permissions
        ? exceeds(spec.host.permissions, parent.permissions)
        : exceedsHeld(spec.host.permissions));
    if (wider) {
      throw new RangeError(
        `Cannot start ${spec.name} with ${wider} as its parent ${parent.name} does not hold it`,
      );
    }
    const id = this.#nextId++;
    const kids = new Map<number, KidHandle>();
    const host = startHost(spec, id, (message) => this.#onMessage(record, message));
    const record: Entry = {
      id,
      name: spec.name,
      daemon: spec.daemon,
      owner,
      host,
      listener,
      kids,
      permissions: spec.host.backend === "worker" && !spec.host.sandboxed ? null : spec.host.permissions,
    };
    try {
      host.send({ [TAG]: "launch", entry: spec.entry, args: spec.args });
    } catch (error) {
      host.stop("kill");
      throw error;
    }
    this.#live.set(id, record);
    listener({ ev: "spawned", id, pid: host.pid });
    host.exited.then((code) => this.#onExit(record, code));
    return { stop: (how) => host.stop(how) };
  }

  /** Every live process, oldest first. */
  live(): HostedProcess[] {
    return [...this.#live.values()];
  }

  /** Live processes whose creator has exited: Python would leave them running as orphans. */
  orphans(): HostedProcess[] {
    return this.live().filter((p) => p.owner !== 0 && !this.#live.has(p.owner));
  }

  #onMessage(record: Entry, message: FromChild): void {
    switch (message[TAG]) {
      case "started":
        record.listener({ ev: "started" });
        break;
      case "failed":
        record.listener({ ev: "failed", error: message.error });
        break;
      case "spawn": {
        const { ref, spec } = message;
        const relay: KidListener = (event) => {
          if (event.ev === "exited") record.kids.delete(ref);
          record.host.send({ [TAG]: "kid", ref, event });
        };
        try {
          // The spec already crossed once, from the child to here, so it clones.
          record.kids.set(ref, this.host(spec, record.id, relay));
        } catch (error) {
          relay({ ev: "failed", error: encodeError(error) });
          relay({ ev: "exited", code: 1 });
        }
        break;
      }
      case "stop":
        record.kids.get(message.ref)?.stop(message.how);
        break;
    }
  }

  #onExit(record: Entry, code: number): void {
    this.#live.delete(record.id);
    record.listener({ ev: "exited", code });
    for (const other of this.#live.values()) {
      if (other.owner !== record.id) continue;
      other.host.send({ [TAG]: "parent-exited" });
      // A process that ended by its own hand (a return, Deno.exit, a crash)
      // takes its daemon children with it; one stopped by a signal leaves
      // them orphaned, as in Python.
      if (other.daemon && code >= 0) other.host.stop("terminate");
    }
  }
}
