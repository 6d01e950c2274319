// Sandbox lifecycle through the control-plane API: create, list, getInfo,
// setTimeout, kill, connect, pause/resume, authentication, metrics.

import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import {
  Sandbox,
  SandboxNotFoundError,
  AuthenticationError,
} from 'e2b'
import {
  API_KEY,
  SANDBOX_URL,
  WRONG_API_KEY,
  T_SHORT,
  T_MEDIUM,
  T_LONG,
  createSandbox,
  killSandbox,
  withSandbox,
  waitFor,
  listAll,
  sleep,
  uniqueTag,
} from './helpers.mjs'

const SEMVER = /^\d+\.\d+\.\d+/

describe('sandbox lifecycle', () => {
  test('create with metadata and envs; envs reach commands', { timeout: T_SHORT }, async () => {
    const tag = uniqueTag()
    await withSandbox(
      { metadata: { suite: 'sandhive-e2e', run: tag }, envs: { FOO: 'bar', SPACED: 'a b  c' } },
      async (sbx) => {
        assert.equal(typeof sbx.sandboxId, 'string')
        assert.ok(sbx.sandboxId.length > 0)

        const foo = await sbx.commands.run('echo $FOO')
        assert.equal(foo.exitCode, 0)
        assert.equal(foo.stdout, 'bar\n')

        const spaced = await sbx.commands.run('printf "%s" "$SPACED"')
        assert.equal(spaced.stdout, 'a b  c')

        assert.equal(await sbx.isRunning(), true)
      },
    )
  })

  test('getInfo reports template, metadata, state and times', { timeout: T_SHORT }, async () => {
    const tag = uniqueTag()
    const before = Date.now()
    await withSandbox({ metadata: { run: tag, owner: 'e2e' }, timeoutMs: 120_000 }, async (sbx) => {
      const created = Date.now()
      const info = await sbx.getInfo()
      assert.equal(info.sandboxId, sbx.sandboxId)
      assert.equal(info.templateId, 'base')
      assert.deepEqual(info.metadata, { run: tag, owner: 'e2e' })
      assert.equal(info.state, 'running')
      assert.match(info.envdVersion, SEMVER)
      assert.ok(Number.isInteger(info.cpuCount) && info.cpuCount >= 1, `cpuCount ${info.cpuCount}`)
      assert.ok(Number.isInteger(info.memoryMB) && info.memoryMB >= 128, `memoryMB ${info.memoryMB}`)

      assert.ok(info.startedAt instanceof Date && !Number.isNaN(info.startedAt.getTime()), 'startedAt is a date')
      assert.ok(info.endAt instanceof Date && !Number.isNaN(info.endAt.getTime()), 'endAt is a date')
      // Clock skew allowance: the server and the test run on the same host.
      assert.ok(info.startedAt.getTime() >= before - 5_000, `startedAt ${info.startedAt.toISOString()} too early`)
      assert.ok(info.startedAt.getTime() <= Date.now() + 5_000, `startedAt ${info.startedAt.toISOString()} in the future`)
      // endAt is the create time plus the requested 120 s.
      const endAt = info.endAt.getTime()
      assert.ok(
        endAt >= before + 120_000 - 5_000 && endAt <= created + 120_000 + 5_000,
        `endAt ${info.endAt.toISOString()} is not ~120 s after create (${new Date(before).toISOString()})`,
      )
      assert.ok(endAt > info.startedAt.getTime())

      // The static form answers the same.
      const info2 = await Sandbox.getInfo(sbx.sandboxId)
      assert.equal(info2.sandboxId, sbx.sandboxId)
      assert.deepEqual(info2.metadata, info.metadata)
    })
  })

  test('create with an explicit template; unknown template fails', { timeout: T_SHORT }, async () => {
    const sbx = await Sandbox.create('base', { timeoutMs: 60_000 })
    try {
      assert.equal((await sbx.getInfo()).templateId, 'base')
      assert.equal((await sbx.commands.run('echo ok')).stdout, 'ok\n')
    } finally {
      await killSandbox(sbx)
    }
    const unknown = Sandbox.create('no-such-template-' + uniqueTag()).then(async (s) => {
      await killSandbox(s) // should not happen; do not leak it if it does
      return s
    })
    await assert.rejects(unknown, (err) => {
      assert.ok(!(err instanceof AuthenticationError), `unexpected ${err?.name}`)
      return true
    })
  })

  test('getInfo of an unknown sandbox throws SandboxNotFoundError', { timeout: T_SHORT }, async () => {
    await assert.rejects(Sandbox.getInfo('doesnotexist0000000000'), SandboxNotFoundError)
  })

  test('list: metadata filter, state filter and pagination', { timeout: T_MEDIUM }, async () => {
    const tag = uniqueTag()
    const a = await createSandbox({ metadata: { run: tag, name: 'a' } })
    // Start b strictly later than a, even at one-second timestamp resolution.
    await sleep(1_100)
    const b = await createSandbox({ metadata: { run: tag, name: 'b' } })
    const other = await createSandbox({ metadata: { run: uniqueTag(), name: 'other' } })
    try {
      // Unfiltered list: the paginator API; ours are among the results.
      const all = await listAll(Sandbox.list())
      const allIds = new Set(all.map((s) => s.sandboxId))
      for (const s of [a, b, other]) assert.ok(allIds.has(s.sandboxId), `${s.sandboxId} missing from list()`)

      // Metadata filter: exactly our two.
      const mine = await listAll(Sandbox.list({ query: { metadata: { run: tag } } }))
      assert.deepEqual(new Set(mine.map((s) => s.sandboxId)), new Set([a.sandboxId, b.sandboxId]))
      for (const s of mine) {
        assert.equal(s.templateId, 'base')
        assert.equal(s.state, 'running')
        assert.equal(s.metadata.run, tag)
        assert.ok(s.startedAt instanceof Date && !Number.isNaN(s.startedAt.getTime()))
        assert.ok(s.endAt instanceof Date && !Number.isNaN(s.endAt.getTime()))
        assert.match(s.envdVersion, SEMVER)
      }
      const aListed = mine.find((s) => s.sandboxId === a.sandboxId)
      assert.deepEqual(aListed.metadata, { run: tag, name: 'a' })

      // Two metadata pairs are ANDed.
      const onlyA = await listAll(Sandbox.list({ query: { metadata: { run: tag, name: 'a' } } }))
      assert.deepEqual(onlyA.map((s) => s.sandboxId), [a.sandboxId])

      // No match.
      const none = await listAll(Sandbox.list({ query: { metadata: { run: uniqueTag() } } }))
      assert.deepEqual(none, [])

      // Pagination: one per page.
      const pager = Sandbox.list({ query: { metadata: { run: tag } }, limit: 1 })
      assert.equal(pager.hasNext, true)
      const page1 = await pager.nextItems()
      assert.equal(page1.length, 1)
      assert.equal(pager.hasNext, true, 'a second page is announced (X-Next-Token)')
      assert.equal(typeof pager.nextToken, 'string')
      const rest = await listAll(pager)
      const paged = [...page1, ...rest]
      assert.deepEqual(new Set(paged.map((s) => s.sandboxId)), new Set([a.sandboxId, b.sandboxId]))
      assert.equal(paged.length, 2, 'no sandbox appears on two pages')

      // Order by start time.
      const asc = await listAll(Sandbox.list({ query: { metadata: { run: tag } }, order: 'asc' }))
      const desc = await listAll(Sandbox.list({ query: { metadata: { run: tag } }, order: 'desc' }))
      assert.deepEqual(asc.map((s) => s.sandboxId), [a.sandboxId, b.sandboxId])
      assert.deepEqual(desc.map((s) => s.sandboxId), [b.sandboxId, a.sandboxId])

      // State filter: pause b.
      assert.equal(await b.pause(), true)
      const running = await listAll(Sandbox.list({ query: { metadata: { run: tag }, state: ['running'] } }))
      assert.deepEqual(running.map((s) => s.sandboxId), [a.sandboxId])
      const paused = await listAll(Sandbox.list({ query: { metadata: { run: tag }, state: ['paused'] } }))
      assert.deepEqual(paused.map((s) => s.sandboxId), [b.sandboxId])
      assert.equal(paused[0].state, 'paused')
      const both = await listAll(
        Sandbox.list({ query: { metadata: { run: tag }, state: ['running', 'paused'] } }),
      )
      assert.deepEqual(new Set(both.map((s) => s.sandboxId)), new Set([a.sandboxId, b.sandboxId]))
      // No state given means running and paused.
      const dflt = await listAll(Sandbox.list({ query: { metadata: { run: tag } } }))
      assert.deepEqual(new Set(dflt.map((s) => s.sandboxId)), new Set([a.sandboxId, b.sandboxId]))

      // A killed sandbox disappears from the list.
      assert.equal(await a.kill(), true)
      const afterKill = await listAll(Sandbox.list({ query: { metadata: { run: tag } } }))
      assert.deepEqual(afterKill.map((s) => s.sandboxId), [b.sandboxId])
    } finally {
      await Promise.all([a, b, other].map((s) => killSandbox(s)))
    }
  })

  test('list: metadata keys and values with reserved characters', { timeout: T_SHORT }, async () => {
    const tag = uniqueTag()
    const metadata = { run: tag, 'odd key': 'a&b=c d%25/?' }
    await withSandbox({ metadata }, async (sbx) => {
      const info = await sbx.getInfo()
      assert.deepEqual(info.metadata, metadata)
      const found = await listAll(Sandbox.list({ query: { metadata: { 'odd key': 'a&b=c d%25/?', run: tag } } }))
      assert.deepEqual(found.map((s) => s.sandboxId), [sbx.sandboxId])
      const notFound = await listAll(Sandbox.list({ query: { metadata: { 'odd key': 'a&b=c', run: tag } } }))
      assert.deepEqual(notFound, [])
    })
  })

  test('setTimeout moves endAt and a short timeout ends the sandbox', { timeout: T_MEDIUM }, async () => {
    const sbx = await createSandbox({ timeoutMs: 120_000 })
    try {
      await sbx.setTimeout(60_000)
      const info = await sbx.getInfo()
      const remaining = info.endAt.getTime() - Date.now()
      assert.ok(remaining > 50_000 && remaining <= 65_000, `endAt is ${remaining} ms away, expected ~60000`)

      // Shorten to 3 s: the sandbox must be gone shortly after.
      await sbx.setTimeout(3_000)
      const shortened = await sbx.getInfo()
      assert.ok(shortened.endAt.getTime() - Date.now() <= 5_000, 'endAt moved to ~3 s from now')

      await waitFor(async () => (await sbx.isRunning({ requestTimeoutMs: 10_000 })) === false, {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: 'isRunning() to become false after the timeout',
      })
      await assert.rejects(sbx.getInfo(), SandboxNotFoundError)
      await assert.rejects(Sandbox.setTimeout(sbx.sandboxId, 10_000), SandboxNotFoundError)
      assert.equal(await Sandbox.kill(sbx.sandboxId), false)
      await assert.rejects(sbx.commands.run('true', { requestTimeoutMs: 10_000 }))
    } finally {
      await killSandbox(sbx)
    }
  })

  test('kill returns true once, then false; unknown id is false', { timeout: T_SHORT }, async () => {
    const sbx = await createSandbox()
    try {
      assert.equal(await sbx.isRunning(), true)
      assert.equal(await sbx.kill(), true)
      assert.equal(await sbx.kill(), false)
      assert.equal(await Sandbox.kill(sbx.sandboxId), false)
      assert.equal(await sbx.isRunning(), false)
      await assert.rejects(sbx.getInfo(), SandboxNotFoundError)
    } finally {
      await killSandbox(sbx)
    }
    assert.equal(await Sandbox.kill('doesnotexist0000000000'), false)
  })

  test('Sandbox.kill by id', { timeout: T_SHORT }, async () => {
    const sbx = await createSandbox()
    try {
      assert.equal(await Sandbox.kill(sbx.sandboxId), true)
      assert.equal(await sbx.isRunning(), false)
    } finally {
      await killSandbox(sbx)
    }
  })

  test('Sandbox.connect to a running sandbox by id', { timeout: T_SHORT }, async () => {
    await withSandbox({ envs: { GREETING: 'hello' } }, async (sbx) => {
      await sbx.files.write('/tmp/connect-marker', 'from-first-handle')

      const other = await Sandbox.connect(sbx.sandboxId)
      assert.equal(other.sandboxId, sbx.sandboxId)
      const res = await other.commands.run('echo "$GREETING" && cat /tmp/connect-marker')
      assert.equal(res.stdout, 'hello\nfrom-first-handle')

      const info = await other.getInfo()
      assert.equal(info.state, 'running')

      // Connecting to an unknown sandbox fails with SandboxNotFoundError.
      await assert.rejects(Sandbox.connect('doesnotexist0000000000'), SandboxNotFoundError)
    })
  })

  test('pause, then connect resumes with files intact', { timeout: T_LONG }, async () => {
    await withSandbox(async (sbx) => {
      await sbx.files.write('/home/user/before-pause.txt', 'still here')
      await sbx.commands.run('echo -n from-shell > /tmp/shell-made')

      assert.equal(await sbx.pause(), true)
      const paused = await Sandbox.getInfo(sbx.sandboxId)
      assert.equal(paused.state, 'paused')
      // Pausing again reports "already paused".
      assert.equal(await Sandbox.pause(sbx.sandboxId), false)

      const resumed = await Sandbox.connect(sbx.sandboxId, { timeoutMs: 120_000 })
      assert.equal(resumed.sandboxId, sbx.sandboxId)
      const info = await resumed.getInfo()
      assert.equal(info.state, 'running')
      assert.ok(info.endAt.getTime() - Date.now() > 60_000, 'connect timeout applied to endAt')

      assert.equal(await resumed.files.read('/home/user/before-pause.txt'), 'still here')
      assert.equal(await resumed.files.read('/tmp/shell-made'), 'from-shell')
      const res = await resumed.commands.run('echo resumed')
      assert.equal(res.stdout, 'resumed\n')
      assert.equal(await resumed.isRunning(), true)
    })
  })

  test('pause keeps a background process alive across resume', { timeout: T_LONG }, async () => {
    await withSandbox(async (sbx) => {
      const bg = await sbx.commands.run('sleep 600', { background: true, timeoutMs: 0 })
      await bg.disconnect()
      assert.equal(await sbx.pause(), true)
      const resumed = await Sandbox.connect(sbx.sandboxId)
      const procs = await resumed.commands.list()
      assert.ok(
        procs.some((p) => p.pid === bg.pid),
        `pid ${bg.pid} listed after resume: ${JSON.stringify(procs.map((p) => p.pid))}`,
      )
      assert.equal(await resumed.commands.kill(bg.pid), true)
    })
  })

  test('instance connect() resumes a paused sandbox', { timeout: T_LONG }, async () => {
    await withSandbox(async (sbx) => {
      await sbx.files.write('/tmp/x', 'y')
      assert.equal(await sbx.pause(), true)
      const same = await sbx.connect()
      assert.equal(same, sbx)
      assert.equal((await sbx.getInfo()).state, 'running')
      assert.equal(await sbx.files.read('/tmp/x'), 'y')
    })
  })

  test('a wrong API key gets AuthenticationError', { timeout: T_SHORT }, async () => {
    await assert.rejects(Sandbox.create({ apiKey: WRONG_API_KEY }), AuthenticationError)
    await assert.rejects(Sandbox.list({ apiKey: WRONG_API_KEY }).nextItems(), AuthenticationError)
    await withSandbox(async (sbx) => {
      await assert.rejects(Sandbox.getInfo(sbx.sandboxId, { apiKey: WRONG_API_KEY }), AuthenticationError)
      await assert.rejects(Sandbox.kill(sbx.sandboxId, { apiKey: WRONG_API_KEY }), AuthenticationError)
      await assert.rejects(Sandbox.connect(sbx.sandboxId, { apiKey: WRONG_API_KEY }), AuthenticationError)
      // The sandbox survived the rejected kill.
      assert.equal(await sbx.isRunning(), true)
    })
  })

  test('the API rejects a request without a key', { timeout: T_SHORT }, async () => {
    // The SDK refuses to send without a key, so use plain fetch.
    const res = await fetch(new URL('/v2/sandboxes', process.env.E2B_API_URL))
    assert.equal(res.status, 401)
    const body = await res.json()
    assert.equal(body.code, 401)
    assert.equal(typeof body.message, 'string')
  })

  test('envd rejects a missing or wrong access token', { timeout: T_SHORT }, async () => {
    await withSandbox(async (sbx) => {
      const url = new URL('/filesystem.Filesystem/Stat', SANDBOX_URL)
      const base = {
        'Content-Type': 'application/json',
        'Connect-Protocol-Version': '1',
        'E2b-Sandbox-Id': sbx.sandboxId,
        'E2b-Sandbox-Port': '49983',
      }
      const body = JSON.stringify({ path: '/tmp' })
      const noToken = await fetch(url, { method: 'POST', headers: base, body })
      assert.equal(noToken.status, 401)
      await noToken.arrayBuffer()
      const wrong = await fetch(url, { method: 'POST', headers: { ...base, 'X-Access-Token': 'wrong' }, body })
      assert.equal(wrong.status, 401)
      await wrong.arrayBuffer()
      // The API key is not an envd credential.
      const apiKey = await fetch(url, { method: 'POST', headers: { ...base, 'X-API-KEY': API_KEY }, body })
      assert.equal(apiKey.status, 401)
      await apiKey.arrayBuffer()
    })
  })

  test('getMetrics returns an array of metrics', { timeout: T_SHORT }, async () => {
    await withSandbox(async (sbx) => {
      await sbx.commands.run('head -c 2000000 /dev/urandom | sha256sum >/dev/null')
      await sleep(1_000)
      const metrics = await sbx.getMetrics()
      assert.ok(Array.isArray(metrics))
      for (const m of metrics) {
        assert.ok(m.timestamp instanceof Date && !Number.isNaN(m.timestamp.getTime()), 'timestamp is a date')
        assert.equal(typeof m.cpuUsedPct, 'number')
        assert.equal(typeof m.cpuCount, 'number')
        assert.equal(typeof m.memUsed, 'number')
        assert.equal(typeof m.memTotal, 'number')
        assert.ok(m.memUsed >= 0 && m.memTotal >= m.memUsed, `memUsed ${m.memUsed} memTotal ${m.memTotal}`)
      }
      const ranged = await sbx.getMetrics({ start: new Date(Date.now() - 60_000), end: new Date() })
      assert.ok(Array.isArray(ranged))
      await assert.rejects(Sandbox.getMetrics('doesnotexist0000000000'), SandboxNotFoundError)
    })
  })
})
