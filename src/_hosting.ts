/**
 * The root isolate's registry of every live process, whoever created it.
 * It starts hosts, relays each child's life to the process that created it,
 * serves children's requests to start and stop their own children, and is
 * what the leak check and `shutdown()` read.
 *
 * @module
 */

import type { Host, HostFactory } from "./_host.ts";
import type { FromChild, KidEvent, LaunchSpec, StopHow } from "./_protocol.ts";
import { TAG } from "./_protocol.ts";
import { WorkerHost } from "./_host_worker.ts";

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
  /** The handles of this process's own children, by the ref it chose. */
  readonly kids: Map<number, KidHandle>;
}

const workerHost: HostFactory = (name, onMessage) => new WorkerHost(name, onMessage);

/** The root's registry. One per root isolate. */
export class Hosting {
  #live = new Map<number, Entry>();
  #nextId = 1;

  /**
   * Starts a process for `owner`. Throws synchronously, with nothing left
   * running, when the launch message cannot be cloned.
   */
  host(spec: LaunchSpec, owner: number, listener: KidListener): KidHandle {
    const id = this.#nextId++;
    const kids = new Map<number, KidHandle>();
    const host = workerHost(spec.name, (message) => this.#onMessage(record, message));
    const record: Entry = { id, name: spec.name, daemon: spec.daemon, owner, host, listener, kids };
    try {
      host.send({ [TAG]: "launch", id, spec });
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
        const relay: KidListener = (event) => record.host.send({ [TAG]: "kid", ref, event });
        // The spec already crossed once, from the child to here, so it clones.
        record.kids.set(ref, this.host(spec, record.id, relay));
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
