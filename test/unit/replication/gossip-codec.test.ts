/**
 * Gossip codec rules of PROTOCOL.md §4.1 not covered by gossip-transcript.json: the size check,
 * integer ranges, the clamp of advertised sequences, optional arrays, and each `DecodeLimits`
 * count (validate everything, then keep the first N).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  MAX_GOSSIP_MESSAGE_BYTES,
  MAX_MESSAGES_PER_DOCUMENT,
  MAX_PEER_OBSERVATIONS,
  MAX_SEQUENCE,
  MAX_WANT_REQUESTS,
  utf8,
} from '../../../src/codec/index.js'
import {
  DEFAULT_DECODE_LIMITS,
  parseGossipMessage,
  writeGossipMessage,
  type GossipMessage,
} from '../../../src/replication/index.js'
import { egregoreError } from '../../helpers/vectors.js'

const A = '@A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=.ed25519'
const MSG1 =
  '{"author":"@A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=.ed25519","sequence":1,"previous":null,"timestamp":"2026-02-19T20:11:44.123456789Z","content":{"confidence":0.85,"observation":"First message","tags":["test"],"title":"Hello","type":"insight"},"hash":"bf226d8c5a3e224ce51c5091b19eeb24d0673b7b565412b622e7164871195dd2","signature":"XpKl1+zjRjWYWHcRqK8uIKtlpgxgyXReSiPakhpiwJY1YfOzxQHZKvR9M4SW3QjRpT2jmH4t3HorsPkkpq4nAw=="}'

function parse(json: string, limits = {}): GossipMessage {
  return parseGossipMessage(utf8(json), limits)
}

function rejects(json: string): void {
  assert.throws(() => parse(json), egregoreError('DECODE_ERROR'), json.slice(0, 200))
}

function repeat(item: string, n: number): string {
  return Array.from({ length: n }, () => item).join(',')
}

describe('gossip codec: rules of §4.1', () => {
  test('default limits are the protocol constants', () => {
    assert.deepEqual(DEFAULT_DECODE_LIMITS, {
      maxBytes: 131072,
      maxWantRequests: 500,
      maxMessagesPerDocument: 200,
      maxPeerObservations: 500,
    })
    assert.equal(MAX_GOSSIP_MESSAGE_BYTES, 131072)
    assert.equal(MAX_WANT_REQUESTS, 500)
    assert.equal(MAX_MESSAGES_PER_DOCUMENT, 200)
    assert.equal(MAX_PEER_OBSERVATIONS, 500)
  })

  test('rule 1: a document above maxBytes is rejected before parsing; at the limit it parses', () => {
    const pad = (n: number): string => {
      const head = '{"type":"done","x":"'
      return head + 'a'.repeat(n - head.length - 2) + '"}'
    }
    assert.equal(parse(pad(131072)).type, 'done')
    rejects(pad(131073))
    // Not even valid JSON: the size check comes first and still gives DECODE_ERROR.
    assert.throws(() => parse('{'.repeat(20), { maxBytes: 10 }), /exceeds 10/)
  })

  test('rule 1: invalid UTF-8, invalid JSON and non-objects are rejected', () => {
    assert.throws(
      () => parseGossipMessage(Uint8Array.of(0x7b, 0xff, 0x7d)),
      egregoreError('DECODE_ERROR'),
    )
    for (const json of [
      '',
      '{"type":"done"',
      '"done"',
      'null',
      '[{"type":"done"}]',
      '{"type":"done"} x',
    ])
      rejects(json)
  })

  test('rule 2: type may come last, must be exact; duplicates keep the last', () => {
    assert.equal(parse('{"x":1,"type":"done"}').type, 'done')
    assert.equal(parse('{"type":"want","type":"done"}').type, 'done')
    for (const t of ['"DONE"', '"done "', '"subscribe_ack"', 'null', 'true', '["done"]', '{}'])
      rejects(`{"type":${t}}`)
    rejects('{"kind":"done"}')
  })

  test('rule 3: u32 fields accept 0 and 2^32 − 1 only as integer tokens', () => {
    assert.deepEqual(parse('{"type":"credit_grant","amount":4294967295}'), {
      type: 'credit_grant',
      amount: 4294967295,
    })
    for (const v of ['4294967296', '-1', '1.0', '1e2', '-0', '"1"', 'null', 'true'])
      rejects(`{"type":"credit_grant","amount":${v}}`)
    rejects('{"type":"flow_control_ack","supported":false}')
    rejects('{"type":"flow_control_ack","supported":0,"initial_credits":0}')
    rejects('{"type":"subscribeack","accepted":"true","mode":"persistent"}')
    rejects('{"type":"subscribeack","accepted":true}')
  })

  test('rule 3: u64 fields accept up to 2^64 − 1; advertised sequences clamp to 2^53 − 1', () => {
    const have = parse(
      `{"type":"have","feeds":[{"author":"${A}","latest_sequence":18446744073709551615},{"author":"x","latest_sequence":9007199254740992}]}`,
    )
    assert.ok(have.type === 'have')
    assert.deepEqual(
      have.feeds.map((f) => f.latestSequence),
      [MAX_SEQUENCE, MAX_SEQUENCE],
    )
    // The author format is not the codec's business (§4.4 skips bad authors one by one).
    assert.equal(have.feeds[1]?.author, 'x')
    rejects(`{"type":"have","feeds":[{"author":"${A}","latest_sequence":18446744073709551616}]}`)
    rejects(`{"type":"have","feeds":[{"author":"${A}","latest_sequence":2.0}]}`)
    rejects(`{"type":"have","feeds":[{"author":1,"latest_sequence":2}]}`)
    rejects(`{"type":"have","feeds":[{"latest_sequence":2}]}`)
    rejects(`{"type":"have","feeds":[null]}`)
    rejects(`{"type":"have","feeds":{}}`)
    rejects(`{"type":"want","requests":[{"author":"${A}"}]}`)
  })

  test('rule 3: peer observations need every field, a valid timestamp and a u32 generation', () => {
    const ok = `{"peer_id":"${A}","last_seen_at":"2026-02-19T20:11:44Z","last_seq":99999999999999999999,"generation":3}`
    rejects(
      `{"type":"have","feeds":[],"peer_observations":[${ok.replace('"generation":3', '"generation":4294967296')}]}`,
    )
    rejects(
      `{"type":"have","feeds":[],"peer_observations":[${ok.replace('2026-02-19T20:11:44Z', 'yesterday')}]}`,
    )
    rejects(
      `{"type":"have","feeds":[],"peer_observations":[${ok.replace(`"peer_id":"${A}",`, '')}]}`,
    )
    // 99999999999999999999 > 2^64 − 1 is a float token: rejected.
    rejects(`{"type":"have","feeds":[],"peer_observations":[${ok}]}`)
  })

  test('rule 3: enum strings are exact', () => {
    for (const m of ['"Persistent"', '"pull-only"', '""', 'null', '1'])
      rejects(`{"type":"subscribe","mode":${m}}`)
    rejects('{"type":"subscribe"}')
  })

  test('rule 4: optional arrays missing are empty, null or another type is an error', () => {
    assert.deepEqual(parse('{"type":"have","feeds":[]}'), {
      type: 'have',
      feeds: [],
      peerObservations: [],
      subscribedTopics: [],
    })
    for (const key of ['peer_observations', 'subscribed_topics']) {
      rejects(`{"type":"have","feeds":[],"${key}":null}`)
      rejects(`{"type":"have","feeds":[],"${key}":{}}`)
    }
    rejects('{"type":"have","feeds":[],"subscribed_topics":[1]}')
    rejects('{"type":"have","feeds":null}')
  })

  test('rule 6: bloom_summaries is ignored whatever it holds', () => {
    for (const b of ['null', '1', '"x"', '[{"filter":null}]', '{}'])
      assert.equal(parse(`{"type":"have","feeds":[],"bloom_summaries":${b}}`).type, 'have')
  })

  test('rule 7: a structurally invalid embedded message invalidates the document', () => {
    const bad = MSG1.replace('"sequence":1', '"sequence":1.0')
    rejects(`{"type":"messages","messages":[${MSG1},${bad}]}`)
    rejects(`{"type":"push","message":${bad}}`)
    rejects(
      `{"type":"push","message":${MSG1.replace('"timestamp":"2026-02-19T20:11:44.123456789Z"', '"timestamp":"now"')}}`,
    )
    rejects('{"type":"push"}')
    rejects('{"type":"push","message":null}')
    rejects('{"type":"messages","messages":[1]}')
    // Semantically wrong (bad signature) is still structurally valid: ingest decides.
    const forged = MSG1.replace('"XpKl', '"YpKl')
    assert.equal(parse(`{"type":"push","message":${forged}}`).type, 'push')
  })

  test('received messages keep the canonical wire form: unknown keys dropped, key order fixed', () => {
    const shuffled =
      '{"signature":"XpKl1+zjRjWYWHcRqK8uIKtlpgxgyXReSiPakhpiwJY1YfOzxQHZKvR9M4SW3QjRpT2jmH4t3HorsPkkpq4nAw==","extra":[1],' +
      MSG1.slice(1).replace(
        ',"signature":"XpKl1+zjRjWYWHcRqK8uIKtlpgxgyXReSiPakhpiwJY1YfOzxQHZKvR9M4SW3QjRpT2jmH4t3HorsPkkpq4nAw=="',
        '',
      )
    const doc = parse(`{"type":"push","message":${shuffled}}`)
    assert.ok(doc.type === 'push')
    assert.equal(doc.message.wireText, MSG1)
    assert.equal(writeGossipMessage(doc), `{"type":"push","message":${MSG1}}`)
  })
})

describe('gossip codec: DecodeLimits truncate after validating', () => {
  test('messages: only the first 200 are kept; all are validated', () => {
    const doc = parse(`{"type":"messages","messages":[${repeat(MSG1, 201)}]}`)
    assert.ok(doc.type === 'messages')
    assert.equal(doc.messages.length, 200)
    const bad = MSG1.replace('"hash":"', '"hash":1,"x":"')
    rejects(`{"type":"messages","messages":[${repeat(MSG1, 200)},${bad}]}`)
    const two = parse(`{"type":"messages","messages":[${repeat(MSG1, 3)}]}`, {
      maxMessagesPerDocument: 2,
    })
    assert.ok(two.type === 'messages' && two.messages.length === 2)
  })

  test('want: only the first 500 requests are kept, in order; all are validated', () => {
    const req = (i: number): string => `{"author":"${A}","after_sequence":${i}}`
    const all = Array.from({ length: 501 }, (_, i) => req(i)).join(',')
    const doc = parse(`{"type":"want","requests":[${all}]}`)
    assert.ok(doc.type === 'want')
    assert.equal(doc.requests.length, 500)
    assert.equal(doc.requests[499]?.afterSequence, 499)
    rejects(`{"type":"want","requests":[${all},{"author":"${A}","after_sequence":-1}]}`)
  })

  test('have: only the first 500 peer observations are kept; feeds are not limited', () => {
    const obs = (i: number): string =>
      `{"peer_id":"${A}","last_seen_at":"2026-02-19T20:11:44Z","last_seq":${i},"generation":1}`
    const feeds = repeat(`{"author":"${A}","latest_sequence":1}`, 600)
    const observations = Array.from({ length: 501 }, (_, i) => obs(i)).join(',')
    const doc = parse(`{"type":"have","feeds":[${feeds}],"peer_observations":[${observations}]}`)
    assert.ok(doc.type === 'have')
    assert.equal(doc.feeds.length, 600)
    assert.equal(doc.peerObservations.length, 500)
    assert.equal(doc.peerObservations[499]?.lastSeq, 499)
  })
})

describe('gossip codec: writing', () => {
  test('empty optional arrays are omitted, non-empty ones written in table order', () => {
    assert.equal(
      writeGossipMessage({
        type: 'have',
        feeds: [],
        peerObservations: [],
        subscribedTopics: ['a"b'],
      }),
      '{"type":"have","feeds":[],"subscribed_topics":["a\\"b"]}',
    )
  })

  test('values the wire cannot carry are caller bugs (RangeError)', () => {
    assert.throws(() => writeGossipMessage({ type: 'credit_grant', amount: 2 ** 32 }), RangeError)
    assert.throws(() => writeGossipMessage({ type: 'credit_request', suggested: 1.5 }), RangeError)
    assert.throws(
      () => writeGossipMessage({ type: 'want', requests: [{ author: A, afterSequence: -1 }] }),
      RangeError,
    )
    assert.throws(
      () =>
        writeGossipMessage({
          type: 'have',
          feeds: [{ author: A, latestSequence: 2 ** 53 }],
          peerObservations: [],
          subscribedTopics: [],
        }),
      RangeError,
    )
  })
})
