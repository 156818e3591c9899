/**
 * RFC 3339 timestamps as chrono reads and writes them (PROTOCOL.md §1.5). Instants are kept as
 * canonical text with exact nanoseconds; nothing here goes through a JavaScript `Date` for the
 * fraction, so received precision is never lost.
 */
import { EgregoreError } from '../errors.js'

/** A timestamp in canonical form: `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z`. */
export type Timestamp = string & { readonly __brand: 'Timestamp' }

/** 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z in Unix ms: chrono writes a sign outside. */
const MIN_MILLIS = -62167219200000
const MAX_MILLIS = 253402300800000

const INPUT =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

/** Parse an accepted RFC 3339 form (§1.5) into canonical UTC. Throws `DECODE_ERROR`. */
export function parseTimestamp(text: string): Timestamp {
  const m = INPUT.exec(text)
  if (m === null) throw badTimestamp(text)
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = m
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  const hour = Number(h)
  const minute = Number(mi)
  const second = Number(s)
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) throw badTimestamp(text)
  if (hour > 23 || minute > 59 || second > 59) throw badTimestamp(text)
  let offsetSeconds = 0
  if (z === undefined) {
    const offH = Number(oh)
    const offM = Number(om)
    if (offH > 23 || offM > 59) throw badTimestamp(text)
    offsetSeconds = (offH * 3600 + offM * 60) * (sign === '-' ? -1 : 1)
  }
  // Fraction digits beyond nanoseconds are truncated, not rounded (§1.5).
  const nanos = (frac ?? '').slice(0, 9).padEnd(9, '0')
  const epoch = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
  return formatCanonical(epoch - offsetSeconds, nanos, text)
}

/** The canonical timestamp for a millisecond Unix time (our own publishes, §5.5). */
export function timestampFromMillis(ms: number): Timestamp {
  if (!Number.isSafeInteger(ms) || ms < MIN_MILLIS || ms >= MAX_MILLIS) {
    throw new RangeError(
      `timestampFromMillis: expected whole milliseconds in years 0000–9999, got ${ms}`,
    )
  }
  const seconds = Math.floor(ms / 1000)
  const millis = ms - seconds * 1000
  return formatCanonical(seconds, String(millis).padStart(3, '0') + '000000', String(ms))
}

/** The sortable form of a canonical timestamp: always 9 fraction digits (§1.5 Ordering). */
export function toSortableTimestamp(ts: Timestamp): string {
  const dot = ts.indexOf('.', 19)
  if (dot < 0) return ts.slice(0, 19) + '.000000000Z'
  return ts.slice(0, 20) + ts.slice(20, -1).padEnd(9, '0') + 'Z'
}

/** Milliseconds since the Unix epoch of a canonical timestamp (sub-millisecond part dropped). */
export function timestampToMillis(ts: Timestamp): number {
  const sortable = toSortableTimestamp(ts)
  const epoch =
    daysFromCivil(
      Number(sortable.slice(0, 4)),
      Number(sortable.slice(5, 7)),
      Number(sortable.slice(8, 10)),
    ) *
      86400 +
    Number(sortable.slice(11, 13)) * 3600 +
    Number(sortable.slice(14, 16)) * 60 +
    Number(sortable.slice(17, 19))
  return epoch * 1000 + Number(sortable.slice(20, 23))
}

function formatCanonical(epochSeconds: number, nanos: string, original: string): Timestamp {
  const days = Math.floor(epochSeconds / 86400)
  const secOfDay = epochSeconds - days * 86400
  const [year, month, day] = civilFromDays(days)
  // chrono writes years outside 0000–9999 with a sign; no honest node can produce one.
  if (year < 0 || year > 9999) throw badTimestamp(original)
  const hh = Math.floor(secOfDay / 3600)
  const mm = Math.floor((secOfDay % 3600) / 60)
  const ss = secOfDay % 60
  let fraction = ''
  if (nanos !== '000000000') {
    if (nanos.endsWith('000000')) fraction = '.' + nanos.slice(0, 3)
    else if (nanos.endsWith('000')) fraction = '.' + nanos.slice(0, 6)
    else fraction = '.' + nanos
  }
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}${fraction}Z` as Timestamp
}

function badTimestamp(text: string): EgregoreError {
  return new EgregoreError(
    'DECODE_ERROR',
    `invalid timestamp: ${JSON.stringify(text.slice(0, 64))}`,
  )
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return isLeapYear(y) ? 29 : 28
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y
  const era = Math.floor(yy / 400)
  const yoe = yy - era * 400
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

function civilFromDays(z: number): [number, number, number] {
  const zz = z + 719468
  const era = Math.floor(zz / 146097)
  const doe = zz - era * 146097
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  )
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1
  const m = mp < 10 ? mp + 3 : mp - 9
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d]
}
