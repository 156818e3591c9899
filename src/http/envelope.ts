/**
 * The response envelope (PROTOCOL.md §7.2): keys in the order success, data, error, metadata;
 * absent keys omitted. `data` is passed as JSON text so stored messages are spliced verbatim.
 */

/** Metadata of list routes (effective values) and publish warnings. */
export interface Metadata {
  readonly limit?: number
  readonly offset?: number
  /** Relay `GET /v1/feed` paging (PROTOCOL.md §9.5). */
  readonly page?: number
  readonly per_page?: number
  readonly warnings?: readonly string[]
  /** Search ordering: `rank` (BM25) or `recency` (very broad queries). */
  readonly order?: string
}

/** A success envelope around `dataJson` (already JSON text). */
export function okEnvelope(dataJson: string, metadata?: Metadata): string {
  const meta = metadata === undefined ? '' : `,"metadata":${JSON.stringify(metadata)}`
  return `{"success":true,"data":${dataJson}${meta}}`
}

/** An error envelope. */
export function errorEnvelope(code: string, message: string): string {
  return JSON.stringify({ success: false, error: { code, message } })
}

/** A JSON array of items that are already JSON text (e.g. stored wire texts). */
export function jsonArray(items: readonly string[]): string {
  return `[${items.join(',')}]`
}
