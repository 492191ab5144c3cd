// Plays another runtime (Node, Bun): takes `Deno` away, then imports each of
// troupe's entry points and prints what each import says.
const exports: Record<string, string> =
  JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url))).exports;
const root = new URL("../../", import.meta.url);
const print = console.log;
// deno-lint-ignore no-explicit-any
delete (globalThis as any).Deno;
for (const [name, path] of Object.entries(exports)) {
  await import(new URL(path, root).href).then(
    () => print(`${name}: imported`),
    (error) => print(`${name}: ${error.message}`),
  );
}
