/**
 * Errors across a process boundary, one encoding for every path. Structured
 * clone keeps built-in errors but turns a custom subclass into a plain
 * `Error`, an `AggregateError` into an `Error` without its `errors`, and
 * drops own fields, so an error crosses as what this module says it keeps:
 * its class name, message, stack, cause, `errors`, and own enumerable fields
 * (`code`, `details`, …). A field or cause that cannot cross crosses as its
 * text. `EncodedError` is that record for the platform's structured clone
 * (protocol messages, pool outcomes); `_codec.ts` writes the same parts with
 * the same rules (`errorFieldKeys`, `errorShell`), for queue, pipe and
 * mailbox items and manager values.
 *
 * @module
 */

/** An error as it crosses: its class name, message, stack, cause and own fields. */
export interface EncodedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** An encoded error when the cause was an error, else the cloned value. */
  readonly cause?: unknown;
  readonly causeIsError?: boolean;
  /** `AggregateError.errors`, which structured clone drops: each an encoded error, or the cloned value when `errorIsError` says it was none. */
  readonly errors?: readonly unknown[];
  /** Whether each of `errors` was an error; absent when all were. */
  readonly errorIsError?: readonly boolean[];
  /** Own enumerable fields other than the four above (`code`, `details`, …). */
  readonly fields: Record<string, unknown>;
}

/** The built-in error classes an error keeps across a boundary, by name: the one table both codecs use. */
export const BUILTIN_ERRORS: Readonly<Record<string, ErrorConstructor>> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError: AggregateError as unknown as ErrorConstructor,
};

/** The own keys of `error` that cross as its fields: its own enumerable keys but the parts kept apart. */
export function errorFieldKeys(error: Error): string[] {
  return Object.keys(error).filter((key) =>
    key !== "name" && key !== "message" && key !== "stack" && key !== "cause"
  );
}

/**
 * A new error of the class `name` names (a built-in one, else `Error` named
 * `name`), with its message and stack; its cause, `errors` and fields are
 * defined after (`defineErrorPart`, `defineErrorField`).
 */
export function errorShell(name: string, message: string, stack: string | undefined): Error {
  const Builtin = Object.hasOwn(BUILTIN_ERRORS, name) ? BUILTIN_ERRORS[name]! : Error;
  const error: Error = Object.create(Builtin.prototype);
  defineErrorPart(error, "message", message);
  if (error.name !== name) defineErrorPart(error, "name", name);
  if (stack !== undefined) defineErrorPart(error, "stack", stack);
  return error;
}

/** Defines a part of a rebuilt error (message, name, stack, cause, errors) as the constructor would: not enumerable. */
export function defineErrorPart(error: Error, key: string, value: unknown): void {
  Object.defineProperty(error, key, { value, writable: true, configurable: true });
}

/** Defines a field of a rebuilt error; defined, not assigned: a field named "__proto__" must not replace the prototype. */
export function defineErrorField(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

// Deep cause chains are cut here so a cyclic `cause` cannot recurse forever.
const MAX_DEPTH = 8;

/** Turns any thrown value into a record that survives structured clone. */
export function encodeError(error: unknown, depth = 0): EncodedError {
  if (!(error instanceof Error)) {
    return {
      name: "Error",
      message: typeof error === "string" ? error : safeString(error),
      fields: {},
    };
  }
  const fields: Record<string, unknown> = {};
  for (const key of errorFieldKeys(error)) {
    defineErrorField(fields, key, cloneable((error as unknown as Record<string, unknown>)[key]));
  }
  // Each a string whatever the error holds, or the record would not pass as one (`_validate.ts`).
  const encoded: {
    -readonly [K in keyof EncodedError]: EncodedError[K];
  } = { name: textOf(error.name), message: textOf(error.message), fields };
  if (error.stack !== undefined) encoded.stack = textOf(error.stack);
  if ("cause" in error && depth < MAX_DEPTH) {
    encoded.causeIsError = error.cause instanceof Error;
    encoded.cause = encoded.causeIsError ? encodeError(error.cause, depth + 1) : cloneable(error.cause);
  }
  if (error instanceof AggregateError && Array.isArray(error.errors) && depth < MAX_DEPTH) {
    const entries: unknown[] = error.errors;
    encoded.errors = entries.map((e) => e instanceof Error ? encodeError(e, depth + 1) : cloneable(e));
    if (!entries.every((e) => e instanceof Error)) {
      encoded.errorIsError = entries.map((e) => e instanceof Error);
    }
  }
  return encoded;
}

/**
 * Rebuilds an error from its record. Built-in classes come back as themselves;
 * a custom class, which only the sender can construct, comes back as an
 * `Error` whose `name`, stack and own fields are the original's. Records
 * come from other processes: one deeper than `encodeError` makes is cut.
 */
export function decodeError(encoded: EncodedError, depth = 0): Error {
  const error = errorShell(encoded.name, encoded.message, encoded.stack);
  if ("cause" in encoded && depth < MAX_DEPTH) {
    defineErrorPart(
      error,
      "cause",
      encoded.causeIsError ? decodeError(encoded.cause as EncodedError, depth + 1) : encoded.cause,
    );
  }
  if (encoded.errors && depth < MAX_DEPTH) {
    const { errorIsError } = encoded;
    defineErrorPart(
      error,
      "errors",
      encoded.errors.map((inner, i) =>
        errorIsError?.[i] === false ? inner : decodeError(inner as EncodedError, depth + 1)
      ),
    );
  }
  for (const key of Object.keys(encoded.fields)) defineErrorField(error, key, encoded.fields[key]);
  return error;
}

function cloneable(value: unknown): unknown {
  try {
    return structuredClone(value);
  } catch {
    return safeString(value);
  }
}

/** `value` if it is a string, else its text: what an error's name, message or stack crosses as. */
export function textOf(value: unknown): string {
  return typeof value === "string" ? value : safeString(value);
}

/** The text of any value, even one whose `toString` throws: what a part that cannot cross crosses as. */
export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
