/**
 * Reading Linux's `/proc/<pid>/stat` (or a thread's, `/proc/<pid>/task/<tid>/stat`):
 * shared by `processInfo()` and `ps()`.
 *
 * @module
 */

/** Linux's clock ticks per second (`sysconf(_SC_CLK_TCK)`), 100 on every mainstream kernel. */
export const TICKS_PER_SECOND = 100;
/** The page size on x86-64 and most arm64 kernels, for a process whose status has no VmRSS. */
export const PAGE_BYTES = 4096;

/** A stat line's fields, numbered as `man 5 proc` numbers them (1 is the pid, 3 the state). */
export interface StatFields {
  /** The command name, which may hold spaces or parentheses itself. */
  readonly comm: string;
  /** Field `n` (3 or more) as text. */
  text(n: number): string;
  /** Field `n` (3 or more) as a number. */
  number(n: number): number;
}

/** Splits a stat line into its fields. */
export function parseStat(stat: string): StatFields {
  // The command name is in parentheses and may hold spaces or parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
    text: (n) => fields[n - 3] ?? "",
    number: (n) => Number(fields[n - 3]),
  };
}

/** User and system CPU time in seconds, from a stat line. */
export function cpuTimesOf(stat: StatFields): { user: number; system: number } {
  return { user: stat.number(14) / TICKS_PER_SECOND, system: stat.number(15) / TICKS_PER_SECOND };
}
