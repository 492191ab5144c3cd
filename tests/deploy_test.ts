/**
 * troupe where programs are shipped: imported from a URL as the published
 * package is, cached, pinned by a lock file, and run with no network.
 */

import assert from "node:assert/strict";
import { runProgram, runScript } from "./_helpers.ts";

const ROOT = new URL("../", import.meta.url);
const CONSUMER = new URL("./testdata/consumer/", import.meta.url);
const DENO = Deno.execPath();

/** Serves this repository over HTTP on loopback, as a registry serves the package. */
function serveRepository(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    if (path.includes("..")) return new Response("Not found", { status: 404 });
    try {
      const body = await Deno.readFile(new URL(`.${path}`, ROOT));
      return new Response(body, { headers: { "content-type": "application/typescript" } });
    } catch {
      return new Response("Not found", { status: 404 });
    }
  });
}

/** Copies the consumer program into `dir`, importing troupe from `base` instead of this repository. */
async function writeConsumer(dir: string, base: string): Promise<void> {
  for (const name of ["main.ts", "jobs.ts"]) {
    const code = await Deno.readTextFile(new URL(name, CONSUMER));
    await Deno.writeTextFile(
      `${dir}/${name}`,
      code.replaceAll('"../../../mod.ts"', JSON.stringify(`${base}mod.ts`)),
    );
  }
  // A configuration file makes `deno cache` write a lock file.
  await Deno.writeTextFile(`${dir}/deno.json`, "{}\n");
}

Deno.test("A program that imports troupe from a URL runs from the cache alone (--cached-only, --frozen lock file, server stopped), with a partial --allow-import too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "troupe-consumer-" });
  try {
    const env = { DENO_DIR: `${dir}/deno_dir` };
    const server = serveRepository();
    const port = server.addr.port;
    const base = `http://127.0.0.1:${port}/`;
    try {
      await writeConsumer(dir, base);
      const cached = await new Deno.Command(DENO, {
        args: ["cache", `--allow-import=127.0.0.1:${port}`, "main.ts"],
        cwd: dir,
        env,
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.equal(cached.code, 0, new TextDecoder().decode(cached.stderr));
    } finally {
      await server.shutdown();
    }
    const lock = await Deno.readTextFile(`${dir}/deno.lock`);
    for (const bootstrap of ["_child_worker.ts", "_child_subprocess.ts"]) {
      assert.ok(lock.includes(bootstrap), `the lock file pins ${bootstrap}`);
    }
    // Run with all permissions, and with a partial --allow-import that its subprocess children must get too.
    const partial = [
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-env",
      "--allow-run",
      "--allow-sys",
    ];
    for (const permissions of [["-A"], [`--allow-import=127.0.0.1:${port}`, ...partial]]) {
      const { code, stdout, stderr } = await runProgram(`${dir}/main.ts`, {
        flags: [...permissions, "--cached-only", "--frozen"],
        cwd: dir,
        env,
      });
      assert.equal(stderr, "", `with ${permissions.join(" ")}`);
      assert.equal(code, 0);
      assert.deepEqual(stdout.trim().split("\n"), [
        "hello from a worker child",
        "hello from a subprocess child",
        "a Lock crossed: 0",
        "a proxy crossed: 7",
        "pool: 2,4,6",
      ]);
    }
    assert.equal(
      await Deno.readTextFile(`${dir}/deno.lock`),
      lock,
      "the runs added nothing to the lock file",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Every kind of object that crosses by reference can be rebuilt in a child, from troupe's own modules", async () => {
  await import("../mod.ts");
  const { revivableKinds } = await import("../src/memory/_shared.ts");
  const { REVIVER_MODULES } = await import("../src/runtime/_revivers.ts");
  // What every child loads with its runtime: errors, queues, pipe ends and actors.
  const everyChildLoads = new Set(["error", "queue", "connection", "actor"]);
  for (const kind of revivableKinds()) {
    assert.ok(
      everyChildLoads.has(kind) || Object.hasOwn(REVIVER_MODULES, kind),
      `a child can load the reviver of ${kind}`,
    );
  }
  for (const [kind, modules] of Object.entries(REVIVER_MODULES)) {
    assert.ok(revivableKinds().includes(kind), `${kind} is a kind troupe revives`);
    for (const module of modules) {
      await import(new URL(module, new URL("../src/runtime/", import.meta.url)).href);
    }
  }
});

Deno.test("Without permission to run, every start fails at its own call with the real cause; nothing escapes, nothing hangs", async () => {
  const { code, stdout, stderr } = await runScript("no_spawn_script.ts", {
    flags: ["--allow-read", "--allow-net", "--allow-env", "--deny-run"],
  });
  assert.equal(stderr, "");
  assert.equal(code, 0);
  const lines = stdout.trim().split("\n");
  const denied = /Requires run access to .*--allow-run/;
  assert.equal(lines[0], "in-process objects work: 1 3");
  assert.match(lines[1]!, /^subprocess process: NotCapable: Requires run access/);
  assert.match(
    lines[2]!,
    /^pool: PoolClosedError: Pool broke: 3 workers in a row could not start: .* \| cause NotCapable: /,
  );
  assert.match(
    lines[3]!,
    /^supervisor: SupervisorError: Supervisor could not start child "a": .* \| cause NotCapable: /,
  );
  assert.match(lines[4]!, /^manager: NotCapable: /);
  for (const line of lines.slice(1, 5)) assert.match(line, denied);
  assert.equal(lines[5], "the end");
});

Deno.test("Where Worker and Deno.Command do not exist (Deno Deploy), troupe imports, in-process objects work, and a start names what is missing", async () => {
  const { code, stdout, stderr } = await runScript("no_spawn_script.ts", {
    args: ["bare"],
    flags: ["-A", "--unstable-worker-options"],
  });
  assert.equal(stderr, "");
  assert.equal(code, 0);
  const noCommands =
    /as this runtime cannot run commands \(Deno Deploy cannot\): use backend: "worker" where Workers exist/;
  const lines = stdout.trim().split("\n");
  assert.equal(lines[0], "in-process objects work: 1 3");
  assert.match(
    lines[1]!,
    /^worker process: TypeError: Cannot start Process-\d+ as this runtime has no Worker \(Deno Deploy has none\)/,
  );
  assert.match(lines[2]!, /^subprocess process: TypeError: Cannot start Process-\d+ /);
  assert.match(
    lines[3]!,
    /^pool: PoolClosedError: Pool broke: 3 workers in a row could not start: .* \| cause TypeError: /,
  );
  assert.match(
    lines[4]!,
    /^supervisor: SupervisorError: Supervisor could not start child "a": .* \| cause TypeError: /,
  );
  assert.match(lines[5]!, /^manager: TypeError: Cannot start SyncManager-\d+ /);
  for (const line of lines.slice(2, 6)) assert.match(line, noCommands);
  assert.equal(lines[6], "the end");
});

Deno.test("On another runtime (no Deno global, as on Node or Bun) every entry point fails at import with one sentence that says troupe runs on Deno", async () => {
  const { code, stdout, stderr } = await runScript("no_deno_script.ts");
  assert.equal(stderr, "");
  assert.equal(code, 0);
  const exports = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))).exports;
  assert.deepEqual(
    stdout.trim().split("\n"),
    Object.keys(exports).map((name) =>
      `${name}: troupe runs on Deno only (2.x): it is built on Deno's Workers, permissions and subprocesses, ` +
      "which Node and Bun do not have"
    ),
  );
});
