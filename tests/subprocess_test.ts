import assert from "node:assert/strict";
import { FRAME_MAGIC } from "../src/wire/_frame.ts";
import { Process } from "../mod.ts";
import { switchboardPort } from "../src/runtime/_host_subprocess.ts";
import { withLeakCheck } from "../src/testing.ts";
import { crashReport, reportFile, runProgram, runScript, withReports } from "./_helpers.ts";
import * as targets from "./testdata/targets.ts";

const module = targets.MODULE;
const backend = "subprocess";
const test = (name: string, fn: () => Promise<void>) => Deno.test(`[subprocess] ${name}`, withLeakCheck(fn));

test("a subprocess child has its own pid, the parent's args, and an empty stdin", async () => {
  await using report = await reportFile();
  const p = new Process({ target: targets.readStdin, args: [report.path], module, backend });
  await p.start();
  await p.join();
  assert.equal(p.exitCode, 0);
  const seen = await report.read<{ read: null; pid: number; args: string[] }>();
  assert.equal(seen.read, null, "stdin reads end-of-file");
  assert.equal(seen.pid, p.pid);
  assert.notEqual(p.pid, Deno.pid);
  assert.deepEqual(seen.args, Deno.args);
});

test("a subprocess killed by signal N exits with -N", async () => {
  const p = new Process({ target: targets.killSelf, args: ["SIGUSR1"], module, backend });
  await p.start();
  await p.join();
  assert.equal(p.exitCode, -10);
});

test("a subprocess that runs out of memory dies alone", async () => {
  // V8 prints its out-of-memory report itself, so this runs as a program of its own (see the script).
  const { code, stdout, stderr } = await runScript("deno_errors_script.ts", {
    args: ["outOfMemory", backend],
  });
  assert.equal(code, 0, stderr);
  const { hungryExitCode, siblingAlive, siblingExitCode } = JSON.parse(stdout);
  assert.ok(hungryExitCode !== null && hungryExitCode !== 0, `exit code ${hungryExitCode}`);
  assert.equal(siblingAlive, true);
  assert.equal(siblingExitCode, -15);
  assert.match(stderr, /out of memory/i);
});

test(
  "a subprocess that writes garbage on its channel is killed, and the parent carries on",
  withReports([
    crashReport("Cannot read the channel as it carries bytes that are not a troupe frame; killing it"),
  ], async () => {
    const p = new Process({ target: targets.writeGarbage, module, backend });
    await p.start();
    await p.join();
    assert.equal(p.exitCode, -9);
    const next = new Process({ target: targets.noop, module, backend });
    await next.start();
    await next.join();
    assert.equal(next.exitCode, 0);
  }),
);

test("a subprocess that exits in the middle of a message leaves the parent and its siblings working", async () => {
  const sibling = new Process({ target: targets.forever, module, backend });
  await sibling.start();
  const p = new Process({ target: targets.exitMidMessage, module, backend });
  await p.start();
  await p.join();
  assert.equal(p.exitCode, 3);
  assert.equal(sibling.isAlive(), true);
  sibling.terminate();
  await sibling.join();
  assert.equal(sibling.exitCode, -15);
});

test("a connection that does not speak the protocol is dropped and children keep working", async () => {
  const first = new Process({ target: targets.forever, module, backend });
  await first.start();
  const intruder = await Deno.connect({ hostname: "127.0.0.1", port: switchboardPort()! });
  await intruder.write(crypto.getRandomValues(new Uint8Array(1024)));
  assert.equal(await intruder.read(new Uint8Array(16)), null, "the intruder is hung up on");
  intruder.close();
  // A frame header that promises a gigabyte is refused at once, not buffered.
  const greedy = await Deno.connect({ hostname: "127.0.0.1", port: switchboardPort()! });
  const header = new DataView(new ArrayBuffer(8));
  header.setUint32(0, FRAME_MAGIC, true);
  header.setUint32(4, 1 << 30, true);
  await greedy.write(new Uint8Array(header.buffer));
  assert.equal(await greedy.read(new Uint8Array(16)), null, "the greedy peer is hung up on");
  greedy.close();
  const second = new Process({ target: targets.noop, module, backend });
  await second.start();
  await second.join();
  assert.equal(second.exitCode, 0);
  first.terminate();
  await first.join();
});

test("a sandboxed subprocess cannot read files or connect without permission", async () => {
  await using report = await reportFile();
  await using secret = await reportFile();
  using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = new Process({
    target: targets.probeSandbox,
    args: [report.path, secret.path, server.addr.port],
    module,
    backend,
    permissions: { read: false, net: false, env: false, write: [report.path] },
  });
  await p.start();
  await p.join();
  assert.equal(p.exitCode, 0);
  assert.deepEqual(await report.read(), { read: "NotCapable", connect: "NotCapable", env: "NotCapable" });
});

test("a child cannot give its own child more permissions than it holds", async () => {
  await using report = await reportFile();
  const p = new Process({
    target: targets.escalate,
    args: [report.path],
    module,
    backend,
    permissions: { net: false, write: [report.path] },
  });
  await p.start();
  await p.join();
  const seen = await report.read<{ error: string; message: string }>();
  assert.equal(seen.error, "RangeError");
  assert.match(seen.message, /permissions\.net/);
});

Deno.test("a subprocess child's stdout and stderr reach the parent's unchanged and in order", async () => {
  const { code, stdout, stderr } = await runScript("chatter_script.ts");
  assert.equal(code, 0);
  const lines = Array.from({ length: 100 }, (_, i) => `out ${i}`);
  assert.equal(stdout, [...lines, "exitCode=0"].join("\n") + "\n");
  assert.deepEqual(
    stderr.split("\n").filter((l) => l.startsWith("err ")),
    lines.map((l) => l.replace("out", "err")),
  );
});

Deno.test("a child gets no more permissions than its parent holds, by default or on request", async () => {
  const { code, stdout: text, stderr } = await runScript("permissions_script.ts", {
    flags: ["--allow-read", "--allow-write", "--allow-run", "--allow-net=127.0.0.1"],
  });
  assert.equal(code, 0, stderr);
  assert.match(text, /RangeError: Cannot grant permissions\.net = true/);
  assert.match(text, /RangeError: Cannot grant permissions\.env = "HOME"/);
  assert.match(text, /child holds read=granted write=granted run=granted net=prompt env=prompt/);
});

Deno.test("a worker gets a sandbox of its own where Deno's worker-options feature is on", async () => {
  await using secret = await reportFile();
  const { code, stdout, stderr } = await runScript("worker_sandbox_script.ts", {
    flags: ["-A", "--unstable-worker-options"],
    args: [secret.path],
  });
  assert.equal(code, 0, stderr);
  assert.equal(stdout, "read refused: NotCapable\nenv refused: NotCapable\nexitCode=0\n");
});

Deno.test("a worker sandbox without Deno's worker-options feature is refused before anything starts", () => {
  assert.throws(
    () => new Process({ target: targets.noop, module, permissions: { read: false } }),
    { name: "TypeError", message: /worker-options/ },
  );
});

Deno.test("subprocess options are checked: permission names, values and memoryLimitMb", () => {
  const bad: [unknown, string, RegExp][] = [
    [{ backend, permissions: { disk: true } }, "TypeError", /"disk" is not a permission/],
    [
      { backend, permissions: { read: "yes" } },
      "TypeError",
      /permissions\.read must be true, false or a list/,
    ],
    [{ backend, permissions: [] }, "TypeError", /permissions must be an object/],
    [{ backend, memoryLimitMb: 0 }, "RangeError", /memoryLimitMb must be a positive integer/],
    [{ backend, memoryLimitMb: 1.5 }, "RangeError", /memoryLimitMb must be a positive integer/],
    [{ memoryLimitMb: 64 }, "TypeError", /use backend: "subprocess"/],
    [{ backend: "fork" }, "TypeError", /backend must be "worker" or "subprocess"/],
  ];
  for (const [options, name, message] of bad) {
    assert.throws(() => new Process(options as never), { name, message }, String(message));
  }
});

Deno.test("subprocess children die with their parent, even one killed with SIGKILL", async () => {
  const script = new URL("./testdata/orphan_script.ts", import.meta.url);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script.href],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const pids: number[] = [];
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  // The grandchild's pid is printed by its parent, possibly after "ready".
  while (!(text.includes("ready\n") && pids.length === 4)) {
    const { value, done } = await reader.read();
    assert.ok(!done, `the script ended early: ${text}`);
    text += value;
    pids.splice(0, pids.length, ...[...text.matchAll(/^pid (\d+)$/gm)].map((m) => Number(m[1])));
  }
  child.kill("SIGKILL");
  assert.equal((await child.status).signal, "SIGKILL");
  // Every child inherited the stdout pipe: it ends only when the last of them has exited.
  const timeout = setTimeout(() => pids.forEach((pid) => Deno.kill(pid, "SIGKILL")), 20_000);
  while (!(await reader.read()).done) { /* drain */ }
  clearTimeout(timeout);
  for (const pid of pids) assert.ok(!isRunning(pid), `process ${pid} outlived its parent`);
});

function isRunning(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

Deno.test("a subprocess child resolves imports as its parent does: deno.json import map and npm:", async () => {
  const dir = await Deno.makeTempDir({ prefix: "troupe-config-" });
  try {
    const troupe = new URL("../mod.ts", import.meta.url).href;
    await Deno.mkdir(`${dir}/lib`);
    await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ imports: { "greeting/": "./lib/" } }));
    await Deno.writeTextFile(`${dir}/lib/hello.ts`, 'export const HELLO = "hello from a mapped import";\n');
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      [
        `import { Process } from "${troupe}";`,
        'import { HELLO } from "greeting/hello.ts";',
        'import isNumber from "npm:is-number@7.0.0";',
        "export function greet(): void {",
        "  console.log(`${HELLO}; isNumber(7) is ${isNumber(7)}`);",
        "}",
        "if (import.meta.main) {",
        '  const p = new Process({ target: greet, backend: "subprocess" });',
        "  await p.start();",
        "  await p.join();",
        "  console.log(`exitCode=${p.exitCode}`);",
        "}",
      ].join("\n"),
    );
    const { code, stdout, stderr } = await runProgram("main.ts", { cwd: dir });
    assert.equal(code, 0, stderr);
    assert.equal(stdout, "hello from a mapped import; isNumber(7) is true\nexitCode=0\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
