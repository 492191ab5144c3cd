/**
 * Errors across a process boundary. Structured clone keeps built-in errors but
 * turns a custom subclass into a plain `Error` and drops its own fields, so an
 * error crosses as this explicit record instead.
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
  /** `AggregateError.errors`, which structured clone drops. */
  readonly errors?: readonly EncodedError[];
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
};

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
  for (const key of Object.keys(error)) {
    if (key === "name" || key === "message" || key === "stack" || key === "cause") continue;
    fields[key] = cloneable((error as unknown as Record<string, unknown>)[key]);
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
    encoded.errors = error.errors.map((e: unknown) => encodeError(e, depth + 1));
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
  const Builtin = encoded.name === "AggregateError" ? AggregateError : BUILTIN_ERRORS[encoded.name] ?? Error;
  const error: Error = Object.create(Builtin.prototype);
  define(error, "message", encoded.message);
  if (error.name !== encoded.name) define(error, "name", encoded.name);
  if (encoded.stack !== undefined) define(error, "stack", encoded.stack);
  if ("cause" in encoded && depth < MAX_DEPTH) {
    define(
      error,
      "cause",
      encoded.causeIsError ? decodeError(encoded.cause as EncodedError, depth + 1) : encoded.cause,
    );
  }
  if (encoded.errors && depth < MAX_DEPTH) {
    define(error, "errors", encoded.errors.map((inner) => decodeError(inner, depth + 1)));
  }
  // Defined, not assigned: a field named "__proto__" must not replace the prototype.
  for (const key of Object.keys(encoded.fields)) {
    Object.defineProperty(error, key, {
      value: encoded.fields[key],
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  return error;
}

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true });
}

function cloneable(value: unknown): unknown {
  try {
    return structuredClone(value);
  } catch {
    return safeString(value);
  }
}

function textOf(value: unknown): string {
  return typeof value === "string" ? value : safeString(value);
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
