import { spawnSync } from 'node:child_process';

/** What an Argo CD health check returns: one of Argo CD's health statuses and a message. */
export interface HealthStatus {
  readonly status: string;
  readonly message: string;
}

/** A Lua 5.1 string literal: every byte outside printable ASCII, and quotes and backslashes, escaped. Pure. */
function luaString(value: string): string {
  let out = '"';
  for (const byte of Buffer.from(value, 'utf8')) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte < 0x20 || byte >= 0x7f) out += `\\${byte.toString().padStart(3, '0')}`;
    else out += String.fromCharCode(byte);
  }
  return out + '"';
}

/**
 * A JSON value as a Lua table constructor, the shape Argo CD's decodeValue gives `obj`: objects are
 * tables keyed by string, arrays are sequences, null is absent. Pure.
 */
export function toLuaLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${value} has no Lua literal`);
    return String(value);
  }
  if (typeof value === 'string') return luaString(value);
  if (Array.isArray(value)) return `{${value.map(toLuaLiteral).join(', ')}}`;
  const entries = Object.entries(value as Record<string, unknown>).filter(
    ([, v]) => v !== null && v !== undefined,
  );
  return `{${entries.map(([k, v]) => `[${luaString(k)}] = ${toLuaLiteral(v)}`).join(', ')}}`;
}

/**
 * Runs a health check the way Argo CD does for one configured in argocd-cm: `obj` is a global, only
 * the base and table libraries are there (no string, math, io or os, not even string methods), and
 * the chunk's return value is the health. The harness itself writes the result for us to read.
 */
const harness = (scriptPath: string, obj: unknown): string => `
local check = assert(loadfile(${luaString(scriptPath)}))
local env = { table = table, obj = ${toLuaLiteral(obj)} }
for _, name in ipairs({ "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "print",
    "rawequal", "rawget", "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "unpack",
    "xpcall" }) do
  env[name] = _G[name]
end
env._G = env
setfenv(check, env)
local write, stderr, exit = io.write, io.stderr, os.exit
getmetatable("").__index = nil
local ok, hs = pcall(check)
if not ok then stderr:write("health.lua failed: ", tostring(hs)) exit(2) end
if type(hs) ~= "table" then stderr:write("health.lua returned a ", type(hs), ", not a table") exit(2) end
write(tostring(hs.status), "\\n", tostring(hs.message))
`;

/** The health `scriptPath` reports for `obj`, from Debian's lua5.1; throws with Lua's error when the check fails. */
export function runHealthCheck(scriptPath: string, obj: unknown): HealthStatus {
  const res = spawnSync('lua5.1', ['-'], { input: harness(scriptPath, obj), encoding: 'utf8' });
  if (res.error)
    throw new Error(
      `lua5.1 is needed to test Argo CD health checks (apt-get install -y lua5.1): ${res.error.message}`,
    );
  if (res.status !== 0) throw new Error(res.stderr || `lua5.1 exited with ${res.status}`);
  const [status, ...message] = res.stdout.split('\n');
  return { status: status!, message: message.join('\n') };
}
