/**
 * Canonical JSON writer (PROTOCOL.md §1.3, §1.4): compact, object keys sorted by UTF-8 bytes at
 * every depth, serde_json string escapes, exact integers, zmij-style shortest floats.
 */
import { EgregoreError } from '../errors.js'
import type { JsonObject, JsonValue } from './json.js'

/** Serialize a value canonically. Throws `INVALID_CONTENT` for values JSON cannot carry. */
export function writeCanonical(value: JsonValue): string {
  switch (typeof value) {
    case 'string':
      return writeString(value)
    case 'bigint':
      return value.toString()
    case 'number':
      return formatFloat(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'object':
      if (value === null) return 'null'
      if (Array.isArray(value)) return writeArray(value)
      return writeObject(value)
    case 'undefined':
    case 'function':
    case 'symbol':
      throw new EgregoreError('INVALID_CONTENT', `a ${typeof value} cannot be written as JSON`)
  }
}

// Strings without quotes, backslashes, control characters or surrogates are written as they are.
const NEEDS_CARE = /["\\\u0000-\u001f\ud800-\udfff]/

function writeString(s: string): string {
  if (!NEEDS_CARE.test(s)) return `"${s}"`
  if (!s.isWellFormed()) throw new EgregoreError('INVALID_CONTENT', 'string has a lone surrogate')
  // JSON.stringify escapes exactly `"`, `\`, and U+0000–U+001F (short forms for \b\t\n\f\r,
  // lowercase \u00xx otherwise), and nothing else, which is what serde_json writes (§1.3).
  return JSON.stringify(s)
}

function writeArray(arr: readonly JsonValue[]): string {
  let out = '['
  for (let i = 0; i < arr.length; i++) {
    if (i > 0) out += ','
    out += writeCanonical(arr[i] as JsonValue)
  }
  return out + ']'
}

function writeObject(obj: JsonObject): string {
  const proto = Object.getPrototypeOf(obj) as unknown
  if (proto !== null && proto !== Object.prototype) {
    throw new EgregoreError('INVALID_CONTENT', 'only plain objects can be written as JSON')
  }
  const keys = sortedKeys(obj)
  let out = '{'
  let first = true
  for (const key of keys) {
    const v = obj[key]
    if (v === undefined) continue
    if (!first) out += ','
    first = false
    out += writeString(key) + ':' + writeCanonical(v)
  }
  return out + '}'
}

/**
 * The keys of `obj` in UTF-8 byte order. Objects parsed from canonical text already have their
 * keys in that order, so a pass that finds them sorted spares the sort (and its allocations).
 */
function sortedKeys(obj: JsonObject): string[] {
  const keys = Object.keys(obj)
  for (let i = 1; i < keys.length; i++) {
    if (compareUtf8(keys[i - 1] as string, keys[i] as string) >= 0) return keys.sort(compareUtf8)
  }
  return keys
}

/**
 * Compare two strings by their UTF-8 bytes (= by code point). JavaScript's default order compares
 * UTF-16 units, which puts U+E000–U+FFFF after the surrogates that encode U+10000 and above.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return codePointRank(x) - codePointRank(y)
  }
  return a.length - b.length
}

function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800
}

/** Write a float as upstream's serde_json does (§1.4.3): shortest digits, `e+N` for large exponents. */
export function formatFloat(x: number): string {
  if (!Number.isFinite(x))
    throw new EgregoreError('INVALID_CONTENT', 'NaN and infinities are not JSON')
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0'
  const sign = x < 0 ? '-' : ''
  // ECMAScript's Number::toString yields exactly the shortest round-trip digits (§1.4.3 step 2).
  const text = String(Math.abs(x))
  const e = text.indexOf('e')
  const mantissa = e < 0 ? text : text.slice(0, e)
  const exponent = e < 0 ? 0 : Number(text.slice(e + 1))
  const dot = mantissa.indexOf('.')
  const intPart = dot < 0 ? mantissa : mantissa.slice(0, dot)
  let digits = intPart + (dot < 0 ? '' : mantissa.slice(dot + 1))
  let kk = intPart.length + exponent
  let lead = 0
  while (digits.charCodeAt(lead) === 0x30) lead++
  digits = digits.slice(lead).replace(/0+$/, '')
  kk -= lead
  const n = digits.length
  const k = kk - n
  if (k >= 0 && kk <= 16) return sign + digits + '0'.repeat(k) + '.0'
  if (kk > 0 && kk <= 16) return sign + digits.slice(0, kk) + '.' + digits.slice(kk)
  if (kk > -5 && kk <= 0) return sign + '0.' + '0'.repeat(-kk) + digits
  const exp = kk - 1
  const expText = exp < 0 ? `-${-exp}` : `+${exp}`
  if (n === 1) return `${sign}${digits}e${expText}`
  return `${sign}${digits[0] ?? ''}.${digits.slice(1)}e${expText}`
}

/**
 * Convert a plain JavaScript value (as from `JSON.parse` or code) to a JsonValue: whole numbers
 * become integers (`bigint`), other numbers floats. Use for programmatic input only; text from the
 * wire goes through the lossless parser, which keeps `1.0` a float.
 */
export function fromPlainJson(value: unknown): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'bigint') return value
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && !Object.is(value, -0) ? BigInt(value) : value
  }
  if (Array.isArray(value)) return value.map(fromPlainJson)
  if (typeof value === 'object') {
    const out = Object.create(null) as JsonObject
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = fromPlainJson(v)
    return out
  }
  throw new EgregoreError('INVALID_CONTENT', `a ${typeof value} cannot be written as JSON`)
}

/**
 * Pretty-print (2-space indent) with the canonical scalars, for human-facing output (§1.9).
 * Keys keep the object's own order (parse canonical text to get canonical order).
 */
export function writePretty(value: JsonValue, indent = ''): string {
  if (value === null || typeof value !== 'object') return writeCanonical(value)
  const inner = indent + '  '
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]'
    return `[\n${value.map((v) => inner + writePretty(v, inner)).join(',\n')}\n${indent}]`
  }
  const keys = Object.keys(value)
  if (keys.length === 0) return '{}'
  const items = keys.map(
    (k) => `${inner}${writeString(k)}: ${writePretty(value[k] as JsonValue, inner)}`,
  )
  return `{\n${items.join(',\n')}\n${indent}}`
}
