/**
 * A real nats-server for one test file: JetStream on, a free port on
 * 127.0.0.1, a temporary store directory; stopped with SIGTERM. Fails (does
 * not skip) when nats-server is not installed, saying how to install it.
 */

/** A running nats-server. */
export interface NatsServer extends AsyncDisposable {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The JetStream store directory (kept across `restart`). */
  readonly storeDir: string;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and store directory. */
  start(): Promise<void>;
}

const CANDIDATES = [
  "nats-server",
  "/usr/sbin/nats-server",
  "/usr/bin/nats-server",
  "/usr/local/bin/nats-server",
];

async function findServer(): Promise<string> {
  for (const candidate of CANDIDATES) {
    try {
      const { success } = await new Deno.Command(candidate, {
        args: ["--version"],
        stdout: "null",
        stderr: "null",
      })
        .output();
      if (success) return candidate;
    } catch {
      // Not this one.
    }
  }
  throw new Error(
    "Cannot run the cluster tests as nats-server is not installed: install it " +
      "(apt-get install -y nats-server, or https://nats.io/download) and put it on PATH",
  );
}

/** Starts one server; its port is read from its log ("Listening for client connections on ..."). */
async function launch(
  binary: string,
  storeDir: string,
  port: number,
): Promise<{ child: Deno.ChildProcess; port: number; log: Promise<string> }> {
  const child = new Deno.Command(binary, {
    args: ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir, "--ports_file_dir", storeDir],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "", seen = 0;
  let found: number | undefined;
  let ready = false;
  while (!ready) {
    const { value, done } = await lines.read();
    if (done) {
      await child.status;
      throw new Error(`nats-server exited before it was ready:\n${text}`);
    }
    text += value;
    const listening = /Listening for client connections on [^\s]+:(\d+)/.exec(text.slice(seen));
    if (listening) found = Number(listening[1]);
    ready = found !== undefined && /Server is ready/.test(text);
    seen = Math.max(0, text.length - 200);
  }
  // Keeps reading, so the pipe never fills; the text is there for a failing test to show.
  const log = (async () => {
    for (;;) {
      const { value, done } = await lines.read();
      if (done) return text;
      text += value;
    }
  })();
  return { child, port: found!, log };
}

/** Starts a nats-server with JetStream for this test file. */
export async function startNats(): Promise<NatsServer> {
  const binary = await findServer();
  const storeDir = await Deno.makeTempDir({ prefix: "troupe_nats_" });
  let current = await launch(binary, storeDir, -1);
  const port = current.port;
  let running = true;
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop() {
      if (!running) return;
      running = false;
      current.child.kill("SIGTERM");
      await current.child.status;
      await current.log;
    },
    async start() {
      if (running) return;
      current = await launch(binary, storeDir, port);
      running = true;
    },
    async [Symbol.asyncDispose]() {
      await server.stop();
      await Deno.remove(storeDir, { recursive: true });
    },
  };
  return server;
}
