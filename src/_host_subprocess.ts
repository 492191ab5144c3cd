/**
 * The subprocess backend's host: an OS process running `deno run` on the
 * child bootstrap, sandboxed by permission flags.
 *
 * The child's stdout and stderr are the parent's own (user output arrives
 * unchanged and in order) and its stdin is empty, as in Python. Protocol
 * messages travel over a loopback TCP connection instead, which also tells a
 * child when its parent dies: the connection closes, even on SIGKILL, and
 * the child exits rather than live on as an orphan. Loopback TCP (rather
 * than a Unix socket) keeps the permission story simple: the parent needs
 * `--allow-net=127.0.0.1`, and a sandboxed child only its one port. The exit
 * code comes from the OS (`-N` for death by signal N).
 *
 * @module
 */

import { inheritedFlags } from "./_deno_flags.ts";
import { entryUrl } from "./_entry.ts";
import { encodeFrame, FrameError, FrameReader, FrameWriter, readFrames } from "./_frame.ts";
import type { Host } from "./_host.ts";
import { permissionFlags, type ResolvedPermissions, withGrants } from "./_permissions.ts";
import {
  type FromChild,
  type Hello,
  isProtocolMessage,
  type Preamble,
  type StopHow,
  TAG,
  type ToChild,
} from "./_protocol.ts";
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

/** What the switchboard tells the host that a connection turned out to be. */
interface Line {
  attach(writer: FrameWriter): void;
  receive(message: FromChild): void;
  corrupt(error: Error): void;
}

/**
 * The root's loopback port every subprocess child connects back to. A child
 * proves which process it is with the one-time token it was started with;
 * any other connection is dropped.
 */
class Switchboard {
  static #instance: Switchboard | undefined;
  readonly port: number;
  #lines = new Map<string, Line>();

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
    this.#accept(listener);
  }

  expect(token: string, line: Line): void {
    this.#lines.set(token, line);
  }

  forget(token: string): void {
    this.#lines.delete(token);
  }

  async #accept(listener: Deno.TcpListener): Promise<void> {
    for await (const conn of listener) this.#serve(conn);
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    conn.unref();
    // Messages are small and often answered: Nagle's delay would add ~40 ms to some.
    conn.setNoDelay(true);
    let line: Line | undefined;
    // Until a connection proves it is a child of ours, it may send only a small hello.
    const reader = new FrameReader();
    reader.maxFrameBytes = 4096;
    try {
      await readFrames(conn, (message) => {
        if (line) {
          if (!isProtocolMessage<FromChild>(message)) {
            throw new FrameError("Cannot read a frame that is not a message");
          }
          line.receive(message);
          return;
        }
        const token = isProtocolMessage<Hello>(message) && message[TAG] === "hello"
          ? message.token
          : undefined;
        line = token === undefined ? undefined : this.#lines.get(token);
        if (!line) throw new FrameError("Cannot accept a connection that does not start with a known token");
        this.#lines.delete(token!);
        reader.maxFrameBytes = Infinity;
        line.attach(new FrameWriter(conn));
      }, reader);
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
    }
  }
}

/** The loopback port subprocess children connect to, once one has started (for tests). */
export function switchboardPort(): number | undefined {
  return Switchboard.port;
}

/** How to start a subprocess. */
export interface SubprocessOptions {
  readonly preamble: Preamble;
  /** The module of the target, imported by the entry module; null for none. */
  readonly module: string | null;
  readonly permissions: ResolvedPermissions;
  readonly memoryLimitMb: number | null;
}

/** A process hosted in an OS process of its own. */
export class SubprocessHost implements Host {
  readonly pid: number;
  readonly exited: Promise<number>;
  #child: Deno.ChildProcess;
  #writer: FrameWriter | undefined;
  /** Frames sent before the child connected. */
  #backlog: Uint8Array[] = [];
  #ended = false;

  constructor(name: string, onMessage: (message: FromChild) => void, options: SubprocessOptions) {
    const board = Switchboard.get();
    const token = crypto.randomUUID();
    // The child needs its one port, and nothing more, to talk to us.
    const permissions = withGrants(options.permissions, { net: [`127.0.0.1:${board.port}`] });
    const args = ["run", ...inheritedFlags(), ...permissionFlags(permissions)];
    if (options.memoryLimitMb !== null) args.push(`--v8-flags=--max-old-space-size=${options.memoryLimitMb}`);
    const preamble = { ...options.preamble, channel: { port: board.port, token } };
    args.push(entryUrl(BOOTSTRAP_URL, preamble, options.module));
    this.#child = new Deno.Command(Deno.execPath(), {
      args,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    this.pid = this.#child.pid;
    board.expect(token, {
      attach: (writer) => {
        this.#writer = writer;
        for (const frame of this.#backlog.splice(0)) writer.write(frame);
      },
      // Untrusted: checked, and the child is killed if it breaks the protocol.
      receive: (message) => receiveFromChild(this, name, "subprocess", message, onMessage),
      corrupt: (error) => refuseChild(this, name, error.message),
    });
    this.exited = this.#child.status.then((status) => {
      this.#ended = true;
      board.forget(token);
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

  keepAlive(held: boolean): void {
    if (held) this.#child.ref();
    else this.#child.unref();
  }

  stop(how: StopHow): void {
    if (this.#ended) return;
    if (how === "request") return this.send({ [TAG]: "stop-request" });
    try {
      this.#child.kill(how === "kill" ? "SIGKILL" : "SIGTERM");
    } catch {
      // It exited in the meantime; its status tells how.
    }
  }
}
