// sandhive's own WebSocket API: a PTY terminal and lifecycle events, opened
// with the API key or a short-lived token (tests/e2e/README.md).
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { WebSocket } from 'undici'
import { Sandbox } from 'e2b'

const api = process.env.E2B_API_URL
const key = process.env.E2B_API_KEY
const wsBase = api.replace(/^http/, 'ws')

/** Collects a socket's messages; `next(pred)` waits for a matching one. */
function open(url, headers = {}) {
  const ws = new WebSocket(url, { headers })
  ws.binaryType = 'arraybuffer'
  const messages = []
  let text = ''
  const waiters = []
  let closed = null
  const wake = () => waiters.splice(0).forEach((w) => w())
  ws.onmessage = (e) => {
    if (typeof e.data === 'string') messages.push(JSON.parse(e.data))
    else text += new TextDecoder().decode(e.data)
    wake()
  }
  ws.onclose = (e) => { closed = e; wake() }
  ws.onerror = () => wake()
  const until = async (pred, what, ms = 15000) => {
    const end = Date.now() + ms
    for (;;) {
      const hit = pred()
      if (hit) return hit
      if (closed && !pred()) throw new Error(`socket closed (${closed.code}) waiting for ${what}; output: ${JSON.stringify(text)}`)
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; output: ${JSON.stringify(text)}`)
      await new Promise((r) => { waiters.push(r); setTimeout(r, 200) })
    }
  }
  const opened = new Promise((resolve, reject) => {
    ws.onopen = () => resolve()
    ws.onerror = (e) => reject(new Error(`WebSocket failed: ${e.message ?? 'error'}`))
    ws.onclose = (e) => { closed = e; wake(); reject(new Error(`closed before open (${e.code})`)) }
  }).then(() => { ws.onclose = (e) => { closed = e; wake() } })
  return {
    ws, opened, messages,
    output: () => text,
    closed: () => closed,
    message: (type) => until(() => messages.find((m) => m.type === type), `a '${type}' message`),
    text: (re) => until(() => re.test(text) && text, `output matching ${re}`),
    isClosed: () => until(() => closed, 'the socket to close'),
  }
}

describe('websocket api', () => {
  const sandboxes = []
  after(async () => { await Promise.all(sandboxes.map((s) => s.kill().catch(() => {}))) })
  const create = async () => {
    const s = await Sandbox.create({ timeoutMs: 120_000 })
    sandboxes.push(s)
    return s
  }

  test('terminal: input, output, resize and exit', { timeout: 60_000 }, async () => {
    const sbx = await create()
    const t = open(`${wsBase}/v1/sandboxes/${sbx.sandboxId}/terminal?cols=100&rows=30`, { 'X-API-KEY': key })
    await t.opened
    const started = await t.message('started')
    assert.ok(started.pid > 0)
    t.ws.send(new TextEncoder().encode('stty size; echo ws-$((6*7))\n'))
    await t.text(/ws-42/)
    assert.match(t.output(), /30 100/)
    t.ws.send(JSON.stringify({ type: 'resize', cols: 120, rows: 40 }))
    // A resize lands before the next command reads the size.
    await new Promise((r) => setTimeout(r, 200))
    t.ws.send(JSON.stringify({ type: 'input', data: 'stty size\n' }))
    await t.text(/40 120/)
    t.ws.send(new TextEncoder().encode('exit 3\n'))
    const exit = await t.message('exit')
    assert.equal(exit.exitCode, 3)
    await t.isClosed()
  })

  test('terminal: a token opens it without a header; a bad one does not', { timeout: 60_000 }, async () => {
    const sbx = await create()
    const res = await fetch(`${api}/v1/sandboxes/${sbx.sandboxId}/tokens`, { method: 'POST', headers: { 'X-API-KEY': key } })
    assert.equal(res.status, 201)
    const { token } = await res.json()
    const t = open(`${wsBase}/v1/sandboxes/${sbx.sandboxId}/terminal?token=${encodeURIComponent(token)}`)
    await t.opened
    await t.message('started')
    t.ws.close()
    const bad = open(`${wsBase}/v1/sandboxes/${sbx.sandboxId}/terminal?token=${encodeURIComponent(token.replace(/.$/, 'x'))}`)
    await assert.rejects(bad.opened)
    const nokey = open(`${wsBase}/v1/sandboxes/${sbx.sandboxId}/terminal`)
    await assert.rejects(nokey.opened)
    // Closing the socket kills its shell (soon: a loaded machine may take a
    // moment to deliver the close).
    let bashes = ''
    for (let i = 0; i < 40 && bashes !== '1'; ++i) {
      await new Promise((r) => setTimeout(r, 250))
      bashes = (await sbx.commands.run('ps -eo comm | grep -c "^bash$" || true')).stdout.trim()
    }
    assert.equal(bashes, '1') // only this command's own bash
  })

  test('events: pause, resume and kill arrive in order, then the socket closes', { timeout: 60_000 }, async () => {
    const sbx = await create()
    const ev = open(`${wsBase}/v1/sandboxes/${sbx.sandboxId}/events`, { 'X-API-KEY': key })
    await ev.opened
    const first = await ev.message('lifecycle')
    assert.equal(first.state, 'running')
    await sbx.pause()
    const states = () => ev.messages.filter((m) => m.type === 'lifecycle').map((m) => m.state)
    await (async () => { for (let i = 0; i < 100 && !states().includes('paused'); i++) await new Promise((r) => setTimeout(r, 100)) })()
    assert.ok(states().includes('paused'), JSON.stringify(states()))
    await Sandbox.connect(sbx.sandboxId)
    await sbx.kill()
    await ev.isClosed()
    const seen = states()
    assert.ok(seen.indexOf('paused') < seen.lastIndexOf('running'), JSON.stringify(seen))
    assert.equal(seen.at(-1), 'killed')
  })
})
