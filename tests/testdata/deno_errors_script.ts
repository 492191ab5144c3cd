/**
 * Failures whose message Deno or V8 prints itself, not troupe, so no test can
 * capture it in-process: a child whose module does not exist, a supervised
 * child whose module is gone when it restarts, a subprocess out of memory.
 * Each runs here as a program of its own; the test reads the message from
 * this program's stderr, and what happened from the JSON line on stdout.
 *
 * Usage: `deno_errors_script.ts <scenario> <backend>`.
 */

import { type Backend, Process, ProcessError, Supervisor, SupervisorError } from "../../mod.ts";
import { member } from "./actor_targets.ts";
import * as targets from "./targets.ts";

const PATIENCE_MS = 30_000;

/** `start()` of a child whose module does not exist: how it failed, and the child's exit code. */
async function missingModule(backend: Backend): Promise<unknown> {
  const missing = new URL("./no_such_module.ts", import.meta.url).href;
  const p = new Process({ target: targets.noop, module: missing, backend });
  const started = await p.start().then(
    () => "started",
    (error) => error instanceof ProcessError ? "ProcessError" : `${error}`,
  );
  await p.join(PATIENCE_MS);
  return { started, exitCode: p.exitCode };
}

/** A supervised child whose module is gone when it restarts: the events, and how `done` ended. */
async function moduleGone(backend: Backend): Promise<unknown> {
  // The child's module exists for the first start only.
  const dir = await Deno.makeTempDir({ prefix: "troupe-sup-" });
  const file = `${dir}/member.ts`;
  const module = new URL("./actor_targets.ts", import.meta.url).href;
  await Deno.writeTextFile(file, `export { member } from ${JSON.stringify(module)};\n`);
  try {
    await using sup = new Supervisor({
      intensity: 2,
      periodMs: 60_000,
      children: [{ id: "m", target: member as never, args: ["m"], backend, module: `file://${file}` }],
    });
    const events: string[] = [];
    for (const type of ["restarted", "gave-up"]) {
      sup.addEventListener(
        type,
        (event) => events.push(`${type} ${(event as CustomEvent<{ id: string }>).detail.id}`),
      );
    }
    await sup.start();
    await Deno.remove(dir, { recursive: true });
    sup.ref("m").tell("crash");
    // Restart 1 fails, restart 2 fails, restart 3 is one too many.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = await Promise.race([
      sup.done.then(
        () => "resolved",
        (error) => error instanceof SupervisorError ? "SupervisorError" : String(error),
      ),
      new Promise((resolve) => timer = setTimeout(() => resolve("pending"), PATIENCE_MS)),
    ]);
    clearTimeout(timer);
    return { events, done };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** A subprocess that runs out of memory, and a sibling: how each ended. */
async function outOfMemory(backend: Backend): Promise<unknown> {
  const hungry = new Process({
    target: targets.exhaustMemory,
    module: targets.MODULE,
    backend,
    memoryLimitMb: 32,
  });
  const sibling = new Process({ target: targets.forever, module: targets.MODULE, backend });
  await sibling.start();
  await hungry.start();
  await hungry.join(PATIENCE_MS);
  const siblingAlive = sibling.isAlive();
  sibling.terminate();
  await sibling.join(PATIENCE_MS);
  return { hungryExitCode: hungry.exitCode, siblingAlive, siblingExitCode: sibling.exitCode };
}

const scenarios: Record<string, (backend: Backend) => Promise<unknown>> = {
  missingModule,
  moduleGone,
  outOfMemory,
};

if (import.meta.main) {
  const [scenario = "", backend = "worker"] = Deno.args;
  const run = scenarios[scenario];
  if (!run) throw new Error(`No scenario ${scenario}: one of ${Object.keys(scenarios)}`);
  console.log(JSON.stringify(await run(backend as Backend)));
}
