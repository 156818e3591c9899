/** RFC 3339 timestamps (PROTOCOL.md §1.5): accepted forms, canonical output, sortable form. */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  parseTimestamp,
  timestampFromMillis,
  timestampToMillis,
  toSortableTimestamp,
} from '../../../src/codec/index.js'
import { egregoreError } from '../../helpers/vectors.js'

const rejects = egregoreError('DECODE_ERROR')

function accepts(input: string, canonical: string): void {
  test(`${JSON.stringify(input)} → ${canonical}`, () => {
    assert.equal(parseTimestamp(input), canonical)
  })
}

function refuses(input: string, why: string): void {
  test(`rejects ${why}: ${JSON.stringify(input)}`, () => {
    assert.throws(() => parseTimestamp(input), rejects)
  })
}

describe('calendar dates', () => {
  accepts('2024-02-29T00:00:00Z', '2024-02-29T00:00:00Z')
  accepts('2000-02-29T12:00:00Z', '2000-02-29T12:00:00Z')
  refuses('2023-02-29T00:00:00Z', 'Feb 29 in a common year')
  refuses('1900-02-29T00:00:00Z', 'Feb 29 in a century year not divisible by 400')
  refuses('2026-02-30T00:00:00Z', 'Feb 30')
  refuses('2026-04-31T00:00:00Z', 'April 31')
  refuses('2026-04-00T00:00:00Z', 'day 0')
  refuses('2026-00-10T00:00:00Z', 'month 0')
  refuses('2026-13-10T00:00:00Z', 'month 13')
  accepts('2026-12-31T23:59:59Z', '2026-12-31T23:59:59Z')
  accepts('0000-01-01T00:00:00Z', '0000-01-01T00:00:00Z')
  accepts('9999-12-31T23:59:59.999999999Z', '9999-12-31T23:59:59.999999999Z')
})

describe('time of day', () => {
  refuses('2026-02-19T24:00:00Z', 'hour 24')
  refuses('2026-02-19T20:60:00Z', 'minute 60')
  refuses('2026-02-19T20:11:60Z', 'a leap second')
  refuses('2026-2-19T20:11:44Z', 'a one-digit month')
  refuses('2026-02-19T2:11:44Z', 'a one-digit hour')
})

describe('offsets', () => {
  accepts('2026-02-19T21:11:44.5+01:00', '2026-02-19T20:11:44.500Z')
  accepts('2026-02-19T20:11:44-00:00', '2026-02-19T20:11:44Z')
  accepts('2026-02-19T20:11:44+00:00', '2026-02-19T20:11:44Z')
  accepts('2026-01-01T00:30:00+01:00', '2025-12-31T23:30:00Z')
  accepts('2026-12-31T23:30:00-01:00', '2027-01-01T00:30:00Z')
  accepts('2026-03-01T00:30:00+01:00', '2026-02-28T23:30:00Z')
  accepts('2024-03-01T00:30:00+01:00', '2024-02-29T23:30:00Z')
  accepts('2026-01-31T23:59:59-00:01', '2026-02-01T00:00:59Z')
  accepts('2026-02-19T20:11:44+23:59', '2026-02-18T20:12:44Z')
  accepts('2026-02-19T20:11:44-23:59', '2026-02-20T20:10:44Z')
  accepts('2026-02-19T05:30:00+05:30', '2026-02-19T00:00:00Z')
  refuses('2026-02-19T20:11:44+24:00', 'offset hour 24')
  refuses('2026-02-19T20:11:44+01:60', 'offset minute 60')
  refuses('2026-02-19T20:11:44+0100', 'an offset without a colon')
  refuses('2026-02-19T20:11:44+01', 'an offset without minutes')
  refuses('2026-02-19T20:11:44', 'a missing offset')
  refuses('0000-01-01T00:00:00+00:01', 'an instant before year 0')
  refuses('9999-12-31T23:59:59-00:01', 'an instant after year 9999')
})

describe('fractions', () => {
  accepts('2026-02-19T20:11:44.000Z', '2026-02-19T20:11:44Z')
  accepts('2026-02-19T20:11:44.12Z', '2026-02-19T20:11:44.120Z')
  accepts('2026-02-19T20:11:44.1234Z', '2026-02-19T20:11:44.123400Z')
  accepts('2026-02-19T20:11:44.123000Z', '2026-02-19T20:11:44.123Z')
  accepts('2026-02-19T20:11:44.100000000Z', '2026-02-19T20:11:44.100Z')
  accepts('2026-02-19T20:11:44.000001Z', '2026-02-19T20:11:44.000001Z')
  accepts('2026-02-19T20:11:44.000000001Z', '2026-02-19T20:11:44.000000001Z')
  accepts('2026-02-19T20:11:44.1234567891Z', '2026-02-19T20:11:44.123456789Z')
  accepts('2026-02-19T20:11:44.9999999999Z', '2026-02-19T20:11:44.999999999Z')
  accepts('2026-02-19T20:11:44.0000000009Z', '2026-02-19T20:11:44Z')
  accepts('2026-02-19T20:11:44.123456789000000Z', '2026-02-19T20:11:44.123456789Z')
  refuses('2026-02-19T20:11:44.Z', 'a dot without digits')
  refuses('2026-02-19T20:11:44,5Z', 'a comma as decimal separator')
})

describe('separators and case', () => {
  accepts('2026-02-19 20:11:44Z', '2026-02-19T20:11:44Z')
  accepts('2026-02-19T20:11:44z', '2026-02-19T20:11:44Z')
  accepts('2026-02-19 20:11:44.5z', '2026-02-19T20:11:44.500Z')
  refuses('2026-02-19t20:11:44Z', 'a lowercase t separator (§1.5 grammar allows only T or space)')
  refuses('2026-02-19_20:11:44Z', 'an underscore separator')
  refuses(' 2026-02-19T20:11:44Z', 'leading whitespace')
  refuses('2026-02-19T20:11:44Z ', 'trailing whitespace')
  refuses('2026-02-19T20:11:44ZZ', 'a doubled Z')
  refuses('2026-02-19', 'a date alone')
  refuses('', 'the empty string')
  refuses('２０２６-02-19T20:11:44Z', 'non-ASCII digits')
})

describe('sortable form', () => {
  const cases: readonly [string, string][] = [
    ['2026-02-19T20:11:44Z', '2026-02-19T20:11:44.000000000Z'],
    ['2026-02-19T20:11:44.500Z', '2026-02-19T20:11:44.500000000Z'],
    ['2026-02-19T20:11:44.000001Z', '2026-02-19T20:11:44.000001000Z'],
    ['2026-02-19T20:11:44.123456789Z', '2026-02-19T20:11:44.123456789Z'],
  ]
  for (const [input, sortable] of cases) {
    test(`${input} sorts as ${sortable}`, () => {
      assert.equal(toSortableTimestamp(parseTimestamp(input)), sortable)
    })
  }
  test('always has 9 fraction digits and sorts as text in time order', () => {
    const inputs = [
      '2026-02-19T20:11:44.9Z',
      '2026-02-19T20:11:44Z',
      '2026-02-19T20:11:44.000000001Z',
      '2026-02-19T20:11:45Z',
      '2025-12-31T23:59:59.999999999Z',
      '2026-02-19T20:11:44.1Z',
      '2026-02-19T20:11:44.01Z',
    ]
    const sortable = inputs.map((t) => toSortableTimestamp(parseTimestamp(t)))
    for (const s of sortable) assert.match(s, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/)
    assert.deepEqual([...sortable].sort(), [
      '2025-12-31T23:59:59.999999999Z',
      '2026-02-19T20:11:44.000000000Z',
      '2026-02-19T20:11:44.000000001Z',
      '2026-02-19T20:11:44.010000000Z',
      '2026-02-19T20:11:44.100000000Z',
      '2026-02-19T20:11:44.900000000Z',
      '2026-02-19T20:11:45.000000000Z',
    ])
  })
})

describe('milliseconds', () => {
  const cases: readonly [number, string][] = [
    [0, '1970-01-01T00:00:00Z'],
    [1, '1970-01-01T00:00:00.001Z'],
    [999, '1970-01-01T00:00:00.999Z'],
    [1000, '1970-01-01T00:00:01Z'],
    [1771531904100, '2026-02-19T20:11:44.100Z'],
    [1771531904123, '2026-02-19T20:11:44.123Z'],
    [951782400000, '2000-02-29T00:00:00Z'],
    [-1, '1969-12-31T23:59:59.999Z'],
    [253402300799999, '9999-12-31T23:59:59.999Z'],
  ]
  for (const [ms, text] of cases) {
    test(`timestampFromMillis(${ms}) is ${text}`, () => {
      assert.equal(timestampFromMillis(ms), text)
    })
    test(`timestampToMillis(${text}) is ${ms}`, () => {
      assert.equal(timestampToMillis(parseTimestamp(text)), ms)
    })
  }
  test('agrees with Date.prototype.toISOString for a range of instants', () => {
    for (
      let ms = -86_400_000 * 400;
      ms < 86_400_000 * 365 * 60;
      ms += 86_400_000 * 37 + 3_600_007
    ) {
      const iso = new Date(ms).toISOString()
      assert.equal(parseTimestamp(iso), timestampFromMillis(ms), iso)
      assert.equal(timestampToMillis(timestampFromMillis(ms)), ms)
    }
  })
  test('timestampToMillis drops the sub-millisecond part', () => {
    assert.equal(timestampToMillis(parseTimestamp('1970-01-01T00:00:00.000999999Z')), 0)
  })
})
