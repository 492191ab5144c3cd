/**
 * Permission sets for child processes: validating what a user asks for,
 * resolving it against what the creating process holds (a child never gets
 * more than its parent), and rendering it as `deno run` flags or a worker's
 * `deno.permissions` option.
 *
 * @module
 */

/** The Deno permissions a child can be granted. */
export const PERMISSION_NAMES = ["read", "write", "net", "env", "run", "ffi", "sys", "import"] as const;

/** One Deno permission. */
export type PermissionName = typeof PERMISSION_NAMES[number];

/** `true` for all of it, `false` for none, or a list of paths, hosts, variables, commands or kinds. */
export type PermissionValue = boolean | readonly string[];

/** A permission set as the user writes it; a missing name means "what the parent holds". */
export type PermissionOptions = { readonly [K in PermissionName]?: PermissionValue };

/** A permission set with every name decided. */
export type ResolvedPermissions = { readonly [K in PermissionName]: PermissionValue };

/** The descriptor field each permission's list entries go in. */
const LIST_KEY: Record<PermissionName, string> = {
  read: "path",
  write: "path",
  net: "host",
  env: "variable",
  run: "command",
  ffi: "path",
  sys: "kind",
  import: "host",
};

/** Checks the shape of a `permissions` option; throws `TypeError` naming what is wrong. */
export function validatePermissions(value: unknown): asserts value is PermissionOptions {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(
      `Cannot create a Process as permissions must be an object: current value is ${typeof value}`,
    );
  }
  for (const [name, grant] of Object.entries(value)) {
    if (!(PERMISSION_NAMES as readonly string[]).includes(name)) {
      throw new TypeError(
        `Cannot create a Process as "${name}" is not a permission: use ${PERMISSION_NAMES.join(", ")}`,
      );
    }
    const ok = typeof grant === "boolean" ||
      (Array.isArray(grant) && grant.every((item) => typeof item === "string" && item !== ""));
    if (!ok) {
      throw new TypeError(
        `Cannot create a Process as permissions.${name} must be true, false or a list of non-empty strings: ` +
          `current value is ${JSON.stringify(grant)}`,
      );
    }
  }
}

/**
 * Decides every permission of a child: what the user asked for, and for the
 * rest what this process holds. Throws `RangeError` when the user asks for
 * more than this process holds.
 */
export function resolvePermissions(requested: PermissionOptions = {}): ResolvedPermissions {
  const resolved = {} as Record<PermissionName, PermissionValue>;
  for (const name of PERMISSION_NAMES) {
    const grant = requested[name];
    if (grant === undefined) {
      // Only a whole grant can be seen; a partial one (--allow-read=/tmp)
      // cannot be listed, so the child does not get it by default.
      resolved[name] = holds(name);
      continue;
    }
    if (grant === true && !holds(name)) {
      throw new RangeError(
        `Cannot grant permissions.${name} = true to the child as this process does not hold all of it: ` +
          "grant a list of what it holds, or false",
      );
    }
    if (Array.isArray(grant)) {
      const missing = grant.find((item) => !holds(name, item));
      if (missing !== undefined) {
        throw new RangeError(
          `Cannot grant permissions.${name} = ${JSON.stringify(missing)} to the child ` +
            `as this process does not hold it: current value is ${JSON.stringify(grant)}`,
        );
      }
    }
    resolved[name] = grant;
  }
  return resolved;
}

/** troupe's own modules, by URL: their host is one a child imports from. */
const TROUPE = new URL("../", import.meta.url);

/**
 * What this process holds, for a child that asked for nothing: its whole
 * grants, and of a partial `--allow-import`, the hosts troupe, the main
 * module and `module` come from, which the child must import from too.
 * Deno answers whether one host is granted but cannot list them, so other
 * partial grants are not passed on (see {@linkcode resolvePermissions}).
 */
export function heldPermissions(module?: string): ResolvedPermissions {
  const held = resolvePermissions();
  if (held.import !== false) return held;
  const hosts = new Set<string>();
  for (const url of [TROUPE.href, Deno.mainModule, module]) {
    const host = url === undefined || !URL.canParse(url) ? undefined : new URL(url);
    if (host && (host.protocol === "https:" || host.protocol === "http:") && holds("import", host.host)) {
      hosts.add(host.host);
    }
  }
  return hosts.size === 0 ? held : { ...held, import: [...hosts] };
}

/** The first way `child` asks for more than `parent` has, or `undefined` if it does not. */
export function exceeds(child: ResolvedPermissions, parent: ResolvedPermissions): string | undefined {
  for (const name of PERMISSION_NAMES) {
    const want = child[name];
    const have = parent[name];
    if (want === false || have === true) continue;
    if (want === true || have === false) return `permissions.${name}`;
    const extra = want.find((item) => !have.includes(item));
    if (extra !== undefined) return `permissions.${name} entry ${JSON.stringify(extra)}`;
  }
  return undefined;
}

/** Like {@linkcode exceeds}, against what this process holds (which may be partial grants). */
export function exceedsHeld(child: ResolvedPermissions): string | undefined {
  for (const name of PERMISSION_NAMES) {
    const want = child[name];
    if (want === false) continue;
    if (want === true && !holds(name)) return `permissions.${name}`;
    const extra = want === true ? undefined : want.find((item) => !holds(name, item));
    if (extra !== undefined) return `permissions.${name} entry ${JSON.stringify(extra)}`;
  }
  return undefined;
}

/** Whether `permissions` grants all of every permission (what `-A` gives). */
export function grantsEverything(permissions: ResolvedPermissions): boolean {
  return PERMISSION_NAMES.every((name) => permissions[name] === true);
}

/** Whether two permission sets grant the same, whatever the order of their names and entries. */
export function samePermissions(a: ResolvedPermissions, b: ResolvedPermissions): boolean {
  return exceeds(a, b) === undefined && exceeds(b, a) === undefined;
}

/** The `deno run` flags for a permission set. */
export function permissionFlags(permissions: ResolvedPermissions): string[] {
  const flags = ["--no-prompt"];
  for (const name of PERMISSION_NAMES) {
    const grant = permissions[name];
    if (grant === true) flags.push(`--allow-${name}`);
    else if (Array.isArray(grant) && grant.length > 0) flags.push(`--allow-${name}=${grant.join(",")}`);
  }
  return flags;
}

/** Adds entries to a permission set (for the channel the child itself needs). */
export function withGrants(
  permissions: ResolvedPermissions,
  extra: PermissionOptions,
): ResolvedPermissions {
  const merged = { ...permissions } as Record<PermissionName, PermissionValue>;
  for (const name of PERMISSION_NAMES) {
    const add = extra[name];
    const have = merged[name];
    if (add === undefined || have === true) continue;
    merged[name] = add === true ? true : [...(have === false ? [] : have), ...(add === false ? [] : add)];
  }
  return merged;
}

function holds(name: PermissionName, item?: string): boolean {
  const descriptor = item === undefined ? { name } : { name, [LIST_KEY[name]]: item };
  try {
    return Deno.permissions.querySync(descriptor as Deno.PermissionDescriptor).state === "granted";
  } catch {
    // An entry Deno cannot parse (an unknown sys kind, say) is not held.
    return false;
  }
}
