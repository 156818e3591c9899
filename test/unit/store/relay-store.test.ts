/** The relay's registrations in known_peers (PROTOCOL.md §9.3–9.5): outcomes as values. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createRelayStore, openDatabase, type Registration } from '../../../src/store/index.js'
import { buildFeed, createTestEngine, messagesOf, testIdentity } from '../../helpers/feeds.js'

const ids = [1, 2, 3, 4].map((n) => testIdentity(0x30 + n).id)

function reg(publicId: string, extra: Partial<Registration> = {}): Registration {
  return { publicId, nickname: null, private: false, firstSeen: '2026-01-01T00:00:00Z', ...extra }
}

function open() {
  const db = openDatabase(':memory:')
  return { db, relay: createRelayStore(db) }
}

describe('registerPeer (§9.5)', () => {
  it('creates an authorised row without address; a second attempt is already_registered', () => {
    const { db, relay } = open()
    assert.equal(relay.registerPeer(reg(ids[0] as string, { nickname: 'a' }), 0), 'registered')
    assert.equal(relay.registerPeer(reg(ids[0] as string), 0), 'already_registered')
    assert.deepEqual(
      db
        .prepare(
          'SELECT address, nickname, private, authorized, first_seen, last_settings_at FROM known_peers',
        )
        .get(),
      {
        address: null,
        nickname: 'a',
        private: 0,
        authorized: 1,
        first_seen: '2026-01-01T00:00:00Z',
        last_settings_at: null,
      },
    )
    assert.equal(relay.isAuthorized(ids[0] as string), true)
    assert.equal(relay.isAuthorized(ids[1] as string), false)
  })

  it('max_peers once that many peers are registered (0 = unlimited); already_registered first', () => {
    const { relay } = open()
    assert.equal(relay.registerPeer(reg(ids[0] as string), 2), 'registered')
    assert.equal(relay.registerPeer(reg(ids[1] as string), 2), 'registered')
    assert.equal(relay.registerPeer(reg(ids[2] as string), 2), 'max_peers')
    assert.equal(relay.registerPeer(reg(ids[0] as string), 2), 'already_registered')
    assert.equal(relay.registerPeer(reg(ids[2] as string), 0), 'registered')
    assert.equal(relay.authorizedCount(), 3)
  })

  it('authorizedCount counts registered peers with authorized = 1 (not addresses)', () => {
    const { db, relay } = open()
    for (const id of ids) relay.registerPeer(reg(id), 0)
    db.prepare('UPDATE known_peers SET authorized = 0 WHERE public_id = ?').run(ids[3])
    assert.equal(relay.authorizedCount(), 3)
    assert.equal(relay.isAuthorized(ids[3] as string), false)
  })
})

describe('updateSettings (§9.4 replay protection)', () => {
  it('not_registered for an unknown ID', () => {
    const { relay } = open()
    assert.equal(
      relay.updateSettings(ids[0] as string, true, '2026-01-01T00:00:00.000000000Z'),
      'not_registered',
    )
  })

  it('accepts strictly later timestamps only; absent private leaves the flag', () => {
    const { relay } = open()
    const id = ids[0] as string
    relay.registerPeer(reg(id), 0)
    const t1 = '2026-01-01T00:00:01.000000000Z'
    const t2 = '2026-01-01T00:00:01.000000001Z'
    assert.equal(relay.updateSettings(id, true, t1), 'updated')
    assert.equal(relay.directory().length, 0)
    assert.equal(relay.updateSettings(id, false, t1), 'stale', 'a replay')
    assert.equal(relay.updateSettings(id, false, '2026-01-01T00:00:00.000000000Z'), 'stale')
    assert.equal(relay.directory().length, 0, 'a refused request changes nothing')
    assert.equal(relay.updateSettings(id, undefined, t2), 'updated')
    assert.equal(relay.directory().length, 0, 'private unchanged')
  })
})

describe('directory, sync times, feed bytes', () => {
  it('lists authorised, non-private peers in registration order', () => {
    const { relay } = open()
    relay.registerPeer(reg(ids[2] as string, { nickname: 'third' }), 0)
    relay.registerPeer(reg(ids[0] as string, { private: true }), 0)
    relay.registerPeer(reg(ids[1] as string), 0)
    relay.recordSynced(ids[1] as string, '2026-01-02T00:00:00Z')
    assert.deepEqual(relay.directory(), [
      { publicId: ids[2], nickname: 'third', lastConnected: null },
      { publicId: ids[1], nickname: null, lastConnected: '2026-01-02T00:00:00Z' },
    ])
  })

  it('feedBytes sums the stored wire text of each author in UTF-8 bytes', async (t) => {
    const te = createTestEngine(t)
    const author = testIdentity(0x41)
    const feed = messagesOf(
      buildFeed(author, 3, { contentFn: () => ({ type: 'note', t: 'é€😀' }) }),
    )
    await te.engine.ingestMany(feed)
    const expected = te.store
      .messagesAfter(author.id, 0, 10)
      .reduce((n, m) => n + Buffer.byteLength(m.wireText), 0)
    assert.deepEqual(createRelayStore(te.db).feedBytes(), new Map([[author.id, expected]]))
  })
})
