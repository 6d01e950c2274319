// Shared helpers for the sandhive end-to-end suite.
//
// Every test talks to a running `sandhive up` through the official `e2b` SDK.
// The SDK is configured only through the environment, exactly like a user
// would configure it for a self-hosted deployment:
//
//   E2B_API_URL=http://127.0.0.1:PORT
//   E2B_SANDBOX_URL=http://127.0.0.1:PORT
//   E2B_API_KEY=e2b_<40 hex>
//
// tests/e2e/run.sh sets these up; see README.md.

import { after } from 'node:test'
import { randomBytes } from 'node:crypto'
import { Sandbox } from 'e2b'

for (const name of ['E2B_API_URL', 'E2B_SANDBOX_URL', 'E2B_API_KEY']) {
  if (!process.env[name]) {
    throw new Error(`${name} is not set; run the suite through tests/e2e/run.sh <sandhive>`)
  }
}

export const API_URL = process.env.E2B_API_URL
export const SANDBOX_URL = process.env.E2B_SANDBOX_URL
export const API_KEY = process.env.E2B_API_KEY

/** A syntactically valid key that the server never issued. */
export const WRONG_API_KEY = 'e2b_' + '0123456789abcdef0123456789abcdef01234567'

/** Default lifetime of a test sandbox: long enough for any test, short enough
 *  that a crashed run does not leave sandboxes behind for long. */
export const DEFAULT_SANDBOX_TIMEOUT_MS = 180_000

/** Per-test timeouts (node:test `timeout` option). */
export const T_SHORT = 60_000
export const T_MEDIUM = 120_000
export const T_LONG = 240_000

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** A short random tag, for metadata filters and unique paths. */
export const uniqueTag = (prefix = 'e2e') => `${prefix}-${randomBytes(6).toString('hex')}`

export const encode = (s) => new TextEncoder().encode(s)
export const decode = (b) => new TextDecoder().decode(b)

// Every sandbox this process created and has not killed yet. The `after` hook
// registered below kills whatever is left, so a failing or timed-out test never
// leaks a sandbox.
const live = new Map()

/**
 * Create a sandbox (template `base` unless `opts.template` says otherwise) and
 * track it for cleanup.
 */
export async function createSandbox(opts = {}) {
  const sbx = await Sandbox.create({ timeoutMs: DEFAULT_SANDBOX_TIMEOUT_MS, requestTimeoutMs: 60_000, ...opts })
  live.set(sbx.sandboxId, sbx)
  return sbx
}

/** Kill a sandbox, swallowing errors (it may already be gone). */
export async function killSandbox(sbxOrId) {
  const id = typeof sbxOrId === 'string' ? sbxOrId : sbxOrId.sandboxId
  live.delete(id)
  try {
    return await Sandbox.kill(id, { requestTimeoutMs: 20_000 })
  } catch {
    return undefined
  }
}

/** Kill every sandbox still tracked. */
export async function killAll() {
  const ids = [...live.keys()]
  await Promise.all(ids.map((id) => killSandbox(id)))
}

/**
 * Create a sandbox, run `fn(sandbox)`, and always kill the sandbox afterwards.
 */
export async function withSandbox(opts, fn) {
  if (typeof opts === 'function') {
    fn = opts
    opts = {}
  }
  const sbx = await createSandbox(opts)
  try {
    return await fn(sbx)
  } finally {
    await killSandbox(sbx)
  }
}

/**
 * Poll `check` until it returns a truthy value (which is returned) or the
 * deadline passes (then throw, quoting `what` and the last error seen).
 */
export async function waitFor(check, { timeoutMs = 10_000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs
  let lastErr
  for (;;) {
    try {
      const v = await check()
      if (v) return v
    } catch (err) {
      lastErr = err
    }
    if (Date.now() >= deadline) {
      const suffix = lastErr ? ` (last error: ${lastErr?.name}: ${lastErr?.message})` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${suffix}`)
    }
    await sleep(intervalMs)
  }
}

/** Reject if `promise` has not settled within `ms`. */
export async function withTimeout(promise, ms, what = 'operation') {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Drain a `SandboxPaginator` (Sandbox.list()), at most `maxPages` pages. */
export async function listAll(paginator, maxPages = 50) {
  const items = []
  let pages = 0
  while (paginator.hasNext) {
    if (++pages > maxPages) throw new Error(`paginator did not end after ${maxPages} pages`)
    items.push(...(await paginator.nextItems()))
  }
  return items
}

/** Fill `size` bytes with a deterministic, non-repeating-per-KiB pattern. */
export function patternBuffer(size, seed = 7) {
  const buf = Buffer.allocUnsafe(size)
  let x = seed >>> 0
  // xorshift32, 4 bytes per step
  let i = 0
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    buf.writeUInt32LE(x, i)
  }
  for (; i < size; i++) buf[i] = i & 0xff
  return buf
}

/** Read a web ReadableStream<Uint8Array> fully into a Buffer. */
export async function readStream(stream) {
  const chunks = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk))
  return Buffer.concat(chunks)
}

/** A web ReadableStream that yields `buf` in `chunkSize` pieces. */
export function bufferToStream(buf, chunkSize = 1 << 20) {
  let offset = 0
  return new ReadableStream({
    pull(controller) {
      if (offset >= buf.length) {
        controller.close()
        return
      }
      const end = Math.min(offset + chunkSize, buf.length)
      controller.enqueue(new Uint8Array(buf.buffer, buf.byteOffset + offset, end - offset))
      offset = end
    },
  })
}

// Clean up whatever the tests of the importing file left running.
after(async () => {
  await killAll()
})

// Safety net: if a file's tests finish but something (a stream the server never
// ended) keeps the process alive, or a file runs far past its budget, exit
// instead of hanging the whole run. The timer is unref'd, so it never keeps
// the process alive by itself.
const FILE_BUDGET_MS = Number(process.env.SANDHIVE_E2E_FILE_BUDGET_MS || 15 * 60_000)
setTimeout(() => {
  console.error(`sandhive e2e: ${process.argv[1]} exceeded ${FILE_BUDGET_MS} ms; exiting`)
  process.exit(1)
}, FILE_BUDGET_MS).unref()
