/**
 * The subprocess backend's host: an OS process running `deno run` on the
 * child bootstrap, sandboxed by permission flags.
 *
 * The child's stdout and stderr are the parent's own (user output arrives
 * unchanged and in order). Its stdin carries only the key it proves itself
 * with on its channel, read before user code runs, which then sees an empty
 * stdin, as in Python. Protocol
 * messages travel over a loopback TCP connection instead, which also tells a
 * child when its parent dies: the connection closes, even on SIGKILL, and
 * the child exits rather than live on as an orphan. Loopback TCP (rather
 * than a Unix socket) keeps the permission story simple: the parent needs
 * `--allow-net=127.0.0.1`, and a sandboxed child only its one port. The exit
 * code comes from the OS (`-N` for death by signal N).
 *
 * @module
 */

import { acceptEach, Gate, type GateLimits } from "../wire/_accept.ts";
import { acceptChild, CHANNEL_KEY_BYTES } from "../wire/_auth.ts";
import { denoExecutable, inheritedFlags } from "./_deno_flags.ts";
import { entryUrl } from "./_entry.ts";
import { encodeFrame, FrameError, FrameWriter, readFrames } from "../wire/_frame.ts";
import type { Host, HostOptions } from "./_host.ts";
import { Liveness } from "../core/_keep_alive.ts";
import { heldPermissions, permissionFlags, withGrants } from "./_permissions.ts";
import { type FromChild, isProtocolMessage, type StopHow, TAG, type ToChild } from "./_protocol.ts";
import { AuthenticationError } from "../core/errors.ts";
import { receiveFromChild, refuseChild } from "./_validate.ts";

const BOOTSTRAP_URL = new URL("./_child_subprocess.ts", import.meta.url);

/** Linux signal numbers, for Python's `-N` exit codes. */
const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGXCPU: 24,
  SIGXFSZ: 25,
};

/** A child the switchboard expects, and what its connection turns out to be. */
interface Line {
  /** The key the child proves itself with. */
  readonly key: Uint8Array;
  /** A connection says it is this child (before it proves it). */
  claimed(): void;
  attach(writer: FrameWriter): void;
  receive(message: FromChild): void;
  corrupt(error: Error): void;
  /** The connection that claimed it is closed: every frame the child sent has been received. */
  detach(): void;
}

/**
 * Limits on connections to the switchboard that have not proven which child
 * they are: any local process can open one. Tests lower them.
 */
export const switchboardLimits: GateLimits = {
  /**
   * How long a connection has to prove itself. A child connects while its
   * entry module is evaluated and answers once that is done, so this is also
   * how long the synchronous top level of a target's module may take.
   */
  handshakeMs: 10_000,
  maxPending: 64,
};

/**
 * The root's loopback port every subprocess child connects back to. A child
 * says which process it is and proves it with the one-time key it read from
 * its stdin, and the switchboard proves it knows that key too (a mutual
 * HMAC challenge, `_auth.ts`); the key never crosses. Any other connection is
 * dropped, and an unproven one costs little and not for long (`_accept.ts`).
 */
class Switchboard {
  static #instance: Switchboard | undefined;
  readonly port: number;
  #lines = new Map<string, Line>();
  #gate = new Gate(switchboardLimits);

  static get(): Switchboard {
    return Switchboard.#instance ??= new Switchboard();
  }

  /** The port, if the switchboard is open (for tests). */
  static get port(): number | undefined {
    return Switchboard.#instance?.port;
  }

  private constructor() {
    let listener: Deno.TcpListener;
    try {
      listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    } catch (error) {
      throw new Error(
        "Cannot start a subprocess as troupe talks to it over loopback TCP, which needs " +
          "--allow-net=127.0.0.1 (and --allow-run for deno): grant them, or use the worker backend",
        { cause: error },
      );
    }
    this.port = listener.addr.port;
    // The listener must not keep the program alive; children's exits do that.
    listener.unref();
    acceptEach(listener, this.#gate, (conn) => this.#serve(conn));
  }

  expect(id: string, line: Line): void {
    this.#lines.set(id, line);
  }

  forget(id: string): void {
    this.#lines.delete(id);
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    conn.unref();
    // Messages are small and often answered: Nagle's delay would add ~40 ms to some.
    conn.setNoDelay(true);
    let line: Line | undefined;
    const admitted = this.#gate.admit(conn);
    try {
      // A failed proof leaves the line open: an intruder cannot lock the real child out.
      const id = await acceptChild(conn, (id: string) => {
        line = this.#lines.get(id);
        line?.claimed();
        return line?.key;
      });
      // Another connection proved it first (the key is the child's alone: it does not happen).
      if (this.#lines.get(id) !== line) throw new AuthenticationError("Cannot attach a child twice");
      this.#lines.delete(id);
    } catch {
      // Not one of our children (or too slow to prove it): drop it.
      line?.detach();
      line = undefined;
    } finally {
      admitted();
    }
    try {
      if (!line) return;
      line.attach(new FrameWriter(conn));
      await readFrames(conn, (message) => {
        if (!isProtocolMessage<FromChild>(message)) {
          throw new FrameError("Cannot read a frame that is not a message");
        }
        line!.receive(message);
      });
    } catch (error) {
      // A reset connection is a child dying, which its exit status reports;
      // only bytes that are not frames mean a broken child.
      if (error instanceof FrameError) line?.corrupt(error);
    } finally {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
      line?.detach();
    }
  }
}

/** The loopback port subprocess children connect to, once one has started (for tests). */
export function switchboardPort(): number | undefined {
  return Switchboard.port;
}

/** A process hosted in an OS process of its own. */
export class SubprocessHost implements Host {
  readonly pid: number;
  readonly exited: Promise<number>;
  #child: Deno.ChildProcess;
  #liveness: Liveness;
  #writer: FrameWriter | undefined;
  /** Frames sent before the child connected. */
  #backlog: Uint8Array[] = [];
  #ended = false;

  constructor(name: string, onMessage: (message: FromChild) => void, options: HostOptions) {
    const deno = denoExecutable(name);
    const board = Switchboard.get();
    // Which child this is, in its command line: public. What proves it is
    // secret, so it goes through the child's stdin, never argv or the
    // environment (`/proc/<pid>/cmdline` is readable by every user).
    const id = crypto.randomUUID();
    const key = crypto.getRandomValues(new Uint8Array(CHANNEL_KEY_BYTES));
    // The child needs its one port, and nothing more, to talk to us.
    const permissions = withGrants(options.permissions ?? heldPermissions(), {
      net: [`127.0.0.1:${board.port}`],
    });
    const args = ["run", ...inheritedFlags(), ...permissionFlags(permissions)];
    if (options.memoryLimitMb !== null) args.push(`--v8-flags=--max-old-space-size=${options.memoryLimitMb}`);
    const preamble = { ...options.preamble, channel: { port: board.port, id } };
    args.push(entryUrl(BOOTSTRAP_URL, preamble, options.module));
    this.#child = new Deno.Command(deno, {
      args,
      stdin: "piped",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    this.pid = this.#child.pid;
    // The child reads the key, then end-of-file: its user code sees an empty stdin.
    const stdin = this.#child.stdin.getWriter();
    // A child that died at once cannot take it; its exit status says why.
    stdin.write(key).catch(() => {});
    stdin.close().catch(() => {});
    // Its last frames (why it failed, say) may still be in the socket when the OS reports its exit:
    // the exit is reported once they are read, so that nothing it said comes after its exit. A child
    // sends only once its connection is proven, and the switchboard hears its claim before that.
    const drained = Promise.withResolvers<void>();
    let claimed = false;
    board.expect(id, {
      key,
      claimed: () => claimed = true,
      attach: (writer) => {
        this.#writer = writer;
        for (const frame of this.#backlog.splice(0)) writer.write(frame);
      },
      detach: () => drained.resolve(),
      // Untrusted: checked, and the child is killed if it breaks the protocol.
      receive: (message) => receiveFromChild(this, name, "subprocess", message, onMessage),
      corrupt: (error) => refuseChild(this, name, error.message),
    });
    const child = this.#child;
    const liveness = this.#liveness = new Liveness({
      ref: () => child.ref(),
      unref: () => child.unref(),
      end: () => this.stop("terminate"),
    });
    this.exited = this.#child.status.then(async (status) => {
      // A child that never claimed its line has sent nothing; one that did ends its connection as it exits.
      if (claimed) await drained.promise;
      this.#ended = true;
      liveness.dispose();
      board.forget(id);
      // Deno reports death by signal N as code 128 + N.
      return status.signal === null ? status.code : -(SIGNALS[status.signal] ?? status.code - 128);
    });
  }

  send(message: ToChild): void {
    if (this.#ended) return;
    const frame = encodeFrame(message);
    if (this.#writer) this.#writer.write(frame);
    else this.#backlog.push(frame);
  }

  keepAlive(joined: boolean): void {
    this.#liveness.joined = joined;
  }

  stop(how: StopHow): void {
    if (this.#ended) return;
    if (how === "request") return this.send({ [TAG]: "stop-request" });
    // Stopped, it is waited for at exit until the OS reports it gone, as Python joins it.
    this.#liveness.joined = true;
    try {
      this.#child.kill(how === "kill" ? "SIGKILL" : "SIGTERM");
    } catch {
      // It exited in the meantime; its status tells how.
    }
  }
}
