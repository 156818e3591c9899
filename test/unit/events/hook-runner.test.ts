/**
 * Hook consumer (PROTOCOL.md §7.8): real subprocesses from scripts in a temp dir and a real HTTP
 * server on 127.0.0.1; timeouts and retry delays shrunk through options and an injected sleep.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { fromPlainJson, utf8, toHex } from '../../../src/codec/index.js'
import { createInlineVerifier, hmacSha256, identityFromSeed } from '../../../src/crypto/index.js'
import { EgregoreError } from '../../../src/errors.js'
import {
  createHookRunner,
  retryDelayMs,
  validateWebhookUrl,
  type HookRunner,
  type HookRunnerDeps,
  type HookRunnerOptions,
} from '../../../src/events/index.js'
import { createFeedEngine } from '../../../src/feed/index.js'
import { createMessageStore, openDatabase } from '../../../src/store/index.js'
import {
  appendHook,
  capturingLogger,
  event,
  freePort,
  isAlive,
  readOr,
  reply,
  script,
  startSink,
  tempDir,
  waitFor,
  type LogEntry,
} from './fixtures.js'

interface Harness {
  readonly runner: HookRunner
  readonly entries: LogEntry[]
  /** Delays the runner asked the injected sleep for. */
  readonly delays: number[]
}

/** A started runner with a capturing logger and an instant sleep; stopped when the test ends. */
function harness(
  t: TestContext,
  options: HookRunnerOptions,
  deps: Partial<HookRunnerDeps> = {},
): Harness {
  const { log, entries } = capturingLogger()
  const delays: number[] = []
  const runner = createHookRunner(
    {
      log,
      random: () => 0.5,
      sleep: (ms) => {
        delays.push(ms)
        return Promise.resolve()
      },
      ...deps,
    },
    options,
  )
  t.after(() => runner.stop())
  void runner.start()
  return { runner, entries, delays }
}

const logged = (entries: LogEntry[], level: LogEntry['level'], pattern: RegExp): LogEntry[] =>
  entries.filter((e) => e.level === level && pattern.test(e.msg))

const processedCount = (runner: HookRunner, n: number): Promise<true> =>
  waitFor(`${n} processed events`, () => runner.stats().processed >= n || undefined)

const wrapped = (...ns: number[]): string => ns.map((n) => `<${event(n).wireText}>`).join('')

describe('hook subprocess', () => {
  it('gets each wire text on stdin, exactly and in order, with no arguments and the environment', async (t) => {
    const dir = tempDir(t)
    const out = join(dir, 'out')
    const side = join(dir, 'side')
    const hookPath = script(
      dir,
      'hook.sh',
      `#!/bin/sh\nprintf '%s:%s;' "$#" "$HOOK_TEST_MARKER" >> '${side}'\nprintf '<' >> '${out}'\ncat >> '${out}'\nprintf '>' >> '${out}'\n`,
    )
    process.env['HOOK_TEST_MARKER'] = 'inherited'
    t.after(() => delete process.env['HOOK_TEST_MARKER'])
    const { runner } = harness(t, { hookPath })
    for (const n of [1, 2, 3]) runner.push(event(n))
    await processedCount(runner, 3)
    assert.equal(readFileSync(out, 'utf8'), wrapped(1, 2, 3))
    assert.equal(readFileSync(side, 'utf8'), '0:inherited;'.repeat(3))
    assert.deepEqual(runner.stats(), { processed: 3, skipped: 0, failed: 0, queued: 0 })
  })

  it('logs a non-zero exit status and goes on with the next event', async (t) => {
    const dir = tempDir(t)
    const out = join(dir, 'out')
    const hookPath = script(
      dir,
      'hook.sh',
      `#!/bin/sh\ninput=$(cat)\nprintf '<%s>' "$input" >> '${out}'\ncase "$input" in *'"sequence":1,'*) exit 3 ;; esac\n`,
    )
    const { runner, entries } = harness(t, { hookPath })
    runner.push(event(1))
    runner.push(event(2))
    await processedCount(runner, 2)
    const warnings = logged(entries, 'warn', /^hook exited with status 3$/)
    assert.equal(warnings.length, 1)
    assert.equal(warnings[0]?.obj['code'], 3)
    assert.equal(warnings[0]?.obj['hash'], event(1).hash)
    assert.deepEqual(runner.stats(), { processed: 2, skipped: 0, failed: 1, queued: 0 })
    assert.equal(readFileSync(out, 'utf8'), wrapped(1, 2))
  })

  it('kills a hook that runs too long together with its process group', async (t) => {
    const dir = tempDir(t)
    const pidFile = join(dir, 'grandchild.pid')
    const hookPath = script(
      dir,
      'slow.sh',
      `#!/bin/sh\nsleep 1000 &\necho $! > '${pidFile}'\nexec sleep 1000\n`,
    )
    const { runner, entries } = harness(t, { hookPath, hookTimeoutMs: 1000 })
    runner.push(event(1))
    const grandchild = await waitFor('grandchild pid', () => {
      const text = readOr(pidFile).trim()
      return text === '' ? undefined : Number(text)
    })
    assert.ok(isAlive(grandchild))
    await processedCount(runner, 1)
    assert.equal(logged(entries, 'warn', /^hook timed out after 1000 ms/).length, 1)
    assert.deepEqual(runner.stats(), { processed: 1, skipped: 0, failed: 1, queued: 0 })
    await waitFor('grandchild to be killed', () => !isAlive(grandchild))
  })

  it('drains 1 MB on stdout and on stderr without deadlock and logs 4 KiB of each', async (t) => {
    const dir = tempDir(t)
    const hookPath = script(
      dir,
      'chatty.sh',
      "#!/bin/sh\nhead -c 1048576 /dev/zero | tr '\\0' o\nhead -c 1048576 /dev/zero | tr '\\0' e >&2\nexit 0\n",
    )
    const { runner, entries } = harness(t, { hookPath, hookTimeoutMs: 10000 })
    runner.push(event(1))
    await processedCount(runner, 1)
    assert.deepEqual(runner.stats(), { processed: 1, skipped: 0, failed: 0, queued: 0 })
    const [output] = logged(entries, 'debug', /^hook output$/)
    assert.ok(output !== undefined)
    assert.equal(output.obj['stdout'], 'o'.repeat(4096))
    assert.equal(output.obj['stderr'], 'e'.repeat(4096))
    assert.equal(output.obj['stdoutBytes'], 1048576)
    assert.equal(output.obj['stderrBytes'], 1048576)
  })

  it('survives a hook that exits without reading a large input (EPIPE)', async (t) => {
    const dir = tempDir(t)
    const hookPath = script(dir, 'deaf.sh', '#!/bin/sh\nexit 0\n')
    const { runner } = harness(t, { hookPath })
    runner.push(event(1, 'note', 'x'.repeat(1 << 20)))
    runner.push(event(2))
    await processedCount(runner, 2)
    assert.deepEqual(runner.stats(), { processed: 2, skipped: 0, failed: 0, queued: 0 })
  })

  it('logs a hook that cannot be started (ENOENT, EACCES) and still calls the webhook', async (t) => {
    const dir = tempDir(t)
    const sink = await startSink(t, (_i, res) => reply(res, 200))
    const notExecutable = script(dir, 'plain.sh', '#!/bin/sh\nexit 0\n', 0o644)
    for (const [hookPath, code] of [
      [join(dir, 'missing.sh'), 'ENOENT'],
      [notExecutable, 'EACCES'],
    ] as const) {
      const { runner, entries } = harness(t, { hookPath, webhookUrl: sink.url })
      runner.push(event(1))
      runner.push(event(2))
      await processedCount(runner, 2)
      const errors = logged(entries, 'error', /^hook could not be started$/)
      assert.equal(errors.length, 2)
      assert.equal(errors[0]?.obj['code'], code)
      assert.deepEqual(runner.stats(), { processed: 2, skipped: 0, failed: 2, queued: 0 })
      await runner.stop()
    }
    assert.deepEqual(
      sink.received.map((r) => r.body),
      [1, 2, 1, 2].map((n) => event(n).wireText),
    )
  })

  it('handles only events of the filter type', async (t) => {
    const dir = tempDir(t)
    const out = join(dir, 'out')
    const { runner } = harness(t, { hookPath: appendHook(dir, out), filterType: 'note' })
    runner.push(event(1, 'note'))
    runner.push(event(2, 'insight'))
    runner.push(event(3, 'unknown'))
    runner.push(event(4, 'note'))
    await processedCount(runner, 2)
    assert.equal(readFileSync(out, 'utf8'), wrapped(1, 4))
    assert.deepEqual(runner.stats(), { processed: 2, skipped: 0, failed: 0, queued: 0 })
  })

  it('drops the oldest events of a burst, warns once with the count, and keeps processing', async (t) => {
    const dir = tempDir(t)
    const out = join(dir, 'out')
    const { runner, entries } = harness(t, { hookPath: appendHook(dir, out), queueSize: 16 })
    for (let n = 1; n <= 5000; n++) runner.push(event(n))
    assert.equal(runner.stats().skipped, 4984)
    assert.ok(runner.stats().queued <= 16)
    const lag = await waitFor('lag warning', () => {
      const found = logged(entries, 'warn', /^hook consumer lagged; \d+ events skipped$/)
      return found.length > 0 ? found : undefined
    })
    assert.equal(lag.length, 1, 'a synchronous burst gives one warning line')
    assert.equal(lag[0]?.msg, 'hook consumer lagged; 4984 events skipped')
    await processedCount(runner, 16)
    runner.push(event(5001))
    await processedCount(runner, 17)
    const kept = Array.from({ length: 16 }, (_, i) => 4985 + i)
    assert.equal(readFileSync(out, 'utf8'), wrapped(...kept, 5001))
    assert.deepEqual(runner.stats(), { processed: 17, skipped: 4984, failed: 0, queued: 0 })
  })

  it('rate-limits lag warnings and sums the skips in between', async (t) => {
    const dir = tempDir(t)
    const hookPath = script(dir, 'stuck.sh', '#!/bin/sh\nexec sleep 1000\n')
    const { runner, entries } = harness(t, { hookPath, queueSize: 4, lagLogIntervalMs: 300 })
    const lagLines = (): LogEntry[] => logged(entries, 'warn', /^hook consumer lagged/)
    const burst = (from: number): void => {
      for (let n = from; n < from + 10; n++) runner.push(event(n))
    }
    burst(0)
    await waitFor('first lag warning', () => lagLines().length === 1)
    burst(100)
    await new Promise((resolve) => setImmediate(resolve))
    burst(200)
    assert.equal(lagLines().length, 1, 'skips inside the interval wait for the next line')
    await waitFor('second lag warning', () => lagLines().length === 2)
    const counts = lagLines().map((e) => e.obj['skipped'] as number)
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      runner.stats().skipped,
    )
    assert.equal(counts[1], runner.stats().skipped - (counts[0] ?? 0))
    assert.ok((counts[1] ?? 0) >= 16, `second line sums two bursts, got ${String(counts[1])}`)
  })

  it('stop() kills a running hook and its group promptly', async (t) => {
    const dir = tempDir(t)
    const pidFile = join(dir, 'grandchild.pid')
    const hookPath = script(
      dir,
      'slow.sh',
      `#!/bin/sh\nsleep 1000 &\necho $! > '${pidFile}'\nexec sleep 1000\n`,
    )
    const { runner } = harness(t, { hookPath })
    runner.push(event(1))
    runner.push(event(2))
    const grandchild = await waitFor('grandchild pid', () => {
      const text = readOr(pidFile).trim()
      return text === '' ? undefined : Number(text)
    })
    const started = Date.now()
    await runner.stop()
    assert.ok(Date.now() - started < 1000, `stop took ${Date.now() - started} ms`)
    await waitFor('grandchild to be killed', () => !isAlive(grandchild))
    assert.deepEqual(runner.stats(), { processed: 0, skipped: 0, failed: 0, queued: 0 })
  })
})

describe('webhook', () => {
  it('POSTs the wire text as JSON with a verifiable signature, and no signature without a secret', async (t) => {
    const sink = await startSink(t, (_i, res) => reply(res, 204))
    const secret = 's3cret-key'
    const signed = harness(t, { webhookUrl: sink.url, webhookSecret: secret })
    signed.runner.push(event(1))
    await processedCount(signed.runner, 1)
    const [first] = sink.received
    assert.ok(first !== undefined)
    assert.equal(first.body, event(1).wireText)
    assert.equal(first.headers['content-type'], 'application/json')
    const expected = `sha256=${toHex(hmacSha256(utf8(secret), utf8(first.body)))}`
    assert.equal(first.headers['x-egregore-signature'], expected)
    assert.ok(!JSON.stringify(signed.entries).includes(secret), 'the secret is never logged')

    const unsigned = harness(t, { webhookUrl: sink.url })
    unsigned.runner.push(event(2))
    await processedCount(unsigned.runner, 1)
    assert.equal(sink.received[1]?.body, event(2).wireText)
    assert.equal(sink.received[1]?.headers['x-egregore-signature'], undefined)
  })

  for (const status of [500, 503, 429]) {
    it(`retries after ${status} and delivers once`, async (t) => {
      const sink = await startSink(t, (i, res) => reply(res, i === 0 ? status : 200))
      const { runner, delays } = harness(t, { webhookUrl: sink.url, retryBaseMs: 100 })
      runner.push(event(1))
      await processedCount(runner, 1)
      assert.equal(sink.received.length, 2)
      assert.deepEqual(delays, [100])
      assert.deepEqual(runner.stats(), { processed: 1, skipped: 0, failed: 0, queued: 0 })
    })
  }

  it('does not retry a 400, and counts a 3xx as delivered without following it', async (t) => {
    const sink = await startSink(t, (i, res) =>
      i === 0 ? reply(res, 400) : reply(res, 302, { location: '/elsewhere' }),
    )
    const { runner, entries, delays } = harness(t, { webhookUrl: sink.url })
    runner.push(event(1))
    runner.push(event(2))
    await processedCount(runner, 2)
    assert.equal(sink.received.length, 2)
    assert.deepEqual(delays, [])
    assert.equal(logged(entries, 'warn', /status 400; not retried$/).length, 1)
    assert.deepEqual(runner.stats(), { processed: 2, skipped: 0, failed: 1, queued: 0 })
  })

  it('times out a hanging server and retries', async (t) => {
    const sink = await startSink(t, (i, res) => {
      if (i > 0) reply(res, 200) // the first request is left hanging
    })
    const { runner, entries } = harness(t, { webhookUrl: sink.url, webhookTimeoutMs: 200 })
    runner.push(event(1))
    await processedCount(runner, 1)
    assert.equal(sink.received.length, 2)
    assert.equal(logged(entries, 'warn', /timed out after 200 ms\); retrying/).length, 1)
    assert.deepEqual(runner.stats(), { processed: 1, skipped: 0, failed: 0, queued: 0 })
  })

  it('retries a refused connection until the server is up', async (t) => {
    const port = await freePort()
    let sink: Promise<unknown> | null = null
    const { runner, entries, delays } = harness(
      t,
      { webhookUrl: `http://127.0.0.1:${port}/hook` },
      {
        sleep: async (ms) => {
          delays.push(ms)
          sink ??= startSink(t, (_i, res) => reply(res, 200), port)
          await sink
        },
      },
    )
    runner.push(event(1))
    await processedCount(runner, 1)
    assert.equal(delays.length, 1)
    assert.equal(logged(entries, 'warn', /ECONNREFUSED/).length, 1)
    assert.deepEqual(runner.stats(), { processed: 1, skipped: 0, failed: 0, queued: 0 })
  })

  it('gives up after the configured retries with doubling delays, then serves the next event', async (t) => {
    const sink = await startSink(t, (_i, res) => reply(res, 500))
    const { runner, entries, delays } = harness(t, {
      webhookUrl: sink.url,
      webhookRetries: 3,
      retryBaseMs: 10,
    })
    runner.push(event(1))
    runner.push(event(2))
    await processedCount(runner, 2)
    assert.deepEqual(delays, [10, 20, 40, 10, 20, 40])
    assert.equal(sink.received.length, 8)
    assert.equal(logged(entries, 'error', /^webhook failed after 4 attempts/).length, 2)
    assert.deepEqual(runner.stats(), { processed: 2, skipped: 0, failed: 2, queued: 0 })
  })

  it('delivers strictly in order through retries, each after its hook has run', async (t) => {
    const dir = tempDir(t)
    const out = join(dir, 'out')
    const hookRanFirst: boolean[] = []
    const sink = await startSink(t, (i, res, req) => {
      hookRanFirst.push(readOr(out).includes(`<${req.body}>`))
      reply(res, i === 0 || i === 3 ? 500 : 200)
    })
    const { runner } = harness(t, { hookPath: appendHook(dir, out), webhookUrl: sink.url })
    for (const n of [1, 2, 3]) runner.push(event(n))
    await processedCount(runner, 3)
    assert.deepEqual(
      sink.received.map((r) => r.body),
      [1, 1, 2, 3, 3].map((n) => event(n).wireText),
    )
    assert.deepEqual(hookRanFirst, [true, true, true, true, true])
  })

  it('stop() during a backoff resolves promptly', async (t) => {
    const sink = await startSink(t, (_i, res) => reply(res, 503))
    const { log, entries } = capturingLogger()
    // Real sleep with a one-minute delay: only the abort can end it.
    const runner = createHookRunner({ log }, { webhookUrl: sink.url, retryBaseMs: 60000 })
    t.after(() => runner.stop())
    await runner.start()
    runner.push(event(1))
    runner.push(event(2))
    await waitFor(
      'a retry to be scheduled',
      () => logged(entries, 'warn', /retrying in/).length > 0,
    )
    const started = Date.now()
    await runner.stop()
    assert.ok(Date.now() - started < 1000, `stop took ${Date.now() - started} ms`)
    assert.equal(sink.received.length, 1)
    assert.deepEqual(runner.stats(), { processed: 0, skipped: 0, failed: 0, queued: 0 })
  })
})

describe('hook runner lifecycle and configuration', () => {
  it('queues events pushed before start, ignores pushes after stop; stop is idempotent', async (t) => {
    const dir = tempDir(t)
    const out = join(dir, 'out')
    const { log } = capturingLogger()
    const never = createHookRunner({ log }, { hookPath: appendHook(dir, out) })
    await never.stop()
    await never.stop()
    never.push(event(9))
    assert.equal(never.stats().queued, 0)

    const runner = createHookRunner({ log }, { hookPath: appendHook(dir, out) })
    t.after(() => runner.stop())
    runner.push(event(1))
    assert.equal(runner.stats().queued, 1)
    await runner.start()
    await runner.start()
    await processedCount(runner, 1)
    await Promise.all([runner.stop(), runner.stop()])
    runner.push(event(2))
    assert.deepEqual(runner.stats(), { processed: 1, skipped: 0, failed: 0, queued: 0 })
    assert.equal(readFileSync(out, 'utf8'), wrapped(1))
  })

  it('validates webhook URLs with CONFIG_ERROR', () => {
    assert.equal(validateWebhookUrl('https://example.com/hook?x=1'), 'https://example.com/hook?x=1')
    assert.equal(validateWebhookUrl('http://127.0.0.1:8080/'), 'http://127.0.0.1:8080/')
    for (const bad of [
      'ftp://example.com/',
      'example.com/hook',
      'http://',
      'https://exa mple.com',
      '',
    ]) {
      assert.throws(
        () => validateWebhookUrl(bad),
        (err) => err instanceof EgregoreError && err.code === 'CONFIG_ERROR',
        bad,
      )
    }
    assert.throws(
      () => createHookRunner({ log: capturingLogger().log }, { webhookUrl: 'file:///etc/passwd' }),
      (err) => err instanceof EgregoreError && err.code === 'CONFIG_ERROR',
    )
    assert.throws(
      () =>
        createHookRunner({ log: capturingLogger().log }, { hookPath: '/bin/true', queueSize: 0 }),
      RangeError,
    )
  })

  it('jitters retry delays within [0.75, 1.25] of a doubling schedule', () => {
    for (const [retry, base] of [
      [0, 1000],
      [1, 2000],
      [4, 16000],
    ] as const) {
      assert.equal(
        retryDelayMs(retry, 1000, () => 0),
        base * 0.75,
      )
      assert.equal(
        retryDelayMs(retry, 1000, () => 0.5),
        base,
      )
      assert.ok(retryDelayMs(retry, 1000, () => 0.999999) <= base * 1.25)
    }
  })
})

describe('hook runner with a real feed engine', () => {
  it('hands the hook exactly the wire text of a published message', async (t) => {
    const dir = tempDir(t)
    const out = join(dir, 'out')
    const hookPath = script(dir, 'hook.sh', `#!/bin/sh\ncat > '${out}'\n`)
    const db = openDatabase(':memory:')
    const verifier = createInlineVerifier()
    const engine = createFeedEngine({
      store: createMessageStore(db),
      identity: identityFromSeed(new Uint8Array(32).fill(1)),
      verifier,
    })
    const { log } = capturingLogger()
    const runner = createHookRunner({ log }, { hookPath })
    t.after(async () => {
      await runner.stop()
      await engine.close()
      db.close()
      await verifier.close()
    })
    engine.onMessage((e) => runner.push(e))
    await runner.start()
    const published = await engine.publish(fromPlainJson({ type: 'note', text: 'hi' }))
    await processedCount(runner, 1)
    assert.equal(readFileSync(out, 'utf8'), published.wireText)
    assert.deepEqual(runner.stats(), { processed: 1, skipped: 0, failed: 0, queued: 0 })
  })
})
