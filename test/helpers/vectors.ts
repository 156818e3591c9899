/**
 * Loading the vector files of test/vectors (STYLE.md §7): `{ about, entries: [{ description,
 * input, expected, note? }] }`, plus typed accessors so tests never touch `any`.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { EgregoreError, type ErrorCode } from '../../src/errors.js'
import { fromHex } from '../../src/codec/index.js'

export type Fields = Readonly<Record<string, unknown>>

export interface VectorEntry {
  readonly description: string
  readonly input: Fields
  readonly expected: Fields
  readonly note?: string
}

function isRecord(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Read and shape-check a vector file given by URL (relative to the test via import.meta.url). */
export function loadVectors(url: URL): VectorEntry[] {
  const doc: unknown = JSON.parse(readFileSync(url, 'utf8'))
  assert.ok(isRecord(doc), `${url.pathname}: not a JSON object`)
  const entries = doc['entries']
  assert.ok(Array.isArray(entries) && entries.length > 0, `${url.pathname}: no entries`)
  return entries.map((e: unknown, i) => {
    assert.ok(isRecord(e), `entry ${i}: not an object`)
    const { description, input, expected, note } = e
    assert.ok(typeof description === 'string', `entry ${i}: description`)
    assert.ok(isRecord(input), `entry ${i}: input`)
    assert.ok(isRecord(expected), `entry ${i}: expected`)
    return typeof note === 'string'
      ? { description, input, expected, note }
      : { description, input, expected }
  })
}

/** True when `fields` has exactly these keys (order ignored). */
export function hasKeys(fields: Fields, keys: readonly string[]): boolean {
  const own = Object.keys(fields).sort()
  return own.length === keys.length && [...keys].sort().every((k, i) => own[i] === k)
}

/** A string field; fails the test if missing or of another type. */
export function str(fields: Fields, key: string): string {
  const v = fields[key]
  assert.equal(typeof v, 'string', `field '${key}' should be a string`)
  return v as string
}

/** A boolean field. */
export function bool(fields: Fields, key: string): boolean {
  const v = fields[key]
  assert.equal(typeof v, 'boolean', `field '${key}' should be a boolean`)
  return v as boolean
}

/** An array of integers field. */
export function ints(fields: Fields, key: string): number[] {
  const v = fields[key]
  assert.ok(
    Array.isArray(v) && v.every((x) => Number.isInteger(x)),
    `field '${key}' should be integers`,
  )
  return v as number[]
}

/** A hex field decoded to bytes. */
export function hex(fields: Fields, key: string): Uint8Array {
  const bytes = fromHex(str(fields, key))
  assert.ok(bytes !== null, `field '${key}' should be hex`)
  return bytes
}

/** Predicate for assert.throws: an EgregoreError with the given code. */
export function egregoreError(code: ErrorCode): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof EgregoreError, `expected an EgregoreError, got ${String(err)}`)
    assert.equal(err.code, code)
    return true
  }
}

/** A vector file's tests for one kind of entry, or `null` when the entry is of no known kind. */
export type Dispatch = (entry: VectorEntry) => ((entry: VectorEntry) => void) | null

/**
 * Register a `describe` per entry of a vector file, chosen by `dispatch`, and a final test that
 * fails if any entry was left unchecked (the compatibility contract covers every entry).
 */
export function checkEveryEntry(
  file: string,
  entries: readonly VectorEntry[],
  dispatch: Dispatch,
  describeFn: (name: string, fn: () => void) => unknown,
  testFn: (name: string, fn: () => void) => unknown,
): void {
  const unhandled: string[] = []
  entries.forEach((e, i) => {
    const run = dispatch(e)
    if (run === null) {
      unhandled.push(e.description)
      return
    }
    describeFn(`${file} #${i}: ${e.description.slice(0, 90)}`, () => run(e))
  })
  testFn(`every entry of ${file} is checked`, () => {
    assert.deepEqual(unhandled, [])
  })
}
