/**
 * LAN discovery announcements (PROTOCOL.md §8.1, §8.3 steps 1–3): the UDP datagram we send and
 * the receive filter. Pure: no sockets, no clock (the socket side is node/discovery.ts).
 */
import {
  LAN_RECEIVE_BUFFER_BYTES,
  LAN_MIN_GOSSIP_PORT,
  bytesEqual,
  parseJsonBytes,
  type JsonValue,
} from '../codec/index.js'

/** ASCII `EGRE`, the announcement's `magic` (§8.1). */
export const ANNOUNCEMENT_MAGIC: readonly number[] = [69, 71, 82, 69]

/** What an announcement says: where the sender's gossip server listens, and who it is. */
export interface Announcement {
  readonly gossipPort: number
  /** The announced public ID; only a string here, checked by the verification dial (§8.3 step 5). */
  readonly publicId: string
}

/** Why a received datagram is ignored (§8.3 step 2, in the order checked; the vectors' texts). */
export type AnnouncementRejectReason =
  'unparseable' | 'magic mismatch' | 'network mismatch' | 'self' | 'port below 1024'

/** The receive filter's decision on one datagram. */
export type AnnouncementDecision =
  | { readonly accept: true; readonly announcement: Announcement }
  | { readonly accept: false; readonly reason: AnnouncementRejectReason }

/** Who we are, for the filter. */
export interface AnnouncementFilter {
  /** Our 8-byte LAN discriminator (§3.1). */
  readonly ourDiscriminator: Uint8Array
  /** Our public ID: our own announcements come back to us. */
  readonly ourId: string
}

const encoder = new TextEncoder()

/**
 * The announcement datagram (§8.1): compact JSON, keys in the order magic, network_key_hash,
 * gossip_port, public_id. Throws `RangeError` for a discriminator that is not 8 bytes or a port
 * outside 1–65535.
 */
export function encodeAnnouncement(fields: {
  readonly networkKeyHash: Uint8Array
  readonly gossipPort: number
  readonly publicId: string
}): Uint8Array {
  const { networkKeyHash, gossipPort, publicId } = fields
  if (networkKeyHash.length !== 8) {
    throw new RangeError(`networkKeyHash: expected 8 bytes, got ${networkKeyHash.length}`)
  }
  if (!Number.isInteger(gossipPort) || gossipPort < 1 || gossipPort > 65535) {
    throw new RangeError(`gossipPort: expected an integer from 1 to 65535, got ${gossipPort}`)
  }
  const text =
    `{"magic":[${ANNOUNCEMENT_MAGIC.join(',')}],` +
    `"network_key_hash":[${[...networkKeyHash].join(',')}],` +
    `"gossip_port":${gossipPort},"public_id":${JSON.stringify(publicId)}}`
  return encoder.encode(text)
}

/**
 * Apply the receive filter of §8.3 steps 1–2 to a received datagram. Only the first 1024 bytes
 * are read (a longer datagram is truncated, as HEAD's receive buffer truncates it). The four
 * fields must have HEAD's types (`[u8; 4]`, `[u8; 8]`, `u16`, string; a float such as `69.0` is
 * not an integer there); other keys are ignored. Never throws.
 */
export function parseAnnouncement(
  datagram: Uint8Array,
  filter: AnnouncementFilter,
): AnnouncementDecision {
  const fields = readFields(datagram.subarray(0, LAN_RECEIVE_BUFFER_BYTES))
  if (fields === null) return reject('unparseable')
  if (!sameBytes(fields.magic, ANNOUNCEMENT_MAGIC)) return reject('magic mismatch')
  if (!bytesEqual(Uint8Array.from(fields.networkKeyHash), filter.ourDiscriminator)) {
    return reject('network mismatch')
  }
  if (fields.publicId === filter.ourId) return reject('self')
  if (fields.gossipPort < LAN_MIN_GOSSIP_PORT) return reject('port below 1024')
  return {
    accept: true,
    announcement: { gossipPort: fields.gossipPort, publicId: fields.publicId },
  }
}

/**
 * The candidate address of §8.3 step 3: the datagram's source IP with the announced gossip
 * port; an IPv6 source is bracketed (`[fe80::1]:7655`).
 */
export function toCandidateAddress(sourceIp: string, gossipPort: number): string {
  return sourceIp.includes(':') ? `[${sourceIp}]:${gossipPort}` : `${sourceIp}:${gossipPort}`
}

function reject(reason: AnnouncementRejectReason): AnnouncementDecision {
  return { accept: false, reason }
}

function sameBytes(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

interface RawFields {
  readonly magic: number[]
  readonly networkKeyHash: number[]
  readonly gossipPort: number
  readonly publicId: string
}

/** The four fields with their types, or `null` ("parses as JSON with the four fields"). */
function readFields(bytes: Uint8Array): RawFields | null {
  let root: JsonValue
  try {
    // The lossless parser: integers are bigint, floats number, so `69.0` is told from `69`.
    root = parseJsonBytes(bytes)
  } catch {
    return null // not UTF-8 or not JSON: ignored, like any other foreign datagram
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root)) return null
  const magic = uintArray(root['magic'], 4, 0xff)
  const networkKeyHash = uintArray(root['network_key_hash'], 8, 0xff)
  const gossipPort = uint(root['gossip_port'], 0xffff)
  const publicId = root['public_id']
  if (magic === null || networkKeyHash === null || gossipPort === null) return null
  if (typeof publicId !== 'string') return null
  return { magic, networkKeyHash, gossipPort, publicId }
}

function uint(value: JsonValue | undefined, max: number): number | null {
  return typeof value === 'bigint' && value >= 0n && value <= BigInt(max) ? Number(value) : null
}

/** A fixed-length array of integers in 0..max (serde's `[u8; N]`), or `null`. */
function uintArray(value: JsonValue | undefined, length: number, max: number): number[] | null {
  if (!Array.isArray(value) || value.length !== length) return null
  const out: number[] = []
  for (const v of value) {
    const n = uint(v, max)
    if (n === null) return null
    out.push(n)
  }
  return out
}
