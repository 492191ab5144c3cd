/**
 * The rules a supervisor follows, apart from the processes it runs: whether
 * a child that ended is restarted, which siblings a strategy stops and
 * restarts with it, when too many restarts make the supervisor give up, how
 * long an opt-in backoff waits, and what a valid set of flags and child specs
 * is. Everything here is pure (the clock and the random source are passed
 * in), so the supervisor's engine does the I/O and the tests here need
 * no timers.
 *
 * The rules are OTP's `supervisor.erl` (`add_restart/1`, `restart/3`,
 * `check_flags/1`, `check_childspec/2`), with millisecond clocks instead of
 * OTP's seconds. The backoff is Akka's `restartWithBackoff`, which OTP has
 * no counterpart for.
 *
 * @module
 */

import { isDuration } from "../core/_duration.ts";

/** How a supervisor answers a child's death, named as in OTP. */
export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one";

/** When a child is restarted, named as in OTP. */
export type RestartType = "permanent" | "transient" | "temporary";

/**
 * How a child ended: "normal" (returned, exit code 0), "shutdown" (stopped by
 * its supervisor), or "crash" (anything else).
 */
export type ExitKind = "normal" | "shutdown" | "crash";

/**
 * How a child is stopped: a number of milliseconds to wait after the graceful
 * stop before killing it (`Infinity` waits for good, as OTP's `infinity`), or
 * `"brutal_kill"` to kill it at once.
 */
export type ShutdownSpec = number | "brutal_kill";

/** What a child's type is: a supervisor child gets an endless shutdown by default. */
export type ChildType = "worker" | "supervisor";

/**
 * When a supervisor stops by itself because significant children ended (OTP
 * 24's `auto_shutdown`): "never" (the default), "any_significant" (when any
 * significant child ends and is not restarted) or "all_significant" (when the
 * last one does).
 */
export type AutoShutdown = "never" | "any_significant" | "all_significant";

/**
 * Every option a supervisor takes, in one table: an option not named here is
 * refused (OTP's `check_flags/1` refuses unknown flags too). Add a new option
 * here and in `SupervisorOptions`.
 */
export const SUPERVISOR_OPTIONS: readonly string[] = [
  "strategy",
  "intensity",
  "periodMs",
  "backoff",
  "autoShutdown",
  "children",
  "name",
  "crashReports",
  "spares",
];

/** Every field a child spec takes, in one table: a field not named here is refused. */
export const CHILD_SPEC_FIELDS: readonly string[] = [
  "id",
  "target",
  "args",
  "restart",
  "significant",
  "shutdownMs",
  "heartbeatMs",
  "type",
  "backend",
  "module",
  "permissions",
  "memoryLimitMb",
];

const STRATEGIES: readonly Strategy[] = ["one_for_one", "one_for_all", "rest_for_one"];
const RESTART_TYPES: readonly RestartType[] = ["permanent", "transient", "temporary"];
const CHILD_TYPES: readonly ChildType[] = ["worker", "supervisor"];
const AUTO_SHUTDOWNS: readonly AutoShutdown[] = ["never", "any_significant", "all_significant"];

/** OTP's `?default_flags`, with the period in milliseconds. */
const DEFAULT_STRATEGY: Strategy = "one_for_one";
const DEFAULT_INTENSITY = 1;
const DEFAULT_PERIOD_MS = 5_000;
/** OTP's default shutdown for a worker; a supervisor child waits for good (see `validateChildSpec`). */
const DEFAULT_WORKER_SHUTDOWN_MS = 5_000;

/**
 * Whether a child that ended this way is restarted. OTP: permanent always
 * (even after a clean exit); transient only on a crash; temporary never.
 */
export function shouldRestart(restart: RestartType, exit: ExitKind): boolean {
  switch (restart) {
    case "permanent":
      return true;
    case "transient":
      return exit === "crash";
    case "temporary":
      return false;
  }
}

/** What the supervisor does after a child died: stop these (in this order), then restart these (in order). */
export interface RestartPlan {
  /** Running siblings to stop, in reverse start order. Never the child that died. */
  stop: string[];
  /** Children to start again, in start order. */
  restart: string[];
}

/**
 * Which children are stopped and restarted when the child `failedId` ended
 * with `exit`. `children` is in start order. one_for_one takes the failed
 * child alone; one_for_all takes every child; rest_for_one takes the failed
 * child and every child started after it. Of those, the others are stopped in
 * reverse start order, then all are restarted in start order, except the
 * temporary ones: OTP stops a temporary sibling but never restarts it.
 *
 * When the failed child itself is not to be restarted (a temporary child, or
 * a transient one that exited cleanly), nothing else happens either, as in
 * OTP: its siblings keep running, and the plan is empty.
 *
 * @throws {RangeError} If no child has the id `failedId`: the engine lost track of its children.
 */
export function planRestart(
  strategy: Strategy,
  children: readonly { readonly id: string; readonly restart: RestartType }[],
  failedId: string,
  exit: ExitKind,
): RestartPlan {
  const failedAt = children.findIndex((child) => child.id === failedId);
  const failed = children[failedAt];
  if (failed === undefined) {
    throw new RangeError(`Supervisor: no child has the id ${show(failedId)}`);
  }
  if (!shouldRestart(failed.restart, exit)) return { stop: [], restart: [] };
  let affected: readonly { readonly id: string; readonly restart: RestartType }[];
  switch (strategy) {
    case "one_for_one":
      affected = [failed];
      break;
    case "one_for_all":
      affected = children;
      break;
    case "rest_for_one":
      affected = children.slice(failedAt);
      break;
  }
  const stop = affected.filter((child) => child !== failed).map((child) => child.id).reverse();
  const restart = affected
    .filter((child) => child === failed || child.restart !== "temporary")
    .map((child) => child.id);
  return { stop, restart };
}

/**
 * Whether the supervisor stops by itself after a child ended this way (OTP
 * 24's `auto_shutdown`): only a significant child that ended on its own and
 * is not restarted counts (a transient child that exited normally, a
 * temporary one however it ended); one the supervisor stopped
 * ("shutdown") never does. With "any_significant" that is enough; with
 * "all_significant" no other significant child may still be alive (running
 * or waiting for a restart).
 */
export function autoShutdownDue(
  mode: AutoShutdown,
  ended: { readonly significant: boolean; readonly restart: RestartType },
  exit: ExitKind,
  others: readonly { readonly significant: boolean; readonly alive: boolean }[],
): boolean {
  if (mode === "never" || !ended.significant || exit === "shutdown") return false;
  if (shouldRestart(ended.restart, exit)) return false;
  return mode === "any_significant" || !others.some((child) => child.significant && child.alive);
}

/**
 * Refuses the fields of `options` that `known` does not name, so a misspelt
 * or unsupported option fails instead of being ignored. `where` names the
 * object in the error ("options", "children[2]").
 *
 * @throws {TypeError} If `options` has a field `known` does not name.
 */
export function refuseUnknown(options: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `Supervisor: ${where} has no field ${show(key)}: use ${known.join(", ")}`,
      );
    }
  }
}

/**
 * OTP's restart intensity: more than `intensity` restarts within `periodMs`
 * and the supervisor gives up. This is OTP's `add_restart/1` exactly, on a
 * millisecond clock instead of a second one: keep the restarts at or after
 * `now - periodMs` (the boundary counts), add this one, and allow it if that
 * makes at most `intensity`. So `intensity` 0 refuses the first restart.
 */
export class RestartIntensity {
  readonly #intensity: number;
  readonly #periodMs: number;
  readonly #now: () => number;
  /** When each restart in the window happened, oldest first. */
  #restarts: number[] = [];

  /**
   * A window with no restarts in it yet.
   *
   * @param intensity How many restarts the window tolerates (OTP's MaxR).
   * @param periodMs How long the window is (OTP's MaxT, in ms).
   * @param now A millisecond clock that never goes back, such as `performance.now`.
   */
  constructor(intensity: number, periodMs: number, now: () => number) {
    this.#intensity = intensity;
    this.#periodMs = periodMs;
    this.#now = now;
  }

  /**
   * Counts a restart now, before it is attempted (as OTP does, so failed
   * retries count too). False if that is one too many: the supervisor must
   * give up. A refused restart stays counted, as in OTP.
   */
  record(): boolean {
    const now = this.#now();
    this.#forgetBefore(now - this.#periodMs);
    this.#restarts.push(now);
    return this.#restarts.length <= this.#intensity;
  }

  /** Restarts counted in the window that ends now. */
  get recent(): number {
    this.#forgetBefore(this.#now() - this.#periodMs);
    return this.#restarts.length;
  }

  #forgetBefore(start: number): void {
    const kept = this.#restarts.findIndex((at) => at >= start);
    this.#restarts = kept < 0 ? [] : this.#restarts.slice(kept);
  }
}

/**
 * Opt-in exponential backoff between restarts, as Akka's
 * `restartWithBackoff` (OTP restarts at once).
 */
export interface BackoffOptions {
  /** The first delay, in ms. */
  minMs: number;
  /** The most the doubling reaches, in ms (`Infinity`: no cap); jitter comes on top (see `Backoff`). */
  maxMs: number;
  /**
   * How much random delay to add, as a fraction of the delay: 0.2 adds up to 20%.
   *
   * @default {0}
   */
  jitter?: number;
  /**
   * How long a child must run without crashing for the delays to start again from `minMs`
   * (`Infinity`: never).
   *
   * @default {(minMs + maxMs) / 2}
   */
  resetAfterMs?: number;
}

/**
 * Delays between the restarts of a child, as Akka's `restartWithBackoff`:
 * attempt n (from 0) waits `min(maxMs, minMs * 2^n) * (1 + jitter * random())`.
 * The jitter is applied after the cap, as in Akka, so a delay can exceed
 * `maxMs` by up to the `jitter` fraction: `maxMs` bounds the doubling, not
 * the delay. Once a child has run for `resetAfterMs` the attempts count from 0
 * again.
 */
export class Backoff {
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #jitter: number;
  readonly #resetAfterMs: number;
  readonly #random: () => number;
  #attempts = 0;

  /**
   * A backoff at its first attempt.
   *
   * @param options The delays; checked as `validateFlags` checks `backoff`.
   * @param random A source of numbers in [0, 1), for the jitter.
   * @throws {TypeError} If an option is not a number.
   * @throws {RangeError} If an option is out of range.
   */
  constructor(options: BackoffOptions, random: () => number = Math.random) {
    const { minMs, maxMs, jitter, resetAfterMs } = validateBackoff(options);
    this.#minMs = minMs;
    this.#maxMs = maxMs;
    this.#jitter = jitter;
    this.#resetAfterMs = resetAfterMs;
    this.#random = random;
  }

  /** Delays handed out since the last reset. */
  get attempts(): number {
    return this.#attempts;
  }

  /** The delay before the next restart, in ms; each call counts one more attempt. */
  next(): number {
    // 2 ** n reaches Infinity past n = 1023, which the cap turns into maxMs.
    const capped = Math.min(this.#maxMs, this.#minMs * 2 ** this.#attempts);
    this.#attempts++;
    return capped * (1 + this.#jitter * this.#random());
  }

  /**
   * Tells it how long a child ran (call when the child exits): a run of at
   * least `resetAfterMs` starts the delays again from `minMs`.
   */
  ran(uptimeMs: number): void {
    if (uptimeMs >= this.#resetAfterMs) this.#attempts = 0;
  }
}

/** A supervisor's flags, checked and with OTP's defaults filled in. */
export interface SupervisorFlags {
  /** Which siblings go down with a failed child. */
  strategy: Strategy;
  /** How many restarts `periodMs` tolerates. */
  intensity: number;
  /** The restart intensity window, in ms (`Infinity`: the supervisor's whole life). */
  periodMs: number;
  /** Delays between restarts, or null to restart at once (OTP's way). */
  backoff: Required<BackoffOptions> | null;
  /** When significant children ending stop the supervisor. */
  autoShutdown: AutoShutdown;
}

/**
 * Checks a supervisor's flags and fills in OTP's defaults: one_for_one,
 * intensity 1, a period of 5000 ms, no backoff, and autoShutdown "never".
 * A field that `SUPERVISOR_OPTIONS` does not name is refused.
 *
 * @throws {TypeError} If a flag has the wrong type, an unknown value, or is no option.
 * @throws {RangeError} If a number is out of range.
 */
export function validateFlags(options: object): SupervisorFlags {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`Supervisor: options must be an object, not ${show(options)}`);
  }
  refuseUnknown(options, SUPERVISOR_OPTIONS, "options");
  const fields = options as Record<string, unknown>;
  const {
    strategy = DEFAULT_STRATEGY,
    intensity = DEFAULT_INTENSITY,
    periodMs = DEFAULT_PERIOD_MS,
    autoShutdown = "never",
  } = fields;
  return {
    strategy: oneOf("strategy", strategy, STRATEGIES),
    intensity: wholeNumber("intensity", intensity),
    periodMs: positiveNumber("periodMs", periodMs, true),
    backoff: fields["backoff"] === undefined || fields["backoff"] === null
      ? null
      : validateBackoff(fields["backoff"]),
    autoShutdown: oneOf("autoShutdown", autoShutdown, AUTO_SHUTDOWNS),
  };
}

/** A child spec's supervision fields, checked and with OTP's defaults filled in. */
export interface CheckedChildSpec {
  /** Unique among the supervisor's children. */
  id: string;
  /** When the child is restarted. */
  restart: RestartType;
  /** How the child is stopped (from the spec's `shutdownMs`). */
  shutdown: ShutdownSpec;
  /** Whether the child is itself a supervisor. */
  type: ChildType;
  /** Whether its ending may stop the supervisor (`autoShutdown`). */
  significant: boolean;
}

/**
 * Checks the supervision fields of the child spec at `where` (such as
 * `"children[2]"`) and fills in OTP's defaults: restart "permanent", type
 * "worker", not significant, and a shutdown of 5000 ms for a worker or
 * `Infinity` for a supervisor (which must have time to stop its own
 * children). The id must be a non-empty string not in `takenIds`; the caller
 * adds it. A significant child may not be permanent (OTP refuses it too: it
 * would never end for good). A field that `CHILD_SPEC_FIELDS` does not name is
 * refused; the other fields (what to run) are the engine's to check.
 *
 * @throws {TypeError} If a field has the wrong type or an unknown value, or the id is taken.
 * @throws {RangeError} If `shutdownMs` is a negative number.
 */
export function validateChildSpec(
  spec: unknown,
  where: string,
  takenIds: ReadonlySet<string>,
): CheckedChildSpec {
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw new TypeError(`Supervisor: ${where} must be a child spec object, not ${show(spec)}`);
  }
  refuseUnknown(spec, CHILD_SPEC_FIELDS, where);
  const fields = spec as Record<string, unknown>;
  const id = fields["id"];
  if (typeof id !== "string" || id === "") {
    throw new TypeError(`Supervisor: ${where}.id must be a non-empty string, not ${show(id)}`);
  }
  if (takenIds.has(id)) {
    throw new TypeError(`Supervisor: ${where}.id ${show(id)} is used twice: child ids must be unique`);
  }
  const restart = oneOf(`${where}.restart`, fields["restart"] ?? "permanent", RESTART_TYPES);
  const type = oneOf(`${where}.type`, fields["type"] ?? "worker", CHILD_TYPES);
  const shutdownMs = fields["shutdownMs"] ?? (type === "supervisor" ? Infinity : DEFAULT_WORKER_SHUTDOWN_MS);
  const shutdown = shutdownMs === "brutal_kill" ? shutdownMs : shutdownOf(`${where}.shutdownMs`, shutdownMs);
  const significant = fields["significant"] ?? false;
  if (typeof significant !== "boolean") {
    throw new TypeError(`Supervisor: ${where}.significant must be a boolean, not ${show(significant)}`);
  }
  if (significant && restart === "permanent") {
    throw new TypeError(
      `Supervisor: ${where} cannot be significant as it is permanent: make it "transient" or "temporary"`,
    );
  }
  return { id, restart, shutdown, type, significant };
}

/** Checks a backoff's options and fills in the defaults; `field` names it in errors. */
function validateBackoff(options: unknown, field = "backoff"): Required<BackoffOptions> {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(
      `Supervisor: ${field} must be null or an object with minMs and maxMs, not ${show(options)}`,
    );
  }
  const fields = options as Record<string, unknown>;
  const minMs = positiveNumber(`${field}.minMs`, fields["minMs"], false);
  const maxMs = positiveNumber(`${field}.maxMs`, fields["maxMs"], true);
  if (maxMs < minMs) {
    throw new RangeError(`Supervisor: ${field}.maxMs must be at least minMs (${minMs}), not ${maxMs}`);
  }
  const jitter = fields["jitter"] ?? 0;
  if (typeof jitter !== "number") {
    throw new TypeError(`Supervisor: ${field}.jitter must be a number from 0 to 1, not ${show(jitter)}`);
  }
  // Akka's bounds for its randomFactor.
  if (!(jitter >= 0 && jitter <= 1)) {
    throw new RangeError(`Supervisor: ${field}.jitter must be a number from 0 to 1, not ${show(jitter)}`);
  }
  // Infinity is allowed: the delays then never start again from minMs.
  const resetAfterMs = positiveNumber(
    `${field}.resetAfterMs`,
    fields["resetAfterMs"] ?? (minMs + maxMs) / 2,
    true,
  );
  return { minMs, maxMs, jitter, resetAfterMs };
}

/** `value` if it is one of `allowed`; otherwise a TypeError that lists them. */
function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if ((allowed as readonly unknown[]).includes(value)) return value as T;
  const names = allowed.map((name) => JSON.stringify(name));
  const listed = `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
  throw new TypeError(`Supervisor: ${field} must be ${listed}, not ${show(value)}`);
}

/** `value` if it is a whole number ≥ 0 (OTP's non_neg_integer). */
function wholeNumber(field: string, value: unknown): number {
  const rule = `Supervisor: ${field} must be a whole number ≥ 0, not ${show(value)}`;
  if (typeof value !== "number") throw new TypeError(rule);
  if (!Number.isInteger(value) || value < 0) throw new RangeError(rule);
  return value;
}

/** `value` if it is a number > 0, finite unless `infinite` allows Infinity; NaN is a TypeError. */
function positiveNumber(field: string, value: unknown, infinite: boolean): number {
  const rule = `Supervisor: ${field} must be a ${infinite ? "" : "finite "}number > 0${
    infinite ? " (or Infinity)" : ""
  }, not ${show(value)}`;
  if (!isDuration(value)) throw new TypeError(rule);
  if (!(value > 0) || (!infinite && value === Infinity)) throw new RangeError(rule);
  return value;
}

/** A shutdown in ms: a number ≥ 0, or Infinity (OTP's integer ≥ 0 or infinity); NaN is a TypeError. */
function shutdownOf(field: string, value: unknown): number {
  const rule = `Supervisor: ${field} must be a number ≥ 0, Infinity or "brutal_kill", not ${show(value)}`;
  if (!isDuration(value)) throw new TypeError(rule);
  if (!(value >= 0)) throw new RangeError(rule);
  return value;
}

/** A value as an error message shows it: strings quoted, objects by kind. */
function show(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "bigint":
      return `${value}n`;
    case "function":
      return "a function";
    case "object":
      return value === null ? "null" : Array.isArray(value) ? "an array" : "an object";
    default:
      return String(value);
  }
}
