/**
 * Lossless, strict JSON parser (PROTOCOL.md §1.4.1). Integers become `bigint`, floats `number`,
 * so 64-bit values and float spellings survive; duplicate keys keep the last value; lone
 * surrogates, invalid numbers and overflow are errors, as in serde_json.
 */
import { EgregoreError } from '../errors.js'
import { I64_MIN, MAX_JSON_DEPTH, U64_MAX } from './limits.js'

/**
 * A JSON value as the protocol sees it: `bigint` is an integer token, `number` a float token.
 * Objects are null-prototype records, so any key (even `__proto__`) is plain data.
 */
export type JsonValue = null | boolean | string | number | bigint | JsonValue[] | JsonObject
export interface JsonObject {
  [key: string]: JsonValue
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Parse UTF-8 bytes as JSON. Invalid UTF-8 or JSON throws `DECODE_ERROR`. */
export function parseJsonBytes(bytes: Uint8Array, maxDepth = MAX_JSON_DEPTH): JsonValue {
  let text: string
  try {
    text = utf8Decoder.decode(bytes)
  } catch (err) {
    throw new EgregoreError('DECODE_ERROR', 'invalid JSON: not valid UTF-8', { cause: err })
  }
  return parseJson(text, maxDepth)
}

/** Parse JSON text losslessly. Throws `DECODE_ERROR` with the position of the first problem. */
export function parseJson(text: string, maxDepth = MAX_JSON_DEPTH): JsonValue {
  const parser = new Parser(text, maxDepth)
  parser.skipWhitespace()
  const value = parser.parseValue(0)
  parser.skipWhitespace()
  if (parser.pos !== text.length) parser.fail('unexpected trailing characters')
  return value
}

/** Classify a number token as §1.4.1 says; throws on overflow. The token is already valid syntax. */
export function numberFromToken(token: string): number | bigint {
  if (token === '-0') return -0
  if (!/[.eE]/.test(token)) {
    const big = BigInt(token)
    if (big <= U64_MAX && big >= I64_MIN) return big
  }
  const value = Number(token)
  if (!Number.isFinite(value)) {
    throw new EgregoreError(
      'DECODE_ERROR',
      `invalid JSON: number out of range: ${token.slice(0, 40)}`,
    )
  }
  return value
}

class Parser {
  pos = 0
  readonly text: string
  readonly maxDepth: number

  constructor(text: string, maxDepth: number) {
    this.text = text
    this.maxDepth = maxDepth
  }

  fail(reason: string): never {
    throw new EgregoreError('DECODE_ERROR', `invalid JSON: ${reason} at position ${this.pos}`)
  }

  skipWhitespace(): void {
    const t = this.text
    let i = this.pos
    for (;;) {
      const c = t.charCodeAt(i)
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++
      else break
    }
    this.pos = i
  }

  parseValue(depth: number): JsonValue {
    const c = this.text.charCodeAt(this.pos)
    switch (c) {
      case 0x7b: // {
        return this.parseObject(depth + 1)
      case 0x5b: // [
        return this.parseArray(depth + 1)
      case 0x22: // "
        return this.parseString()
      case 0x74: // t
        return this.parseLiteral('true', true)
      case 0x66: // f
        return this.parseLiteral('false', false)
      case 0x6e: // n
        return this.parseLiteral('null', null)
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber()
        return this.fail(Number.isNaN(c) ? 'unexpected end of input' : 'expected a value')
    }
  }

  parseLiteral<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('invalid literal')
    this.pos += word.length
    return value
  }

  parseObject(depth: number): JsonObject {
    if (depth > this.maxDepth) this.fail('nesting too deep')
    const obj = Object.create(null) as JsonObject
    this.pos++
    this.skipWhitespace()
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++
      return obj
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== 0x22) this.fail('expected a string key')
      const key = this.parseString()
      this.skipWhitespace()
      if (this.text.charCodeAt(this.pos) !== 0x3a) this.fail("expected ':'")
      this.pos++
      this.skipWhitespace()
      obj[key] = this.parseValue(depth) // duplicate keys: the last value wins (§1.3)
      this.skipWhitespace()
      const c = this.text.charCodeAt(this.pos)
      this.pos++
      if (c === 0x7d) return obj
      if (c !== 0x2c) {
        this.pos--
        this.fail("expected ',' or '}'")
      }
      this.skipWhitespace()
    }
  }

  parseArray(depth: number): JsonValue[] {
    if (depth > this.maxDepth) this.fail('nesting too deep')
    const arr: JsonValue[] = []
    this.pos++
    this.skipWhitespace()
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++
      return arr
    }
    for (;;) {
      arr.push(this.parseValue(depth))
      this.skipWhitespace()
      const c = this.text.charCodeAt(this.pos)
      this.pos++
      if (c === 0x5d) return arr
      if (c !== 0x2c) {
        this.pos--
        this.fail("expected ',' or ']'")
      }
      this.skipWhitespace()
    }
  }

  parseString(): string {
    const t = this.text
    let i = this.pos + 1
    let out = ''
    let runStart = i
    for (;;) {
      const c = t.charCodeAt(i)
      if (c === 0x22) {
        out += t.slice(runStart, i)
        this.pos = i + 1
        return out
      }
      if (c === 0x5c) {
        out += t.slice(runStart, i)
        this.pos = i
        out += this.parseEscape()
        i = this.pos
        runStart = i
        continue
      }
      if (c < 0x20 || Number.isNaN(c)) {
        this.pos = i
        this.fail(Number.isNaN(c) ? 'unterminated string' : 'control character in string')
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        // Raw surrogates can only come from a JS string, never from UTF-8; require pairs.
        const next = t.charCodeAt(i + 1)
        if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) {
          this.pos = i
          this.fail('lone surrogate in string')
        }
        i += 2
        continue
      }
      i++
    }
  }

  /** Decode one escape at `pos` (pointing at the backslash); advance past it. */
  parseEscape(): string {
    const t = this.text
    const c = t.charCodeAt(this.pos + 1)
    this.pos += 2
    switch (c) {
      case 0x22:
        return '"'
      case 0x5c:
        return '\\'
      case 0x2f:
        return '/'
      case 0x62:
        return '\b'
      case 0x66:
        return '\f'
      case 0x6e:
        return '\n'
      case 0x72:
        return '\r'
      case 0x74:
        return '\t'
      case 0x75: {
        const unit = this.readHex4()
        if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('lone surrogate escape')
        if (unit >= 0xd800 && unit <= 0xdbff) {
          if (t.charCodeAt(this.pos) !== 0x5c || t.charCodeAt(this.pos + 1) !== 0x75) {
            this.fail('lone surrogate escape')
          }
          this.pos += 2
          const low = this.readHex4()
          if (low < 0xdc00 || low > 0xdfff) this.fail('lone surrogate escape')
          return String.fromCharCode(unit, low)
        }
        return String.fromCharCode(unit)
      }
      default:
        this.pos -= 2
        return this.fail('invalid escape')
    }
  }

  readHex4(): number {
    const hex = this.text.slice(this.pos, this.pos + 4)
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\u escape')
    this.pos += 4
    return parseInt(hex, 16)
  }

  parseNumber(): number | bigint {
    const t = this.text
    const start = this.pos
    let i = start
    if (t.charCodeAt(i) === 0x2d) i++
    const first = t.charCodeAt(i)
    if (first === 0x30) {
      i++
    } else if (first >= 0x31 && first <= 0x39) {
      while (isDigit(t.charCodeAt(i))) i++
    } else {
      this.pos = i
      this.fail('invalid number')
    }
    if (isDigit(t.charCodeAt(i))) {
      this.pos = i
      this.fail('leading zero in number')
    }
    if (t.charCodeAt(i) === 0x2e) {
      i++
      if (!isDigit(t.charCodeAt(i))) {
        this.pos = i
        this.fail('expected a digit after the decimal point')
      }
      while (isDigit(t.charCodeAt(i))) i++
    }
    const e = t.charCodeAt(i)
    if (e === 0x65 || e === 0x45) {
      i++
      const sign = t.charCodeAt(i)
      if (sign === 0x2b || sign === 0x2d) i++
      if (!isDigit(t.charCodeAt(i))) {
        this.pos = i
        this.fail('expected a digit in the exponent')
      }
      while (isDigit(t.charCodeAt(i))) i++
    }
    this.pos = i
    return numberFromToken(t.slice(start, i))
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}
