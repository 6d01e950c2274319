// Commands: run, exit codes, background handles, reconnect, stdin, kill, list,
// envs, cwd, user, streaming callbacks, command timeouts.

import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { CommandExitError } from 'e2b'
import {
  T_SHORT,
  T_MEDIUM,
  createSandbox,
  killSandbox,
  waitFor,
  withTimeout,
  uniqueTag,
} from './helpers.mjs'

describe('commands', () => {
  let sbx

  before(async () => {
    sbx = await createSandbox({ envs: { SBX_A: 'from-sandbox', SBX_B: 'from-sandbox' } })
  })

  after(async () => {
    if (sbx) await killSandbox(sbx)
  })

  test('run returns stdout, stderr and exitCode', { timeout: T_SHORT }, async () => {
    const res = await sbx.commands.run('echo out; echo err >&2; printf "no newline"')
    assert.equal(res.exitCode, 0)
    assert.equal(res.stdout, 'out\nno newline')
    assert.equal(res.stderr, 'err\n')
    assert.equal(res.error, undefined)
  })

  test('commands run through bash with a login shell', { timeout: T_SHORT }, async () => {
    const res = await sbx.commands.run('echo "$0" && [[ -n "$BASH_VERSION" ]] && echo bash')
    assert.match(res.stdout, /bash\nbash\n$/)
    const pipe = await sbx.commands.run('seq 1 5 | wc -l; echo $((1+2+3+4+5))')
    assert.equal(pipe.stdout.replace(/ +/g, ''), '5\n15\n')
  })

  test('non-zero exit throws CommandExitError with exitCode and stderr', { timeout: T_SHORT }, async () => {
    await assert.rejects(sbx.commands.run('echo partial; echo oops >&2; exit 3'), (err) => {
      assert.ok(err instanceof CommandExitError, `got ${err?.name}: ${err?.message}`)
      assert.equal(err.exitCode, 3)
      assert.equal(err.stderr, 'oops\n')
      assert.equal(err.stdout, 'partial\n')
      return true
    })
    await assert.rejects(sbx.commands.run('false'), (err) => err instanceof CommandExitError && err.exitCode === 1)
    await assert.rejects(
      sbx.commands.run('definitely-not-a-command-xyz'),
      (err) => err instanceof CommandExitError && err.exitCode === 127 && /not found/.test(err.stderr),
    )
  })

  test('large output arrives complete', { timeout: T_SHORT }, async () => {
    const res = await sbx.commands.run("head -c 1000000 /dev/zero | tr '\\0' a; echo; head -c 300000 /dev/zero | tr '\\0' b >&2")
    assert.equal(res.stdout.length, 1_000_001)
    assert.equal(res.stdout, 'a'.repeat(1_000_000) + '\n')
    assert.equal(res.stderr, 'b'.repeat(300_000))
  })

  test('multi-byte UTF-8 output survives chunking', { timeout: T_SHORT }, async () => {
    const res = await sbx.commands.run('for i in $(seq 1 2000); do printf "żółw🐢"; done')
    assert.equal(res.stdout, 'żółw🐢'.repeat(2000))
  })

  test('background returns a handle; commands.connect reattaches and wait() gets output', { timeout: T_SHORT }, async () => {
    const handle = await sbx.commands.run('sleep 3; echo done; echo late-err >&2', { background: true })
    assert.ok(Number.isInteger(handle.pid) && handle.pid > 0, `pid ${handle.pid}`)
    assert.equal(handle.exitCode, undefined, 'still running')
    await handle.disconnect()

    const again = await sbx.commands.connect(handle.pid)
    assert.equal(again.pid, handle.pid)
    const res = await withTimeout(again.wait(), 20_000, 'wait() after connect')
    assert.equal(res.exitCode, 0)
    assert.equal(res.stdout, 'done\n')
    assert.equal(res.stderr, 'late-err\n')
    assert.equal(again.exitCode, 0)
  })

  test('background handle wait() on the original handle', { timeout: T_SHORT }, async () => {
    const handle = await sbx.commands.run('sleep 1; echo bg; exit 4', { background: true })
    await assert.rejects(withTimeout(handle.wait(), 20_000, 'wait()'), (err) => {
      assert.ok(err instanceof CommandExitError)
      assert.equal(err.exitCode, 4)
      assert.equal(err.stdout, 'bg\n')
      return true
    })
    assert.equal(handle.exitCode, 4)
    assert.equal(handle.stdout, 'bg\n')
  })

  test('connect to a finished process still delivers its end', { timeout: T_SHORT }, async () => {
    const handle = await sbx.commands.run('echo quick', { background: true })
    const pid = handle.pid
    await handle.wait()
    // The server keeps recent exits; a late connect either replays the end or
    // reports the process as gone. It must not hang.
    let late
    try {
      late = await withTimeout(sbx.commands.connect(pid), 10_000, 'late connect')
    } catch (err) {
      assert.ok(!/did not finish/.test(err.message), err.message)
      return
    }
    const res = await withTimeout(late.wait(), 10_000, 'late wait')
    assert.equal(res.exitCode, 0)
  })

  test('stdin: sendStdin and closeStdin into cat', { timeout: T_SHORT }, async () => {
    const handle = await sbx.commands.run('cat', { background: true, stdin: true })
    await handle.sendStdin('hello\n')
    await sbx.commands.sendStdin(handle.pid, new TextEncoder().encode('world\n'))
    await sbx.commands.closeStdin(handle.pid)
    const res = await withTimeout(handle.wait(), 20_000, 'cat to exit after closeStdin')
    assert.equal(res.exitCode, 0)
    assert.equal(res.stdout, 'hello\nworld\n')
  })

  test('stdin: binary and large input round-trips', { timeout: T_SHORT }, async () => {
    const handle = await sbx.commands.run('sha256sum | cut -d" " -f1', { background: true, stdin: true })
    const chunk = new Uint8Array(256 * 1024)
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7) & 0xff
    const { createHash } = await import('node:crypto')
    const h = createHash('sha256')
    for (let i = 0; i < 4; i++) {
      await handle.sendStdin(chunk)
      h.update(chunk)
    }
    await handle.closeStdin()
    const res = await withTimeout(handle.wait(), 20_000, 'sha256sum')
    assert.equal(res.stdout.trim(), h.digest('hex'))
  })

  test('without stdin:true, stdin is closed (cat ends at once)', { timeout: T_SHORT }, async () => {
    const res = await withTimeout(sbx.commands.run('cat; echo eof'), 15_000, 'cat with closed stdin')
    assert.equal(res.stdout, 'eof\n')
  })

  test('kill returns true for a running process and false for an unknown pid', { timeout: T_SHORT }, async () => {
    const handle = await sbx.commands.run('sleep 120', { background: true })
    assert.equal(await sbx.commands.kill(handle.pid), true)
    await assert.rejects(withTimeout(handle.wait(), 15_000, 'killed process to end'), (err) => {
      assert.ok(err instanceof CommandExitError, `got ${err?.name}: ${err?.message}`)
      assert.notEqual(err.exitCode, 0)
      return true
    })
    assert.equal(await sbx.commands.kill(999_999), false)
    const procs = await sbx.commands.list()
    assert.ok(!procs.some((p) => p.pid === handle.pid), 'killed process no longer listed')
  })

  test('handle.kill kills the whole process group', { timeout: T_SHORT }, async () => {
    const marker = uniqueTag('grp')
    const handle = await sbx.commands.run(`sleep 300 & sleep 301 & echo ${marker}; wait`, { background: true })
    await waitFor(() => handle.stdout.includes(marker), { timeoutMs: 10_000, what: 'marker output' })
    assert.equal(await handle.kill(), true)
    await assert.rejects(withTimeout(handle.wait(), 15_000, 'wait after kill'))
    await waitFor(
      async () => {
        const ps = await sbx.commands.run('ps -eo args | grep -c "^sleep 30[01]$" || true')
        return ps.stdout.trim() === '0'
      },
      { timeoutMs: 10_000, what: 'children of the killed command to be gone' },
    )
  })

  test('list includes a running background process with its cmd', { timeout: T_SHORT }, async () => {
    const marker = uniqueTag('list')
    const cmd = `sleep 60 # ${marker}`
    const handle = await sbx.commands.run(cmd, { background: true, envs: { LISTED: '1' }, cwd: '/tmp' })
    try {
      const procs = await sbx.commands.list()
      const p = procs.find((x) => x.pid === handle.pid)
      assert.ok(p, `pid ${handle.pid} not in ${JSON.stringify(procs)}`)
      // The SDK always runs commands as /bin/bash -l -c <cmd>.
      assert.equal(p.cmd, '/bin/bash')
      assert.deepEqual(p.args, ['-l', '-c', cmd])
      assert.equal(p.envs.LISTED, '1')
      assert.equal(p.cwd, '/tmp')
    } finally {
      await sbx.commands.kill(handle.pid)
    }
  })

  test('envs option overrides sandbox envs', { timeout: T_SHORT }, async () => {
    const res = await sbx.commands.run('echo "$SBX_A|$SBX_B|$ONLY_CMD"', {
      envs: { SBX_A: 'from-command', ONLY_CMD: 'x y' },
    })
    assert.equal(res.stdout, 'from-command|from-sandbox|x y\n')
    const plain = await sbx.commands.run('echo "$SBX_A|${ONLY_CMD:-unset}"')
    assert.equal(plain.stdout, 'from-sandbox|unset\n')
  })

  test('default environment has PATH, HOME and USER', { timeout: T_SHORT }, async () => {
    const res = await sbx.commands.run('echo "$HOME|$USER"; command -v ls')
    const [first, second] = res.stdout.trim().split('\n')
    assert.equal(first, '/home/user|user')
    assert.match(second, /\/ls$/)
  })

  test('cwd option', { timeout: T_SHORT }, async () => {
    assert.equal((await sbx.commands.run('pwd', { cwd: '/tmp' })).stdout, '/tmp\n')
    assert.equal((await sbx.commands.run('pwd')).stdout, '/home/user\n')
  })

  test('user option: root vs default user', { timeout: T_SHORT }, async () => {
    assert.equal((await sbx.commands.run('whoami')).stdout, 'user\n')
    assert.equal((await sbx.commands.run('whoami', { user: 'root' })).stdout, 'root\n')
    assert.equal((await sbx.commands.run('whoami', { user: 'user' })).stdout, 'user\n')
    assert.equal((await sbx.commands.run('id -u', { user: 'root' })).stdout, '0\n')
    assert.equal((await sbx.commands.run('echo $HOME', { user: 'root' })).stdout, '/root\n')
    // Files created as root belong to root.
    await sbx.commands.run('touch /tmp/root-made', { user: 'root' })
    assert.equal((await sbx.commands.run('stat -c %U /tmp/root-made')).stdout, 'root\n')
  })

  test('unknown user is rejected', { timeout: T_SHORT }, async () => {
    await assert.rejects(sbx.commands.run('whoami', { user: 'nobody-such-user' }))
  })

  test('onStdout/onStderr receive streamed data while the command runs', { timeout: T_SHORT }, async () => {
    const out = []
    const err = []
    const handle = await sbx.commands.run('echo first; echo e1 >&2; sleep 2; echo second; echo e2 >&2', {
      background: true,
      onStdout: (d) => out.push(d),
      onStderr: (d) => err.push(d),
    })
    await waitFor(() => out.join('').includes('first') && err.join('').includes('e1'), {
      timeoutMs: 10_000,
      what: 'first chunks to stream in',
    })
    assert.equal(handle.exitCode, undefined, 'data arrived before the command ended')
    assert.ok(!out.join('').includes('second'))
    const res = await withTimeout(handle.wait(), 20_000, 'streaming command')
    assert.equal(out.join(''), 'first\nsecond\n')
    assert.equal(err.join(''), 'e1\ne2\n')
    assert.equal(res.stdout, 'first\nsecond\n')
    assert.equal(res.stderr, 'e1\ne2\n')
  })

  test('callbacks on a foreground run', { timeout: T_SHORT }, async () => {
    const out = []
    const res = await sbx.commands.run('for i in 1 2 3; do echo $i; sleep 0.2; done', {
      onStdout: (d) => out.push(d),
    })
    assert.equal(out.join(''), '1\n2\n3\n')
    assert.ok(out.length >= 2, `expected several chunks, got ${out.length}`)
    assert.equal(res.stdout, '1\n2\n3\n')
  })

  test('timeoutMs ends a long command', { timeout: T_SHORT }, async () => {
    const marker = uniqueTag('slp')
    const started = Date.now()
    await assert.rejects(sbx.commands.run(`sleep 100 # ${marker}`, { timeoutMs: 2_000 }))
    const elapsed = Date.now() - started
    assert.ok(elapsed < 15_000, `took ${elapsed} ms`)
    // The server kills the process at its deadline.
    await waitFor(
      async () => {
        const procs = await sbx.commands.list()
        return !procs.some((p) => p.args?.some((a) => a.includes(marker)))
      },
      { timeoutMs: 10_000, what: 'timed-out process to be killed' },
    )
  })

  test('many concurrent commands', { timeout: T_MEDIUM }, async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => sbx.commands.run(`echo ${i}`)),
    )
    results.forEach((r, i) => assert.equal(r.stdout, `${i}\n`))
  })
})
