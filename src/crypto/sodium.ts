/** The one import of sodium-native (STYLE.md §8); everything else in crypto/ goes through here. */
import sodium from 'sodium-native'

export { sodium }

/** Fresh random bytes from libsodium's CSPRNG. */
export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length)
  sodium.randombytes_buf(out)
  return out
}

/** Overwrite secret material. */
export function wipe(bytes: Uint8Array): void {
  sodium.sodium_memzero(bytes)
}
