/** The cluster benchmark's task: as small as a task gets. */
export function inc(x: number): number {
  return x + 1;
}
