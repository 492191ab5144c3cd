import assert from "node:assert/strict";
import { denoExecutable, parse } from "../src/runtime/_deno_flags.ts";

Deno.test("parse() passes on a parent's module-resolution flags and nothing else", () => {
  const cases: [string[], string[]][] = [
    [["deno", "run", "-A", "--config", "x.json", "--unstable-kv", "main.ts", "--config", "mine"], [
      "--config=x.json",
      "--unstable-kv",
    ]],
    [["deno", "test", "-A", "--doc", "--import-map=map.json", "--no-lock", "tests/"], [
      "--import-map=map.json",
      "--no-lock",
    ]],
    [["deno", "run", "--allow-read", "--lock", "--node-modules-dir=auto", "-c", "d.json", "m.ts"], [
      "--lock",
      "--node-modules-dir=auto",
      "-c=d.json",
    ]],
    [["deno", "--unstable-worker-options", "main.ts", "--no-lock"], ["--unstable-worker-options"]],
    [["deno", "main.ts", "--config", "user-arg"], []],
    [["deno", "run", "--seed", "3", "--env-file=.env", "--cached-only", "m.ts"], ["--cached-only"]],
    [["deno", "run", "--env-file", "--inspect", "--frozen", "m.ts", "--frozen"], ["--frozen"]],
  ];
  for (const [argv, flags] of cases) assert.deepEqual(parse(argv), flags, argv.join(" "));
});

Deno.test("A compiled program refuses to start a subprocess child rather than run itself again: its executable runs only its own main module", () => {
  assert.equal(denoExecutable("Process-1", false), Deno.execPath());
  assert.throws(() => denoExecutable("Process-1", true), {
    message:
      /^Cannot start Process-1 as a subprocess in a compiled program \(deno compile\).*use backend: "worker" there$/,
  });
});
