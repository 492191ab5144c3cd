/**
 * The `deno` flags of this program that a subprocess child must share to
 * resolve modules as its parent does (config, import map, lock file,
 * `node_modules` mode, unstable features). Deno has no API for its own flags,
 * so they are read from `/proc/self/cmdline` where that exists. Deno finds a
 * `deno.json` from the main module's directory, and a child's main module is
 * a generated `data:` module, so the parent's config file is found the same
 * way here and passed to the child explicitly.
 *
 * @module
 */

import { grantsEverything, resolvePermissions } from "./_permissions.ts";

/** Flags passed on, with a value given as `--flag=value` or `--flag value`. */
const WITH_VALUE = new Set(["--config", "-c", "--import-map", "--conditions", "--cert"]);
/** Flags passed on as written; a value, if any, is attached with `=`. */
const AS_WRITTEN = new Set([
  "--no-config",
  "--no-lock",
  "--lock",
  "--node-modules-dir",
  "--vendor",
  "--cached-only",
  "--no-remote",
  "--no-npm",
  "--frozen",
  "--frozen-lockfile",
]);
/** Flags not passed on that take a separate value, which must be skipped too. */
const SKIPPED_WITH_VALUE = new Set([
  "--seed",
  "--location",
  "--filter",
  "--reporter",
  "--junit-path",
  "--ext",
  "--preload",
  "--inspect-publish-uid",
  "--coverage-threshold",
]);

let cached: readonly string[] | undefined;

/** This program's module-resolution flags, ready for `deno run`. */
export function inheritedFlags(): readonly string[] {
  if (cached) return cached;
  const flags = parse(commandLine());
  const hasConfig = flags.some((flag) => /^(--config|-c)=|^--no-config$/.test(flag));
  const config = hasConfig ? undefined : discoverConfig();
  return cached = config ? [...flags, `--config=${config}`] : flags;
}

/** The deno.json(c) Deno would use for this program: the nearest one above the main module. */
function discoverConfig(): string | undefined {
  let main: URL;
  try {
    main = new URL(Deno.mainModule);
  } catch {
    return undefined;
  }
  if (main.protocol !== "file:") return undefined;
  const dir = decodeURIComponent(main.pathname.slice(0, main.pathname.lastIndexOf("/"))) || "/";
  return configsAbove(dir).find((file) => {
    if (!mayRead(file)) return false;
    try {
      return Deno.statSync(file).isFile;
    } catch {
      return false;
    }
  });
}

let commandLineRead: readonly string[] | undefined;

/**
 * This program's command line, where the OS shows it (Linux's `/proc`) and
 * Deno lets this program read it, which takes all permissions; else empty:
 * no flag is passed on then.
 */
function commandLine(): readonly string[] {
  if (commandLineRead) return commandLineRead;
  if (!grantsEverything(resolvePermissions())) return commandLineRead = [];
  try {
    const text = Deno.readTextFileSync("/proc/self/cmdline");
    return commandLineRead = text.split("\0").filter((arg) => arg !== "");
  } catch {
    return commandLineRead = [];
  }
}

/** Whether this program may read `path` now: asking would prompt on a terminal. */
function mayRead(path: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "read", path }).state === "granted";
  } catch {
    return false;
  }
}

/** Deno's subcommands that run a script; without one, `deno [flags] script` means `run`. */
const SUBCOMMANDS = new Set(["run", "test", "bench", "serve", "eval", "repl", "jupyter"]);

/** Picks the passed-on flags from `deno [subcommand] [flags] <script> …`. */
export function parse(argv: readonly string[]): string[] {
  const flags: string[] = [];
  for (let i = SUBCOMMANDS.has(argv[1] ?? "") ? 2 : 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("-")) break; // the script: what follows is its own arguments
    const name = arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg;
    if (WITH_VALUE.has(name)) {
      if (name !== arg) flags.push(arg);
      else if (i + 1 < argv.length) flags.push(`${name}=${argv[++i]}`);
    } else if (AS_WRITTEN.has(name) || name.startsWith("--unstable")) {
      flags.push(arg);
    } else if (SKIPPED_WITH_VALUE.has(name) && name === arg) {
      i++;
    }
  }
  return flags;
}

let workerOptions: boolean | undefined;

/**
 * Whether this program may pass `deno.permissions` to a Worker. Without
 * Deno's worker-options feature that option ends the whole program with exit
 * code 70, uncatchably, so troupe must know before it tries.
 */
export function workerOptionsEnabled(): boolean {
  return workerOptions ??= inheritedFlags().some((flag) => flag === "--unstable-worker-options") ||
    configEnablesWorkerOptions();
}

function configEnablesWorkerOptions(): boolean {
  const config = inheritedFlags().find((flag) => flag.startsWith("--config=") || flag.startsWith("-c="));
  if (!config) return false;
  const path = config.slice(config.indexOf("=") + 1);
  if (!mayRead(path)) return false;
  try {
    const text = Deno.readTextFileSync(path);
    // deno.jsonc may hold comments.
    const json = JSON.parse(text.replace(/^\s*\/\/.*$/gm, "").replace(/\/\*[^]*?\*\//g, ""));
    return Array.isArray(json.unstable) && json.unstable.includes("worker-options");
  } catch {
    return false;
  }
}

function configsAbove(dir: string): string[] {
  const found: string[] = [];
  for (let at = dir;; at = at.slice(0, at.lastIndexOf("/")) || "/") {
    found.push(`${at}/deno.json`, `${at}/deno.jsonc`);
    if (at === "/") return found;
  }
}

/** Why a worker sandbox cannot be had, as an error to throw before anything starts. */
export function workerSandboxUnavailable(): TypeError {
  return new TypeError(
    "Cannot give a worker its own permissions as Deno's worker-options feature is off: " +
      'add "unstable": ["worker-options"] to deno.json (or run deno with --unstable-worker-options), ' +
      'or use backend: "subprocess"',
  );
}

/**
 * The `deno` executable a subprocess child runs on. A compiled program
 * (`deno compile`) has none: its own executable runs only its embedded main
 * module, whatever arguments it gets, so `run <child>` would start the whole
 * program again, which would start its children again, and so on.
 */
export function denoExecutable(name: string, standalone: boolean = Deno.build.standalone): string {
  if (typeof Deno.Command !== "function") {
    throw new TypeError(
      `Cannot start ${name} as this runtime cannot run commands (Deno Deploy cannot): ` +
        'use backend: "worker" where Workers exist',
    );
  }
  if (standalone) {
    throw new Error(
      `Cannot start ${name} as a subprocess in a compiled program (deno compile), as its executable runs ` +
        'only its own main module: use backend: "worker" there',
    );
  }
  return Deno.execPath();
}
