/** Network key and LAN discriminator (PROTOCOL.md §3.1). */
import { sha256 } from './hash.js'

/** The default network key string; anyone who knows it can join (log a warning when used). */
export const DEFAULT_NETWORK_KEY = 'egregore-network-v1'

/** K = SHA-256(UTF-8(network key string)); no trimming. */
export function deriveNetworkKey(networkKey: string): Uint8Array {
  return sha256(networkKey)
}

/** LAN discriminator = SHA-256(K)[0..8]. */
export function lanDiscriminator(key: Uint8Array): Uint8Array {
  return sha256(key).slice(0, 8)
}
