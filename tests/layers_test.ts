/**
 * The layout is the design: `src/` holds one folder per layer, and a layer
 * imports only itself and the layers below it, with no import cycle
 * anywhere (type imports and dynamic imports included). This test reads the
 * import graph of `src/` and fails on an import that goes up, on a cycle,
 * and on a file outside the known layers, as std checks its packages.
 */

import assert from "node:assert/strict";

/** The layers of `src/`, lowest first; see docs/architecture.md. */
const LAYERS = [
  "core",
  "wire",
  "memory",
  "channels",
  "runtime",
  "sync",
  "supervision",
  "manager",
  "pool",
  "cluster",
] as const;

/** Files directly in `src/`, above every layer: entry points. */
const TOP = new Set(["testing.ts"]);

const SRC = new URL("../src/", import.meta.url);
const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s*["'](\.{1,2}\/[^"']+)["']|(?:^|[\s;(=])import\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/gm;

/** Every `.ts` file under `src/`, by path relative to it. */
async function sources(dir = SRC, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = prefix + entry.name;
    if (entry.isDirectory) found.push(...await sources(new URL(`${entry.name}/`, dir), `${path}/`));
    else if (entry.name.endsWith(".ts")) found.push(path);
  }
  return found.sort();
}

/** The files of `src/` each file imports (statically, as a type, or dynamically), as paths relative to `src/`. */
async function importGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const file of await sources()) {
    const text = await Deno.readTextFile(new URL(file, SRC));
    const targets = new Set<string>();
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2]!;
      const target = new URL(specifier, new URL(file, SRC)).href;
      if (target.startsWith(SRC.href)) targets.add(target.slice(SRC.href.length));
    }
    graph.set(file, [...targets]);
  }
  return graph;
}

/** The layer of a file: its index in `LAYERS`, or `LAYERS.length` for a top-level entry point. */
function layerOf(file: string): number {
  if (TOP.has(file)) return LAYERS.length;
  return (LAYERS as readonly string[]).indexOf(file.split("/")[0]!);
}

Deno.test("every file of src/ is in a known layer", async () => {
  const strays = (await sources()).filter((file) => layerOf(file) < 0);
  assert.deepEqual(strays, [], "files outside the layers of src/ (add the folder to LAYERS, in its place)");
});

Deno.test("a layer imports only itself and the layers below it", async () => {
  const upward: string[] = [];
  for (const [file, targets] of await importGraph()) {
    for (const target of targets) {
      if (layerOf(target) > layerOf(file)) upward.push(`${file} imports ${target}`);
    }
  }
  assert.deepEqual(upward, []);
});

Deno.test("src/ has no import cycle, type imports included", async () => {
  const graph = await importGraph();
  const state = new Map<string, "visiting" | "done">();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "visiting") {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" → "));
      return;
    }
    state.set(file, "visiting");
    for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});

Deno.test("the layers test sees every kind of import", () => {
  const text = [
    'import { a } from "./a.ts";',
    'import type { B } from "../b.ts";',
    'export { c } from "./c.ts";',
    'import "./d.ts";',
    'const e = await import("./e.ts");',
    "import {\n  f,\n  g,\n} from './f.ts';",
  ].join("\n");
  const found = [...text.matchAll(IMPORT)].map((match) => match[1] ?? match[2]);
  assert.deepEqual(found, ["./a.ts", "../b.ts", "./c.ts", "./d.ts", "./e.ts", "./f.ts"]);
});

Deno.test("only src/cluster imports a dependency: the core has none", async () => {
  const NPM = /(?:from\s*|import\s*\(?\s*)["'](?:npm|jsr|https?):/;
  const offending: string[] = [];
  for (const file of await sources()) {
    if (file.startsWith("cluster/")) continue;
    if (NPM.test(await Deno.readTextFile(new URL(file, SRC)))) offending.push(`src/${file}`);
  }
  if (NPM.test(await Deno.readTextFile(new URL("../mod.ts", import.meta.url)))) offending.push("mod.ts");
  assert.deepEqual(offending, [], "files outside src/cluster that import npm:, jsr: or remote modules");
  // And the check itself sees such an import.
  assert.ok(NPM.test('export { connect } from "npm:@nats-io/transport-node@3.4.0";'));
  assert.ok(await Deno.readTextFile(new URL("cluster/_nats.ts", SRC)).then((text) => NPM.test(text)));
});
