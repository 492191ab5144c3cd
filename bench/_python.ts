/** Runs one of the benchmark's Python scripts, which prints its samples as JSON. */

/** The samples `script` (next to this file) prints, or undefined when python3 is not here or it failed. */
export async function pythonSamples(script: string, args: string[]): Promise<number[] | undefined> {
  try {
    const { code, stdout } = await new Deno.Command("python3", {
      args: [new URL(script, import.meta.url).pathname, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    return code === 0 ? JSON.parse(new TextDecoder().decode(stdout)) : undefined;
  } catch {
    return undefined; // no python3 here: the row is skipped
  }
}
