/**
 * Properties of the lossless parser and the canonical writer (PROTOCOL.md §1.3, §1.4): canonical
 * text is a fixed point, agrees with JSON.parse, floats round-trip, key order does not matter.
 * Seed: FC_SEED (default 42).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  compareUtf8,
  formatFloat,
  fromPlainJson,
  parseJson,
  writeCanonical,
  writePretty,
  type JsonValue,
} from '../../src/codec/index.js'
import { sha256Hex } from '../../src/crypto/index.js'
import {
  assertProperty,
  jsonFloat,
  jsonKey,
  jsonValue,
  jsonValueWithoutNumbers,
  reorderKeys,
} from '../helpers/json-arbitraries.js'

const RUNS = 300

/** True when `parsed` (from JSON.parse) is what `value` means, integers compared as doubles. */
function sameUnderJsonParse(value: JsonValue, parsed: unknown): boolean {
  if (typeof value === 'bigint') return parsed === Number(value)
  if (typeof value === 'number') return Object.is(parsed, value)
  if (value === null || typeof value !== 'object') return parsed === value
  if (Array.isArray(value)) {
    return (
      Array.isArray(parsed) &&
      parsed.length === value.length &&
      value.every((v, i) => sameUnderJsonParse(v, parsed[i]))
    )
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return false
  const p = parsed as Record<string, unknown>
  const keys = Object.keys(value)
  return (
    Object.keys(p).length === keys.length &&
    keys.every((k) => Object.hasOwn(p, k) && sameUnderJsonParse(value[k]!, p[k]))
  )
}

describe('parse and serialize are stable', () => {
  test('writeCanonical(parseJson(writeCanonical(v))) === writeCanonical(v)', () => {
    assertProperty(
      fc.property(jsonValue, (v) => {
        const text = writeCanonical(v)
        assert.equal(writeCanonical(parseJson(text)), text)
      }),
      RUNS,
    )
  })
  test('canonical text of any JSON text (fc.json) is a fixed point', () => {
    assertProperty(
      fc.property(fc.json({ maxDepth: 4 }), (json) => {
        const text = writeCanonical(parseJson(json))
        assert.equal(writeCanonical(parseJson(text)), text)
      }),
      RUNS,
    )
  })
  test('parseJson agrees with JSON.parse on any JSON text (fc.json), numbers as doubles', () => {
    assertProperty(
      fc.property(fc.json({ maxDepth: 4 }), (json) => {
        assert.ok(sameUnderJsonParse(parseJson(json), JSON.parse(json)))
      }),
      RUNS,
    )
  })
})

describe('canonical text is JSON', () => {
  test('JSON.parse reads every canonical text with the same meaning', () => {
    assertProperty(
      fc.property(jsonValue, (v) => {
        const parsed: unknown = JSON.parse(writeCanonical(v))
        assert.ok(sameUnderJsonParse(v, parsed))
      }),
      RUNS,
    )
  })
  test('without numbers, JSON.parse and parseJson give equal values', () => {
    assertProperty(
      fc.property(jsonValueWithoutNumbers, (v) => {
        const text = writeCanonical(v)
        const viaJsonParse = fromPlainJson(JSON.parse(text))
        assert.deepStrictEqual(parseJson(text), viaJsonParse)
        assert.deepStrictEqual(parseJson(text), fromPlainJson(v))
      }),
      RUNS,
    )
  })
  test('canonical text has no insignificant whitespace', () => {
    assertProperty(
      fc.property(jsonValue, (v) => {
        const text = writeCanonical(v)
        const outsideStrings = text.replace(/"(?:[^"\\]|\\.)*"/g, '""')
        assert.doesNotMatch(outsideStrings, /\s/)
      }),
      RUNS,
    )
  })
})

describe('floats', () => {
  test('Number(formatFloat(d)) === d for any finite double', () => {
    assertProperty(
      fc.property(jsonFloat, (d) => {
        assert.ok(Object.is(Number(formatFloat(d)), d), formatFloat(d))
      }),
      1000,
    )
  })
  test('formatFloat output parses back as the same float token', () => {
    assertProperty(
      fc.property(jsonFloat, (d) => {
        const back = parseJson(formatFloat(d))
        assert.equal(typeof back, 'number', 'a float must not read back as an integer')
        assert.ok(Object.is(back, d))
      }),
      1000,
    )
  })
  test('formatFloat uses the digits of Number.prototype.toString (shortest round trip)', () => {
    const digits = (s: string): string =>
      s.replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '')
    assertProperty(
      fc.property(jsonFloat, (d) => {
        fc.pre(d !== 0)
        assert.equal(digits(formatFloat(d)), digits(String(d)))
      }),
      1000,
    )
  })
})

describe('key order', () => {
  test('any key order of the same value gives the same canonical text and hash', () => {
    assertProperty(
      fc.property(jsonValue, fc.integer(), (v, seed) => {
        const reordered = reorderKeys(v, seed)
        assert.equal(writeCanonical(reordered), writeCanonical(v))
        assert.equal(sha256Hex(writeCanonical(reordered)), sha256Hex(writeCanonical(v)))
      }),
      RUNS,
    )
  })
  test('JSON text with shuffled keys and whitespace parses to the same canonical text', () => {
    assertProperty(
      fc.property(jsonValue, fc.integer(), (v, seed) => {
        const text = writePretty(reorderKeys(v, seed))
        assert.equal(writeCanonical(parseJson(text)), writeCanonical(v))
      }),
      RUNS,
    )
  })
  test('compareUtf8 orders like the UTF-8 bytes', () => {
    assertProperty(
      fc.property(jsonKey, jsonKey, (a, b) => {
        const bytes = Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
        assert.equal(Math.sign(compareUtf8(a, b)), bytes)
      }),
      RUNS,
    )
  })
})
