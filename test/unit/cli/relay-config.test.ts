/** `egregore-relay` flags → RelayConfig (PROTOCOL.md §9.2): defaults, validation, environment. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { resolveRelayConfig } from '../../../src/cli/relay-cli.js'
import { isEgregoreError } from '../../../src/errors.js'

const configError = (err: unknown): boolean => isEgregoreError(err, 'CONFIG_ERROR')

describe('resolveRelayConfig', () => {
  it('applies the defaults of §9.2', () => {
    const { relay, logLevel } = resolveRelayConfig({}, {}, '1.2.3')
    assert.deepEqual(relay, {
      dataDir: './relay-data',
      port: 7660,
      bind: '0.0.0.0',
      gossipPort: 7661,
      gossipBind: '0.0.0.0',
      networkKey: 'egregore-network-v1',
      maxPeers: 10000,
      maxLinks: 1024,
      ttlDays: 30,
      maxFeedBytes: 64 * 1024 * 1024,
      sync: 'normal',
      version: '1.2.3',
    })
    assert.equal(logLevel, 'info')
  })

  it('takes every flag, 0 where 0 means unlimited or forever, and EGREGORE_LOG', () => {
    const { relay, logLevel } = resolveRelayConfig(
      {
        dataDir: '/srv/relay',
        port: '0',
        gossipPort: '0',
        bind: '127.0.0.1',
        gossipBind: '::1',
        networkKey: 'team',
        maxPeers: '0',
        maxLinks: '8',
        ttlDays: '0',
        maxFeedBytes: '0',
        sync: 'full',
      },
      { EGREGORE_LOG: 'debug' },
      '0',
    )
    assert.equal(relay.dataDir, '/srv/relay')
    assert.equal(relay.port, 0)
    assert.equal(relay.gossipBind, '::1')
    assert.equal(relay.maxPeers, 0)
    assert.equal(relay.ttlDays, 0)
    assert.equal(relay.maxFeedBytes, 0)
    assert.equal(relay.sync, 'full')
    assert.equal(logLevel, 'debug')
  })

  it('rejects bad values with CONFIG_ERROR naming the flag', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ port: '65536' }, /--port/],
      [{ gossipPort: '-1' }, /--gossip-port/],
      [{ port: '7700', gossipPort: '7700' }, /must differ/],
      [{ ttlDays: '1.5' }, /--ttl-days/],
      [{ maxPeers: 'lots' }, /--max-peers/],
      [{ maxFeedBytes: '64MiB' }, /--max-feed-bytes/],
      [{ bind: 'relay.example.com' }, /--bind/],
      [{ networkKey: '' }, /--network-key/],
      [{ dataDir: '' }, /--data-dir/],
      [{ sync: 'sometimes' }, /--sync/],
      [{ logLevel: 'loud' }, /--log-level/],
    ]
    for (const [flags, message] of bad) {
      assert.throws(() => resolveRelayConfig(flags, {}, '0'), configError, JSON.stringify(flags))
      assert.throws(() => resolveRelayConfig(flags, {}, '0'), message)
    }
  })
})
