// Targets of tests/channel_security_test.ts.

export const MODULE: string = import.meta.url;

/** Holds what it is given (a Manager's proxy: its authkey travels with it) until it is stopped. */
export function holdForever(_held: unknown): Promise<void> {
  return new Promise(() => setInterval(() => {}, 1000));
}

/** Reports everything its stdin gives, read to the end twice: the channel key must not be there. */
export async function readAllStdin(path: string): Promise<void> {
  const first = await new Response(Deno.stdin.readable).text();
  const again = Deno.stdin.readSync(new Uint8Array(16));
  await Deno.writeTextFile(path, JSON.stringify({ first, again }));
}
