/**
 * The `deno` flags of this program that a subprocess child must share to
 * resolve modules as its parent does (config, import map, lock file,
 * `node_modules` mode, unstable features). Deno has no API for its own flags,
 * so they are read from `/proc/self/cmdline` where that exists; elsewhere the
 * child falls back to Deno's own discovery of `deno.json` from the working
 * directory, which it shares with the parent.
 *
 * @module
 */

/** Flags passed on with their value, as `--flag=value` or `--flag value`. */
const WITH_VALUE = new Set([
  "--config",
  "-c",
  "--import-map",
  "--lock",
  "--node-modules-dir",
  "--conditions",
]);
/** Flags passed on alone. */
const ALONE = new Set([
  "--no-config",
  "--no-lock",
  "--vendor",
  "--cached-only",
  "--no-remote",
  "--no-npm",
  "--frozen",
]);
/** Flags of `deno run`/`test`/`bench` that take a separate value but are not passed on. */
const SKIPPED_WITH_VALUE = new Set([
  "--env-file",
  "--inspect",
  "--seed",
  "--filter",
  "--reporter",
  "--location",
]);

let cached: readonly string[] | undefined;

/** This program's module-resolution flags, ready for `deno run`. */
export function inheritedFlags(): readonly string[] {
  return cached ??= parse(readCommandLine());
}

function readCommandLine(): string[] {
  try {
    return Deno.readTextFileSync("/proc/self/cmdline").split("\0").filter((arg) => arg !== "");
  } catch {
    return [];
  }
}

/** Picks the passed-on flags from `deno <subcommand> [flags] <script> …`. */
export function parse(argv: readonly string[]): string[] {
  const flags: string[] = [];
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("-")) break; // the script: what follows is its own arguments
    const [name, value] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg] : [arg, undefined];
    if (WITH_VALUE.has(name)) {
      if (value !== undefined) flags.push(value);
      else if (name === "--lock" || name === "--node-modules-dir") flags.push(arg);
      else if (i + 1 < argv.length) flags.push(`${name}=${argv[++i]}`);
    } else if (ALONE.has(name) || name.startsWith("--unstable")) {
      flags.push(arg);
    } else if (SKIPPED_WITH_VALUE.has(name) && value === undefined) {
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
  const explicit = inheritedFlags().find((flag) => flag.startsWith("--config=") || flag.startsWith("-c="));
  const candidates = explicit ? [explicit.slice(explicit.indexOf("=") + 1)] : configsAbove(Deno.cwd());
  for (const file of candidates) {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      continue;
    }
    try {
      // deno.jsonc may hold comments; strip whole-line and trailing ones.
      const json = JSON.parse(text.replace(/^\s*\/\/.*$/gm, "").replace(/\/\*[^]*?\*\//g, ""));
      return Array.isArray(json.unstable) && json.unstable.includes("worker-options");
    } catch {
      return false;
    }
  }
  return false;
}

function configsAbove(dir: string): string[] {
  const found: string[] = [];
  for (let at = dir;; at = at.slice(0, at.lastIndexOf("/")) || "/") {
    found.push(`${at}/deno.json`, `${at}/deno.jsonc`);
    if (at === "/") return found;
  }
}
