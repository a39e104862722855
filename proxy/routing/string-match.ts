import type { StringMatcher } from '../config/generated/proxy-config.js';
import { ConfigError } from '../config/config-error.js';

/** A compiled string condition. Built once per configuration push, called per request. */
export type StringPredicate = (value: string) => boolean;

const always: StringPredicate = () => true;

// RE2 features JS spells differently. Only a leading group of flags is supported, as JS has no
// inline modifiers; (?i) there is the common way Istio users make a regex case-insensitive.
const RE2_NAMED_GROUP = /\(\?P</g;
const RE2_LEADING_FLAGS = /^\(\?([a-zA-Z]+)\)/;

export interface RegexOptions {
  /** Anchor at both ends, as Envoy's safe_regex matches the whole value. */
  fullMatch?: boolean;
  /** Find every match, for substitution. */
  global?: boolean;
}

/**
 * Compiles an RE2-style regex (as Istio and Envoy accept it) to a JS RegExp. `path` names the
 * field in a ConfigError when the pattern does not compile.
 */
export function compileRegex(source: string, path: string, options: RegexOptions = {}): RegExp {
  const { fullMatch = false, global = false } = options;
  let pattern = source.replace(RE2_NAMED_GROUP, '(?<');
  let flags = global ? 'g' : '';
  const leading = RE2_LEADING_FLAGS.exec(pattern);
  if (leading) {
    const inline = leading[1] ?? '';
    if (!/^[is]+$/.test(inline)) throw new ConfigError(path, `unsupported inline flags (?${inline})`);
    flags += [...new Set(inline)].join('');
    pattern = pattern.slice(leading[0].length);
  }
  try {
    // Compiled alone first, so a pattern such as `a)|(b` cannot escape the anchoring group below.
    const re = new RegExp(pattern, flags);
    return fullMatch ? new RegExp(`^(?:${pattern})$`, flags) : re;
  } catch (err) {
    throw new ConfigError(path, `invalid regex: ${(err as Error).message}`);
  }
}

function exact(value: string, ignoreCase: boolean): StringPredicate {
  if (!ignoreCase) return (v) => v === value;
  const lower = value.toLowerCase();
  return (v) => v.length === lower.length && v.toLowerCase() === lower;
}

function prefix(value: string, ignoreCase: boolean): StringPredicate {
  if (!ignoreCase) return (v) => v.startsWith(value);
  const lower = value.toLowerCase();
  const n = lower.length;
  return (v) => v.length >= n && v.slice(0, n).toLowerCase() === lower;
}

/**
 * Compiles a StringMatcher into a predicate. A matcher without exact, prefix or regex accepts any
 * value (a bare presence check); setting more than one is ambiguous and rejected. ignoreCase
 * applies to exact and prefix only, as in Envoy. `path` is the matcher's JSON path, for errors.
 */
export function compileStringMatcher(matcher: StringMatcher, path: string): StringPredicate {
  const given = [matcher.exact, matcher.prefix, matcher.regex].filter((v) => v !== undefined).length;
  if (given > 1) throw new ConfigError(path, 'set only one of exact, prefix and regex');
  const ignoreCase = matcher.ignoreCase === true;
  if (matcher.exact !== undefined) return exact(matcher.exact, ignoreCase);
  if (matcher.prefix !== undefined) return prefix(matcher.prefix, ignoreCase);
  if (matcher.regex !== undefined) {
    const re = compileRegex(matcher.regex, `${path}.regex`, { fullMatch: true });
    return (v) => re.test(v);
  }
  return always;
}
