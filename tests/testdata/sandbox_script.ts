// A sandboxed child tries every way out of its sandbox that troupe offers:
// a worker or subprocess grandchild, deeper descendants, spares, a Pool, a
// Supervisor and a Manager started inside it, modules it may not read, and
// spawn requests it forges. Each attacker prints one line
// of what it could do; a start the root refuses prints why.
//
// Usage: sandbox_script.ts <scenario,scenario,…> [<backend of the sandboxed child>] [nothing|no-net]
// Each scenario runs in a sandboxed child of its own, one after the other,
// denied every permission ("nothing", the default) or only net ("no-net").
import { Manager, Pool, Process, type ProcessOptions, Supervisor } from "../../mod.ts";
import { runtime } from "../../src/runtime/_runtime.ts";

export const MODULE: string = import.meta.url;

/** Every permission denied. */
export const NOTHING = {
  read: false,
  write: false,
  net: false,
  env: false,
  run: false,
  ffi: false,
  sys: false,
  import: false,
} as const;

/**
 * Reads /etc/hostname, writes a temp file, runs `id`, reads HOME and
 * connects to a local port, and prints what each attempt gave.
 * Self-contained (no imports, no helpers): it also travels as the source
 * of a `data:` module.
 */
export async function attack(where: string): Promise<string> {
  const attempts: [string, () => Promise<unknown>][] = [
    ["read", () => Deno.readTextFile("/etc/hostname")],
    ["write", async () => await Deno.remove(await Deno.makeTempFile({ prefix: "troupe-escape-" }))],
    ["run", () => new Deno.Command("id").output()],
    ["env", () => Promise.resolve().then(() => Deno.env.get("HOME"))],
    ["net", async () => (await Deno.connect({ hostname: "127.0.0.1", port: 1 })).close()],
  ];
  const seen: string[] = [];
  for (const [what, attempt] of attempts) {
    try {
      await attempt();
      seen.push(`${what}=allowed`);
    } catch (error) {
      seen.push(`${what}=${(error as Error).name}`);
    }
  }
  const line = `attack ${where}: ${seen.join(" ")}`;
  console.log(line);
  return line;
}

/** A Manager type whose only method is the attack, made in the manager's process. */
export function attacker(): { attack(where: string): Promise<string> } {
  return {
    async attack(where: string): Promise<string> {
      const attempts: [string, () => Promise<unknown>][] = [
        ["read", () => Deno.readTextFile("/etc/hostname")],
        ["write", async () => await Deno.remove(await Deno.makeTempFile({ prefix: "troupe-escape-" }))],
        ["run", () => new Deno.Command("id").output()],
        ["env", () => Promise.resolve().then(() => Deno.env.get("HOME"))],
        ["net", async () => (await Deno.connect({ hostname: "127.0.0.1", port: 1 })).close()],
      ];
      const seen: string[] = [];
      for (const [what, attempt] of attempts) {
        try {
          await attempt();
          seen.push(`${what}=allowed`);
        } catch (error) {
          seen.push(`${what}=${(error as Error).name}`);
        }
      }
      return `attack ${where}: ${seen.join(" ")}`;
    },
  };
}

/** Whether V8's natives syntax works here (it must not: it reaches V8's internals). */
export function natives(where: string): void {
  let outcome = "allowed";
  try {
    (0, eval)("%IsSmi(1)");
  } catch (error) {
    outcome = (error as Error).name;
  }
  console.log(`natives ${where}: ${outcome}`);
}

export function double(x: number): number {
  return 2 * x;
}

/** The attack as a `data:` module, as an attacker would write it (no file to read). */
function dataModule(...functions: ((...args: never[]) => unknown)[]): string {
  const source = functions.map((fn) => `export ${fn.toString()}`).join("\n");
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

/** An error's message and its causes' ("Pool broke: …" has the refusal as its cause). */
function explain(error: unknown): string {
  const messages: string[] = [];
  for (let e = error; e instanceof Error; e = e.cause) messages.push(`${e.name}: ${e.message}`);
  return messages.join(" <- ");
}

/** Starts one attacker and waits for it; prints why if it cannot start. */
async function launch<A extends unknown[]>(where: string, options: ProcessOptions<A>): Promise<void> {
  try {
    const p = new Process(options);
    await p.start();
    await p.join();
  } catch (error) {
    console.log(`refused ${where}: ${explain(error)}`);
  }
}

/** Every permission granted: what a child claims when it forges its request. */
const EVERYTHING = {
  read: true,
  write: true,
  net: true,
  env: true,
  run: true,
  ffi: true,
  sys: true,
  import: true,
};

/** Rewrites every spawn request this child sends, as a compromised child could. */
function forge(host: Record<string, unknown>): void {
  const launchAsIs = runtime.launch.bind(runtime);
  runtime.launch = (spec, listener) => launchAsIs({ ...spec, host: { ...spec.host, ...host } }, listener);
}

/**
 * A target that imports the JSON file at `path` with a literal `import()`,
 * and the `data:` module that exports it: in a module the root loads for a
 * child, Deno would read that file without checking permissions.
 */
function stealer(path: string): { target: () => Promise<void>; module: string } {
  const source = `async function steal() {
    const stolen = await import(${
    JSON.stringify(new URL(`file://${path}`).href)
  }, { with: { type: "json" } });
    console.log("stole " + JSON.stringify(stolen.default));
  }`;
  return {
    target: (0, eval)(`(${source})`),
    module: `data:text/javascript,${encodeURIComponent(`export ${source}`)}`,
  };
}

/** What runs inside the sandbox; `secret` is a JSON file it may not read. */
export async function inSandbox(scenario: string, depth = 0, secret = ""): Promise<void> {
  const where = `${scenario} at depth ${depth}`;
  switch (scenario) {
    case "worker":
      await launch(where, { target: attack, args: [where], module: MODULE });
      break;
    case "worker-data":
      await launch(where, { target: attack, args: [where], module: dataModule(attack) });
      break;
    case "subprocess-data":
      await launch(where, {
        target: attack,
        args: [where],
        module: dataModule(attack),
        backend: "subprocess",
      });
      break;
    case "steal-worker":
    case "steal-subprocess": {
      const backend = scenario === "steal-worker" ? "worker" : "subprocess";
      await launch(where, { ...stealer(secret), backend });
      break;
    }
    case "subprocess":
      await launch(where, { target: attack, args: [where], module: MODULE, backend: "subprocess" });
      break;
    case "spare-worker":
    case "spare-subprocess": {
      // The root holds spares of both backends; neither may serve a sandbox.
      const backend = scenario === "spare-worker" ? "worker" : "subprocess";
      await launch(where, { target: attack, args: [where], module: MODULE, backend });
      break;
    }
    case "forged-v8":
      // A memory limit that carries a V8 flag: natives syntax, for the grandchild's eval.
      forge({ memoryLimitMb: "64,--allow-natives-syntax" });
      await launch(where, { target: natives, args: [where], module: MODULE, backend: "subprocess" });
      break;
    case "forged-all":
    case "forged-shape":
      // The request claims no sandbox and all permissions, or permissions that are no permission set.
      forge({ sandboxed: false, permissions: scenario === "forged-all" ? EVERYTHING : { read: "yes" } });
      await launch(where, { target: attack, args: [where], module: MODULE });
      await launch(where, { target: attack, args: [where], module: MODULE, backend: "subprocess" });
      break;
    case "deeper-subprocess":
    case "deeper-worker": {
      // A child of the sandbox, which starts the attacker: one more level down.
      const backend = scenario === "deeper-worker" ? "worker" : "subprocess";
      await launch(where, { target: inSandbox, args: ["worker", depth + 1], module: MODULE, backend });
      break;
    }
    case "pool-worker":
    case "pool-subprocess": {
      const backend = scenario === "pool-worker" ? "worker" : "subprocess";
      try {
        await using pool = new Pool({ processes: 1, module: MODULE, backend });
        console.log(`pool map ${backend}: ${JSON.stringify(await pool.map(double, [1, 2, 3]))}`);
        await pool.apply(attack, [where]);
      } catch (error) {
        console.log(`refused ${where}: ${explain(error)}`);
      }
      break;
    }
    case "supervisor": {
      const sup = new Supervisor({
        children: [{ id: "attacker", target: attack, args: [where], module: MODULE, restart: "temporary" }],
        spares: false,
      });
      const exited = new Promise((resolve) => sup.addEventListener("exited", resolve, { once: true }));
      try {
        await sup.start();
        await exited;
      } catch (error) {
        console.log(`refused ${where}: ${explain(error)}`);
      }
      await sup.stop();
      break;
    }
    case "manager": {
      try {
        await using manager = new Manager();
        manager.register("Attacker", attacker, { module: dataModule(attacker), exposed: ["attack"] });
        await manager.start();
        const proxy = await manager.create("Attacker");
        console.log(await proxy.call("attack", [where]));
      } catch (error) {
        console.log(`refused ${where}: ${explain(error)}`);
      }
      break;
    }
    default:
      throw new Error(`no scenario ${scenario}`);
  }
}

if (import.meta.main) {
  const [scenarios = "worker", backend = "subprocess", sandbox = "nothing"] = Deno.args;
  const secret = await Deno.makeTempFile({ prefix: "troupe-secret-", suffix: ".json" });
  await Deno.writeTextFile(secret, JSON.stringify({ secret: "only the program may read this" }));
  for (const scenario of scenarios.split(",")) {
    if (scenario.startsWith("spare-")) {
      await runtime.hosting!.prestart(scenario === "spare-worker" ? "worker" : "subprocess", 1);
    }
    const p = new Process({
      target: inSandbox,
      args: [scenario, 0, secret],
      module: MODULE,
      backend: backend as "worker" | "subprocess",
      permissions: sandbox === "no-net" ? { net: false } : NOTHING,
    });
    await p.start();
    await p.join();
    if (scenario.startsWith("spare-") && runtime.hosting!.spares === 0) {
      console.log(`a spare served ${scenario}`);
    }
    runtime.hosting!.releaseSpares();
    console.log(`sandbox ${scenario} exited with ${p.exitCode}`);
  }
  await Deno.remove(secret);
}
