/**
 * fast-check arbitraries for protocol JSON values (integers as bigint in the u64/i64 range, floats
 * as finite doubles, well-formed strings, null-prototype objects) and a seeded `assertProperty`.
 */
import fc from 'fast-check'
import { I64_MIN, U64_MAX, type JsonObject, type JsonValue } from '../../src/codec/index.js'

/** The seed of every property run; CI sets FC_SEED to add a random run (STYLE.md §7). */
export const FC_SEED = Number(process.env['FC_SEED'] ?? 42)

/** fc.assert with the fixed seed; a failure names the seed so it can be reproduced. */
export function assertProperty<T>(property: fc.IProperty<T>, numRuns: number): void {
  try {
    fc.assert(property, { seed: FC_SEED, numRuns })
  } catch (err) {
    console.error(`property failed with FC_SEED=${FC_SEED} (rerun with that environment variable)`)
    throw err
  }
}

/** Characters that exercise the escape rules of §1.3. */
const trickyChar = fc.constantFrom(
  '"',
  '\\',
  '/',
  '\b',
  '\t',
  '\n',
  '\f',
  '\r',
  '\u0000',
  '\u001f',
  '\u007f',
  '\u2028',
  '\u2029',
  'é',
  '\uffff',
  '\u{1F600}',
  'a',
  'Z',
  '_',
  ' ',
)

export const jsonString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: trickyChar, maxLength: 8 }),
)

export const jsonKey: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.string({ unit: trickyChar, maxLength: 3 }),
  fc.constantFrom('type', '__proto__', 'constructor', 'a', 'aa', 'B'),
)

/** Integer tokens: the whole u64/i64 range, with the edges and small values over-represented. */
export const jsonInteger: fc.Arbitrary<bigint> = fc.oneof(
  fc.bigInt({ min: I64_MIN, max: U64_MAX }),
  fc.bigInt({ min: -1000n, max: 1000n }),
  fc.constantFrom(I64_MIN, U64_MAX, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 0n),
)

/** Float tokens: any finite double, including -0 and subnormals. */
export const jsonFloat: fc.Arbitrary<number> = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1, 1e15, 1e16, 1e-5, 1e-6, 5e-324, Number.MAX_VALUE, 0.1, 2 ** 53),
)

function tree(scalar: fc.Arbitrary<JsonValue>): fc.Arbitrary<JsonValue> {
  return fc.letrec<{ value: JsonValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: 4 },
      scalar,
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(jsonKey, tie('value'), { maxKeys: 5 }),
    ),
  })).value
}

/** Any protocol JSON value. */
export const jsonValue: fc.Arbitrary<JsonValue> = tree(
  fc.oneof(fc.constant(null), fc.boolean(), jsonString, jsonInteger, jsonFloat),
)

/** JSON values without numbers (so JSON.parse reads them exactly). */
export const jsonValueWithoutNumbers: fc.Arbitrary<JsonValue> = tree(
  fc.oneof(fc.constant(null), fc.boolean(), jsonString),
)

/** A JSON object (null prototype) with random members. */
export const jsonObject: fc.Arbitrary<JsonObject> = fc
  .dictionary(jsonKey, jsonValue, { maxKeys: 6 })
  .map((members) => Object.assign(Object.create(null) as JsonObject, members))

/**
 * The same value with the members of every object re-inserted in an order chosen by `seed`
 * (a small LCG keeps the order deterministic for a given seed).
 */
export function reorderKeys(value: JsonValue, seed: number): JsonValue {
  let state = seed >>> 0
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state
  }
  const walk = (v: JsonValue): JsonValue => {
    if (Array.isArray(v)) return v.map(walk)
    if (typeof v !== 'object' || v === null) return v
    const keys = Object.keys(v)
    for (let i = keys.length - 1; i > 0; i--) {
      const j = next() % (i + 1)
      const t = keys[i]!
      keys[i] = keys[j]!
      keys[j] = t
    }
    const out = Object.create(null) as JsonObject
    for (const k of keys) out[k] = walk(v[k]!)
    return out
  }
  return walk(value)
}
