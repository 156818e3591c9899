/** Query parameter parsing (PROTOCOL.md §7.1): repeated → INVALID_QUERY; strict integers and booleans. */
import { ApiError } from './api-error.js'

export type RawQuery = Readonly<Record<string, string | string[] | undefined>>

/** A single-valued string parameter, or `undefined`. */
export function queryString(q: RawQuery, name: string): string | undefined {
  const v = q[name]
  if (Array.isArray(v)) throw new ApiError('INVALID_QUERY', `query parameter '${name}' is repeated`)
  return v
}

/** A decimal integer 0 … 2^32 − 1, or `undefined`. */
export function queryInt(q: RawQuery, name: string): number | undefined {
  const v = queryString(q, name)
  if (v === undefined) return undefined
  if (!/^\d{1,10}$/.test(v) || Number(v) > 0xffffffff) {
    throw new ApiError('INVALID_QUERY', `invalid query parameter '${name}'`)
  }
  return Number(v)
}

/** Exactly `true` or `false`, or `undefined`. */
export function queryBool(q: RawQuery, name: string): boolean | undefined {
  const v = queryString(q, name)
  if (v === undefined) return undefined
  if (v !== 'true' && v !== 'false')
    throw new ApiError('INVALID_QUERY', `invalid query parameter '${name}'`)
  return v === 'true'
}
