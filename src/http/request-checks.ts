/**
 * DNS-rebinding and cross-origin protection (PROTOCOL.md §7.1): only loopback Host names, no
 * foreign Origin, optional bearer token. Pure functions over header values.
 */
import { bytesEqual, utf8 } from '../codec/index.js'

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

/** True when a Host header names this machine's loopback interface (any port). */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined || host === '') return false
  const h = host.trim().toLowerCase()
  let name: string
  if (h.startsWith('[')) {
    const end = h.indexOf(']')
    if (end < 0) return false
    name = h.slice(0, end + 1)
    const rest = h.slice(end + 1)
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return false
  } else {
    const colon = h.lastIndexOf(':')
    name = colon < 0 ? h : h.slice(0, colon)
    if (colon >= 0 && !/^\d{1,5}$/.test(h.slice(colon + 1))) return false
  }
  return LOOPBACK_NAMES.has(name)
}

/** True when an Origin header is absent or names a loopback host. `null` origins are foreign. */
export function isAllowedOrigin(origin: string | undefined): boolean {
  if (origin === undefined) return true
  try {
    return LOOPBACK_NAMES.has(new URL(origin).hostname.toLowerCase())
  } catch {
    return false // `null` and other unparsable origins come from opaque (foreign) contexts
  }
}

/** Constant-time bearer token check of an Authorization header. */
export function hasBearerToken(authorization: string | undefined, token: string): boolean {
  if (authorization === undefined) return false
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
  if (m === null) return false
  const given = utf8(m[1] as string)
  const expected = utf8(token)
  return given.length === expected.length && bytesEqual(given, expected)
}
