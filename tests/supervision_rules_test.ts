import assert from "node:assert/strict";
import {
  autoShutdownDue,
  Backoff,
  CHILD_SPEC_FIELDS,
  type ExitKind,
  planRestart,
  RestartIntensity,
  type RestartType,
  shouldRestart,
  type Strategy,
  SUPERVISOR_OPTIONS,
  validateChildSpec,
  validateFlags,
} from "../src/supervision/_supervision_rules.ts";

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

/** A random source that returns the given numbers in turn, then repeats the last. */
function fakeRandom(...values: number[]): () => number {
  let index = 0;
  return () => values[Math.min(index++, values.length - 1)]!;
}

Deno.test("shouldRestart() follows OTP for every restart type and exit", () => {
  const table: [RestartType, ExitKind, boolean][] = [
    ["permanent", "normal", true],
    ["permanent", "shutdown", true],
    ["permanent", "crash", true],
    ["transient", "normal", false],
    ["transient", "shutdown", false],
    ["transient", "crash", true],
    ["temporary", "normal", false],
    ["temporary", "shutdown", false],
    ["temporary", "crash", false],
  ];
  for (const [restart, exit, expected] of table) {
    assert.equal(shouldRestart(restart, exit), expected, `${restart} after ${exit}`);
  }
});

const permanentFour = ["a", "b", "c", "d"].map((id) => ({ id, restart: "permanent" as RestartType }));

Deno.test("planRestart() stops and restarts the children each strategy takes", () => {
  const table: [Strategy, string, { stop: string[]; restart: string[] }][] = [
    ["one_for_one", "a", { stop: [], restart: ["a"] }],
    ["one_for_one", "b", { stop: [], restart: ["b"] }],
    ["one_for_one", "d", { stop: [], restart: ["d"] }],
    ["one_for_all", "a", { stop: ["d", "c", "b"], restart: ["a", "b", "c", "d"] }],
    ["one_for_all", "b", { stop: ["d", "c", "a"], restart: ["a", "b", "c", "d"] }],
    ["one_for_all", "d", { stop: ["c", "b", "a"], restart: ["a", "b", "c", "d"] }],
    ["rest_for_one", "a", { stop: ["d", "c", "b"], restart: ["a", "b", "c", "d"] }],
    ["rest_for_one", "b", { stop: ["d", "c"], restart: ["b", "c", "d"] }],
    ["rest_for_one", "d", { stop: [], restart: ["d"] }],
  ];
  for (const [strategy, failed, expected] of table) {
    assert.deepEqual(
      planRestart(strategy, permanentFour, failed, "crash"),
      expected,
      `${strategy}, ${failed}`,
    );
  }
});

Deno.test("planRestart() stops temporary siblings but never restarts them", () => {
  const children = [
    { id: "a", restart: "permanent" as const },
    { id: "t1", restart: "temporary" as const },
    { id: "b", restart: "transient" as const },
    { id: "t2", restart: "temporary" as const },
  ];
  const table: [Strategy, string, { stop: string[]; restart: string[] }][] = [
    ["one_for_one", "b", { stop: [], restart: ["b"] }],
    ["one_for_all", "a", { stop: ["t2", "b", "t1"], restart: ["a", "b"] }],
    ["one_for_all", "b", { stop: ["t2", "t1", "a"], restart: ["a", "b"] }],
    ["rest_for_one", "a", { stop: ["t2", "b", "t1"], restart: ["a", "b"] }],
    ["rest_for_one", "b", { stop: ["t2"], restart: ["b"] }],
  ];
  for (const [strategy, failed, expected] of table) {
    assert.deepEqual(planRestart(strategy, children, failed, "crash"), expected, `${strategy}, ${failed}`);
  }
});

Deno.test("planRestart() does nothing when the failed child is not restarted", () => {
  const children = [
    { id: "a", restart: "permanent" as const },
    { id: "tr", restart: "transient" as const },
    { id: "te", restart: "temporary" as const },
    { id: "z", restart: "permanent" as const },
  ];
  const table: [string, ExitKind][] = [["tr", "normal"], ["tr", "shutdown"], ["te", "crash"], [
    "te",
    "normal",
  ]];
  for (const strategy of ["one_for_one", "one_for_all", "rest_for_one"] as const) {
    for (const [failed, exit] of table) {
      assert.deepEqual(
        planRestart(strategy, children, failed, exit),
        { stop: [], restart: [] },
        `${strategy}, ${failed} after ${exit}`,
      );
    }
  }
});

Deno.test("planRestart() restarts a permanent child that exited normally, with its siblings", () => {
  assert.deepEqual(planRestart("rest_for_one", permanentFour, "c", "normal"), {
    stop: ["d"],
    restart: ["c", "d"],
  });
  assert.deepEqual(planRestart("one_for_one", permanentFour, "a", "shutdown"), { stop: [], restart: ["a"] });
});

Deno.test("planRestart() rejects an unknown child id", () => {
  assert.throws(() => planRestart("one_for_one", permanentFour, "x", "crash"), {
    name: "RangeError",
    message: /no child has the id "x"/,
  });
});

Deno.test("RestartIntensity allows intensity restarts in the period and refuses the next", () => {
  const clock = fakeClock();
  const intensity = new RestartIntensity(3, 5_000, clock.now);
  assert.equal(intensity.recent, 0);
  for (let i = 0; i < 3; i++) {
    assert.equal(intensity.record(), true, `restart ${i + 1}`);
    clock.advance(1_000);
  }
  assert.equal(intensity.recent, 3);
  assert.equal(intensity.record(), false, "the fourth restart within 5 s");
});

Deno.test("RestartIntensity counts a restart exactly at now - period, and forgets older ones", () => {
  const clock = fakeClock();
  const intensity = new RestartIntensity(3, 5_000, clock.now);
  // Restarts at t = 0, 1000, 2000.
  for (let i = 0; i < 3; i++) {
    assert.equal(intensity.record(), true);
    clock.advance(1_000);
  }
  // t = 5000: the restart at 0 is exactly at the window's start, so it still counts.
  clock.advance(2_000);
  assert.equal(intensity.recent, 3);
  assert.equal(intensity.record(), false, "four restarts in [0, 5000]");
  // t = 6001: 0 and 1000 have slid out; 2000 and 5000 remain.
  clock.advance(1_001);
  assert.equal(intensity.recent, 2);
  assert.equal(intensity.record(), true);
  assert.equal(intensity.recent, 3);
});

Deno.test("RestartIntensity allows again once the window has slid past a burst", () => {
  const clock = fakeClock();
  const intensity = new RestartIntensity(2, 5_000, clock.now);
  assert.equal(intensity.record(), true);
  assert.equal(intensity.record(), true);
  clock.advance(5_001);
  assert.equal(intensity.recent, 0);
  assert.equal(intensity.record(), true);
  assert.equal(intensity.record(), true);
  assert.equal(intensity.record(), false);
});

Deno.test("RestartIntensity with intensity 0 refuses the first restart", () => {
  const intensity = new RestartIntensity(0, 5_000, fakeClock().now);
  assert.equal(intensity.record(), false);
});

Deno.test("Backoff doubles from minMs and stops doubling at maxMs", () => {
  const backoff = new Backoff({ minMs: 3_000, maxMs: 30_000 }, fakeRandom(0.5));
  const delays = Array.from({ length: 7 }, () => backoff.next());
  assert.deepEqual(delays, [3_000, 6_000, 12_000, 24_000, 30_000, 30_000, 30_000]);
  assert.equal(backoff.attempts, 7);
});

Deno.test("Backoff stays at maxMs after very many attempts", () => {
  const backoff = new Backoff({ minMs: 1, maxMs: 10 });
  for (let i = 0; i < 1_100; i++) backoff.next();
  assert.equal(backoff.next(), 10);
});

Deno.test("Backoff adds jitter after the cap, so a delay can exceed maxMs", () => {
  const table: [number, number, number][] = [
    // [attempt, random(), expected delay] with minMs 100, maxMs 1000, jitter 0.2
    [0, 0, 100],
    [1, 0.5, 220],
    [2, 0.999, 400 * (1 + 0.2 * 0.999)],
    [4, 0.5, 1_100],
  ];
  for (const [attempt, random, expected] of table) {
    const backoff = new Backoff({ minMs: 100, maxMs: 1_000, jitter: 0.2 }, fakeRandom(random));
    for (let i = 0; i < attempt; i++) backoff.next();
    assert.ok(Math.abs(backoff.next() - expected) < 1e-9, `attempt ${attempt}, random ${random}`);
  }
  // Every delay lies in [base, base * (1 + jitter)).
  const backoff = new Backoff({ minMs: 100, maxMs: 1_000, jitter: 0.5 });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = Math.min(1_000, 100 * 2 ** attempt);
    const delay = backoff.next();
    assert.ok(delay >= base && delay < base * 1.5, `attempt ${attempt}: ${delay}`);
  }
});

Deno.test("Backoff starts again from minMs after a run of resetAfterMs", () => {
  // The default reset is (minMs + maxMs) / 2 = 550 ms.
  const backoff = new Backoff({ minMs: 100, maxMs: 1_000 });
  assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [100, 200, 400]);
  backoff.ran(549);
  assert.equal(backoff.next(), 800);
  backoff.ran(550);
  assert.equal(backoff.attempts, 0);
  assert.equal(backoff.next(), 100);

  const custom = new Backoff({ minMs: 100, maxMs: 1_000, resetAfterMs: 50 });
  custom.next();
  custom.next();
  custom.ran(50);
  assert.equal(custom.next(), 100);
});

Deno.test("validateFlags() fills in OTP's defaults", () => {
  assert.deepEqual(validateFlags({}), {
    strategy: "one_for_one",
    intensity: 1,
    periodMs: 5_000,
    backoff: null,
    autoShutdown: "never",
  });
  assert.deepEqual(validateFlags({ backoff: null, intensity: undefined }), {
    strategy: "one_for_one",
    intensity: 1,
    periodMs: 5_000,
    backoff: null,
    autoShutdown: "never",
  });
  assert.deepEqual(
    validateFlags({
      strategy: "rest_for_one",
      intensity: 0,
      periodMs: 250,
      backoff: { minMs: 10, maxMs: 90 },
      autoShutdown: "all_significant",
    }),
    {
      strategy: "rest_for_one",
      intensity: 0,
      periodMs: 250,
      backoff: { minMs: 10, maxMs: 90, jitter: 0, resetAfterMs: 50 },
      autoShutdown: "all_significant",
    },
  );
});

Deno.test("validateFlags() names the field and what is allowed", () => {
  const table: [Parameters<typeof validateFlags>[0], "TypeError" | "RangeError", RegExp][] = [
    [
      { strategy: "one_for_some" },
      "TypeError",
      /^Supervisor: strategy must be "one_for_one", "one_for_all" or "rest_for_one", not "one_for_some"$/,
    ],
    [{ strategy: 1 }, "TypeError", /^Supervisor: strategy must be .*, not 1$/],
    [{ intensity: -1 }, "RangeError", /^Supervisor: intensity must be a whole number ≥ 0, not -1$/],
    [{ intensity: 1.5 }, "RangeError", /^Supervisor: intensity must be a whole number ≥ 0, not 1\.5$/],
    [{ intensity: NaN }, "RangeError", /^Supervisor: intensity must be .*, not NaN$/],
    [{ intensity: "3" }, "TypeError", /^Supervisor: intensity must be a whole number ≥ 0, not "3"$/],
    [{ intensity: null }, "TypeError", /^Supervisor: intensity .*, not null$/],
    [{ periodMs: 0 }, "RangeError", /^Supervisor: periodMs must be a number > 0 \(or Infinity\), not 0$/],
    [{ periodMs: NaN }, "TypeError", /^Supervisor: periodMs .*, not NaN$/],
    [{ periodMs: "5s" }, "TypeError", /^Supervisor: periodMs .*, not "5s"$/],
    [{ backoff: 100 }, "TypeError", /^Supervisor: backoff must be null or an object .*, not 100$/],
    [{ backoff: { maxMs: 10 } }, "TypeError", /^Supervisor: backoff\.minMs .*, not undefined$/],
    [{ backoff: { minMs: 0, maxMs: 10 } }, "RangeError", /^Supervisor: backoff\.minMs .*, not 0$/],
    [
      { backoff: { minMs: 10, maxMs: 5 } },
      "RangeError",
      /^Supervisor: backoff\.maxMs must be at least minMs/,
    ],
    [
      { backoff: { minMs: 1, maxMs: 5, jitter: 2 } },
      "RangeError",
      /^Supervisor: backoff\.jitter .* 0 to 1, not 2$/,
    ],
    [{ backoff: { minMs: 1, maxMs: 5, jitter: "x" } }, "TypeError", /^Supervisor: backoff\.jitter/],
    [
      { backoff: { minMs: 1, maxMs: 5, resetAfterMs: -1 } },
      "RangeError",
      /^Supervisor: backoff\.resetAfterMs/,
    ],
    [
      { autoShutdown: "any" },
      "TypeError",
      /^Supervisor: autoShutdown must be "never", "any_significant" or "all_significant", not "any"$/,
    ],
    [
      { auto_shutdown: "any_significant" },
      "TypeError",
      /^Supervisor: options has no field "auto_shutdown": use strategy, intensity, periodMs, backoff, autoShutdown, /,
    ],
    [{ maxRestarts: 3 }, "TypeError", /^Supervisor: options has no field "maxRestarts": use /],
  ];
  for (const [options, name, message] of table) {
    assert.throws(() => validateFlags(options), { name, message }, JSON.stringify(options));
  }
});

Deno.test("Backoff's constructor checks its options", () => {
  assert.throws(() => new Backoff({ minMs: -5, maxMs: 10 }), {
    name: "RangeError",
    message: /backoff\.minMs/,
  });
});

Deno.test("validateChildSpec() fills in OTP's defaults", () => {
  const taken = new Set<string>();
  assert.deepEqual(validateChildSpec({ id: "w", target: "ignored" }, "children[0]", taken), {
    id: "w",
    restart: "permanent",
    shutdown: 5_000,
    type: "worker",
    significant: false,
  });
  assert.deepEqual(validateChildSpec({ id: "s", type: "supervisor" }, "children[1]", taken), {
    id: "s",
    restart: "permanent",
    shutdown: Infinity,
    type: "supervisor",
    significant: false,
  });
  for (const restart of ["transient", "temporary"]) {
    assert.equal(validateChildSpec({ id: "x", restart, significant: true }, "c", taken).significant, true);
  }
  const table: [Record<string, unknown>, unknown][] = [
    [{ shutdownMs: 0 }, 0],
    [{ shutdownMs: 250 }, 250],
    [{ shutdownMs: Infinity }, Infinity],
    [{ shutdownMs: "brutal_kill" }, "brutal_kill"],
    [{ shutdownMs: "brutal_kill", type: "supervisor" }, "brutal_kill"],
  ];
  for (const [fields, shutdown] of table) {
    assert.equal(validateChildSpec({ id: "x", ...fields }, "children[0]", taken).shutdown, shutdown);
  }
  assert.equal(
    validateChildSpec({ id: "x", restart: "transient" }, "children[0]", taken).restart,
    "transient",
  );
});

Deno.test("validateChildSpec() names the field and what is allowed", () => {
  const taken = new Set(["cache"]);
  const table: [unknown, "TypeError" | "RangeError", RegExp][] = [
    [null, "TypeError", /^Supervisor: children\[1\] must be a child spec object, not null$/],
    [[], "TypeError", /^Supervisor: children\[1\] must be .*, not an array$/],
    [{}, "TypeError", /^Supervisor: children\[1\]\.id must be a non-empty string, not undefined$/],
    [{ id: "" }, "TypeError", /^Supervisor: children\[1\]\.id must be a non-empty string, not ""$/],
    [{ id: 7 }, "TypeError", /^Supervisor: children\[1\]\.id .*, not 7$/],
    [
      { id: "cache" },
      "TypeError",
      /^Supervisor: children\[1\]\.id "cache" is used twice: child ids must be unique$/,
    ],
    [
      { id: "x", restart: "sometimes" },
      "TypeError",
      /^Supervisor: children\[1\]\.restart must be "permanent", "transient" or "temporary", not "sometimes"$/,
    ],
    [
      { id: "x", type: "actor" },
      "TypeError",
      /^Supervisor: children\[1\]\.type must be "worker" or "supervisor", not "actor"$/,
    ],
    [
      { id: "x", shutdownMs: -1 },
      "RangeError",
      /^Supervisor: children\[1\]\.shutdownMs must be a number ≥ 0, Infinity or "brutal_kill", not -1$/,
    ],
    [{ id: "x", shutdownMs: NaN }, "TypeError", /^Supervisor: children\[1\]\.shutdownMs .*, not NaN$/],
    [{ id: "x", shutdownMs: "kill" }, "TypeError", /^Supervisor: children\[1\]\.shutdownMs .*, not "kill"$/],
    [
      { id: "x", significant: true },
      "TypeError",
      /^Supervisor: children\[1\] cannot be significant as it is permanent: make it "transient" or "temporary"$/,
    ],
    [
      { id: "x", restart: "transient", significant: "yes" },
      "TypeError",
      /^Supervisor: children\[1\]\.significant must be a boolean, not "yes"$/,
    ],
    [
      { id: "x", shutdown: 100 },
      "TypeError",
      /^Supervisor: children\[1\] has no field "shutdown": use id, target, args, restart, significant, shutdownMs, /,
    ],
  ];
  for (const [spec, name, message] of table) {
    assert.throws(() => validateChildSpec(spec, "children[1]", taken), { name, message }, String(message));
  }
});

Deno.test("every option and child spec field named in the tables is accepted", () => {
  const options = Object.fromEntries(SUPERVISOR_OPTIONS.map((name) => [name, undefined]));
  assert.equal(validateFlags(options).strategy, "one_for_one");
  const spec = Object.fromEntries(CHILD_SPEC_FIELDS.map((name) => [name, undefined]));
  assert.equal(validateChildSpec({ ...spec, id: "x" }, "children[0]", new Set()).id, "x");
});

Deno.test("autoShutdownDue() follows OTP's auto_shutdown", () => {
  const transient = { significant: true, restart: "transient" as const };
  const temporary = { significant: true, restart: "temporary" as const };
  const alive = { significant: true, alive: true };
  const ended = { significant: true, alive: false };
  const plain = { significant: false, alive: true };
  const table: [Parameters<typeof autoShutdownDue>, boolean][] = [
    // "never" never does, and an insignificant child never counts.
    [["never", transient, "normal", []], false],
    [["any_significant", { significant: false, restart: "transient" }, "normal", []], false],
    // A significant child that ends on its own and is not restarted.
    [["any_significant", transient, "normal", [alive]], true],
    [["any_significant", temporary, "crash", [alive]], true],
    [["any_significant", temporary, "normal", []], true],
    // One that is restarted (a transient child's crash), or that the supervisor stopped, does not.
    [["any_significant", transient, "crash", []], false],
    [["any_significant", transient, "shutdown", []], false],
    [["any_significant", temporary, "shutdown", []], false],
    // all_significant waits for the last significant child; the others do not count.
    [["all_significant", transient, "normal", [alive, plain]], false],
    [["all_significant", transient, "normal", [ended, plain]], true],
    [["all_significant", temporary, "crash", []], true],
  ];
  for (const [args, expected] of table) {
    assert.equal(autoShutdownDue(...args), expected, JSON.stringify(args));
  }
});
