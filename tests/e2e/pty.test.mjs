// PTY: create, input, output, resize, kill, reconnect.

import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { T_SHORT, createSandbox, killSandbox, waitFor, withTimeout, encode } from './helpers.mjs'

/** Collects PTY output as text. */
function terminal() {
  const decoder = new TextDecoder()
  const t = {
    text: '',
    chunks: 0,
    onData: (data) => {
      assert.ok(data instanceof Uint8Array, 'onData receives bytes')
      t.chunks++
      t.text += decoder.decode(data, { stream: true })
    },
    /** Wait until the output (after `from`) matches `re`. */
    until: (re, what, from = 0, timeoutMs = 15_000) =>
      waitFor(() => re.test(t.text.slice(from)), {
        timeoutMs,
        what: `${what}; terminal so far: ${JSON.stringify(t.text.slice(-400))}`,
      }),
  }
  return t
}

describe('pty', () => {
  let sbx

  before(async () => {
    sbx = await createSandbox()
  })

  after(async () => {
    if (sbx) await killSandbox(sbx)
  })

  test('create, sendInput, output, resize, stty size, kill', { timeout: T_SHORT }, async () => {
    const term = terminal()
    const handle = await sbx.pty.create({ cols: 80, rows: 24, onData: term.onData, timeoutMs: 60_000 })
    assert.ok(Number.isInteger(handle.pid) && handle.pid > 0)

    // $((20+22)) is expanded by the shell, so the match cannot be the echoed input.
    await sbx.pty.sendInput(handle.pid, encode('echo hi-$((20+22))\n'))
    await term.until(/hi-42/, 'echo output')

    let mark = term.text.length
    await sbx.pty.sendInput(handle.pid, encode('stty size\n'))
    await term.until(/\b24 80\b/, 'initial stty size', mark)

    await sbx.pty.resize(handle.pid, { cols: 100, rows: 30 })
    mark = term.text.length
    await sbx.pty.sendInput(handle.pid, encode('stty size\n'))
    await term.until(/\b30 100\b/, 'stty size after resize', mark)

    assert.equal(await sbx.pty.kill(handle.pid), true)
    // The handle ends (a killed PTY has a non-zero exit, so wait() rejects).
    await withTimeout(handle.wait().catch(() => undefined), 15_000, 'pty to end after kill')
    assert.equal(await sbx.pty.kill(handle.pid), false)
  })

  test('pty is a real terminal with TERM set', { timeout: T_SHORT }, async () => {
    const term = terminal()
    const handle = await sbx.pty.create({ cols: 120, rows: 40, onData: term.onData })
    try {
      await sbx.pty.sendInput(handle.pid, encode('[ -t 0 ] && [ -t 1 ] && echo "tty-$((1+1)) $TERM"\n'))
      await term.until(/tty-2 xterm-256color/, 'isatty and TERM')
      const mark = term.text.length
      await sbx.pty.sendInput(handle.pid, encode('stty size\n'))
      await term.until(/\b40 120\b/, 'size reported by the terminal', mark)
    } finally {
      await sbx.pty.kill(handle.pid)
    }
  })

  test('exit ends the pty with its exit code', { timeout: T_SHORT }, async () => {
    const term = terminal()
    const handle = await sbx.pty.create({ cols: 80, rows: 24, onData: term.onData })
    await sbx.pty.sendInput(handle.pid, encode('exit 0\n'))
    const res = await withTimeout(handle.wait(), 15_000, 'pty to exit')
    assert.equal(res.exitCode, 0)
  })

  test('Ctrl-C interrupts the foreground program', { timeout: T_SHORT }, async () => {
    const term = terminal()
    const handle = await sbx.pty.create({ cols: 80, rows: 24, onData: term.onData })
    try {
      await sbx.pty.sendInput(handle.pid, encode('sleep 100; echo after-$((3*3))\n'))
      // Give the shell a moment to start sleep in the foreground.
      await new Promise((r) => setTimeout(r, 500))
      await sbx.pty.sendInput(handle.pid, new Uint8Array([0x03]))
      await sbx.pty.sendInput(handle.pid, encode('echo alive-$((5*5))\n'))
      await term.until(/alive-25/, 'shell to come back after ^C')
    } finally {
      await sbx.pty.kill(handle.pid)
    }
  })

  test('pty.connect reattaches to a running pty', { timeout: T_SHORT }, async () => {
    const first = terminal()
    const handle = await sbx.pty.create({ cols: 80, rows: 24, onData: first.onData })
    try {
      await sbx.pty.sendInput(handle.pid, encode('echo one-$((0+1))\n'))
      await first.until(/one-1/, 'first output')
      await handle.disconnect()

      const second = terminal()
      const again = await sbx.pty.connect(handle.pid, { onData: second.onData })
      assert.equal(again.pid, handle.pid)
      await sbx.pty.sendInput(handle.pid, encode('echo two-$((1+1))\n'))
      await second.until(/two-2/, 'output after reconnect')

      // The PTY is listed as a process.
      const procs = await sbx.commands.list()
      const p = procs.find((x) => x.pid === handle.pid)
      assert.ok(p, 'pty listed')
      assert.equal(p.cmd, '/bin/bash')
      assert.deepEqual(p.args, ['-i', '-l'])
    } finally {
      await sbx.pty.kill(handle.pid)
    }
  })

  test('large output through the pty', { timeout: T_SHORT }, async () => {
    const term = terminal()
    const handle = await sbx.pty.create({ cols: 80, rows: 24, onData: term.onData })
    try {
      await sbx.pty.sendInput(handle.pid, encode('seq 1 20000; echo end-$((6*7))\n'))
      await term.until(/end-42/, 'end of seq output', 0, 30_000)
      assert.match(term.text, /\r?\n19999\r?\n20000\r?\n/)
    } finally {
      await sbx.pty.kill(handle.pid)
    }
  })
})
