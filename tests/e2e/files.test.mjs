// Filesystem: read/write in every format, multi-file and large uploads, list,
// stat, mkdir, rename, remove, watch, signed upload/download URLs, metadata.

import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import {
  FileType,
  FilesystemEventType,
  FileNotFoundError,
  InvalidArgumentError,
} from 'e2b'
import {
  T_SHORT,
  T_MEDIUM,
  T_LONG,
  SANDBOX_URL,
  createSandbox,
  killSandbox,
  waitFor,
  withTimeout,
  sleep,
  uniqueTag,
  patternBuffer,
  readStream,
  bufferToStream,
} from './helpers.mjs'

const MiB = 1024 * 1024
const sha256 = (data) => createHash('sha256').update(data).digest('hex')

/** Compare dotted versions: -1, 0, 1. */
function cmpVersion(a, b) {
  const pa = a.split(/[.-]/).map((x) => parseInt(x, 10) || 0)
  const pb = b.split(/[.-]/).map((x) => parseInt(x, 10) || 0)
  for (let i = 0; i < 3; i++) {
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) < (pb[i] ?? 0) ? -1 : 1
  }
  return 0
}

/** Lower-case the keys of a metadata map (the sandbox lower-cases them). */
const lowerKeys = (m) => (m ? Object.fromEntries(Object.entries(m).map(([k, v]) => [k.toLowerCase(), v])) : m)

describe('files', () => {
  let sbx
  let envdVersion
  let dir // a fresh directory per test

  before(async () => {
    sbx = await createSandbox({ timeoutMs: 600_000 })
    envdVersion = (await sbx.getInfo()).envdVersion
  })

  after(async () => {
    if (sbx) await killSandbox(sbx)
  })

  const freshDir = () => {
    dir = `/tmp/${uniqueTag('files')}`
    return dir
  }

  test('write a string and read it as text', { timeout: T_SHORT }, async () => {
    const path = `${freshDir()}/hello.txt`
    const info = await sbx.files.write(path, 'hello world\nżółw 🐢\n')
    assert.equal(info.path, path)
    assert.equal(info.name, 'hello.txt')
    assert.equal(info.type, FileType.FILE)
    assert.equal(await sbx.files.read(path), 'hello world\nżółw 🐢\n')
    assert.equal(await sbx.files.read(path, { format: 'text' }), 'hello world\nżółw 🐢\n')
    // Visible to commands, owned by the default user; parents were created.
    const res = await sbx.commands.run(`cat ${path}; stat -c %U ${path} ${dir}`)
    assert.equal(res.stdout, 'hello world\nżółw 🐢\nuser\nuser\n')
  })

  test('overwrite truncates', { timeout: T_SHORT }, async () => {
    const path = `${freshDir()}/over.txt`
    await sbx.files.write(path, 'a much longer first version')
    await sbx.files.write(path, 'short')
    assert.equal(await sbx.files.read(path), 'short')
  })

  test('empty file', { timeout: T_SHORT }, async () => {
    const path = `${freshDir()}/empty`
    await sbx.files.write(path, '')
    assert.equal(await sbx.files.read(path), '')
    const bytes = await sbx.files.read(path, { format: 'bytes' })
    assert.equal(bytes.length, 0)
    assert.equal((await sbx.files.getInfo(path)).size, 0)
  })

  test('write bytes and read them back as bytes, blob and stream', { timeout: T_SHORT }, async () => {
    const path = `${freshDir()}/bytes.bin`
    const bytes = new Uint8Array(4096)
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256
    // The d.ts types binary data as ArrayBuffer (Uint8Array also works at run time).
    await sbx.files.write(path, bytes.buffer)

    const asBytes = await sbx.files.read(path, { format: 'bytes' })
    assert.ok(asBytes instanceof Uint8Array)
    assert.deepEqual(Buffer.from(asBytes), Buffer.from(bytes))

    const asBlob = await sbx.files.read(path, { format: 'blob' })
    assert.ok(asBlob instanceof Blob)
    assert.deepEqual(Buffer.from(await asBlob.arrayBuffer()), Buffer.from(bytes))

    const stream = await sbx.files.read(path, { format: 'stream' })
    assert.deepEqual(await readStream(stream), Buffer.from(bytes))

    // A Uint8Array view is accepted too.
    const path2 = `${dir}/view.bin`
    await sbx.files.write(path2, bytes.subarray(10, 20))
    assert.deepEqual(Buffer.from(await sbx.files.read(path2, { format: 'bytes' })), Buffer.from(bytes.subarray(10, 20)))

    // And a Blob.
    const path3 = `${dir}/blob.bin`
    await sbx.files.write(path3, new Blob([bytes]))
    assert.deepEqual(Buffer.from(await sbx.files.read(path3, { format: 'bytes' })), Buffer.from(bytes))
  })

  test('write multiple files (array form and writeFiles)', { timeout: T_SHORT }, async () => {
    const d = freshDir()
    const infos = await sbx.files.write([
      { path: `${d}/multi/a.txt`, data: 'A' },
      { path: `${d}/multi/b.bin`, data: new Uint8Array([1, 2, 3]).buffer },
      { path: `${d}/multi/sub/c.txt`, data: new Blob(['C']) },
    ])
    assert.ok(Array.isArray(infos))
    assert.equal(infos.length, 3)
    assert.deepEqual(infos.map((i) => i.path).sort(), [`${d}/multi/a.txt`, `${d}/multi/b.bin`, `${d}/multi/sub/c.txt`])
    for (const i of infos) assert.equal(i.type, FileType.FILE)
    assert.equal(await sbx.files.read(`${d}/multi/a.txt`), 'A')
    assert.deepEqual([...(await sbx.files.read(`${d}/multi/b.bin`, { format: 'bytes' }))], [1, 2, 3])
    assert.equal(await sbx.files.read(`${d}/multi/sub/c.txt`), 'C')

    const more = await sbx.files.writeFiles([
      { path: `${d}/wf/1.txt`, data: 'one' },
      { path: `${d}/wf/2.txt`, data: 'two' },
    ])
    assert.equal(more.length, 2)
    assert.equal(await sbx.files.read(`${d}/wf/2.txt`), 'two')

    // A single-element array still returns an array.
    const single = await sbx.files.write([{ path: `${d}/single.txt`, data: 's' }])
    assert.ok(Array.isArray(single))
    assert.equal(single.length, 1)
  })

  // As in E2B's templates, the template's workdir (/home/user) is where
  // relative paths start, whoever the user.
  test('relative paths resolve against the default workdir', { timeout: T_SHORT }, async () => {
    const name = `${uniqueTag('rel')}.txt`
    const info = await sbx.files.write(name, 'relative')
    assert.equal(info.path, `/home/user/${name}`)
    assert.equal(await sbx.files.read(`/home/user/${name}`), 'relative')
    assert.equal(await sbx.files.read(name), 'relative')
    const asRoot = await sbx.files.write(name, 'root-relative', { user: 'root' })
    assert.equal(asRoot.path, `/home/user/${name}`)
  })

  test('user option sets ownership', { timeout: T_SHORT }, async () => {
    const path = `${freshDir()}/owned-by-root.txt`
    await sbx.files.write(path, 'x', { user: 'root' })
    assert.equal((await sbx.files.getInfo(path)).owner, 'root')
    assert.equal(await sbx.files.read(path, { user: 'root' }), 'x')
  })

  test('octet-stream and gzip uploads, gzip download', { timeout: T_SHORT }, async () => {
    const d = freshDir()
    const text = 'compress me '.repeat(10_000)
    await sbx.files.write(`${d}/octet.txt`, 'octet body', { useOctetStream: true })
    assert.equal(await sbx.files.read(`${d}/octet.txt`), 'octet body')
    await sbx.files.write(`${d}/gz.txt`, text, { gzip: true })
    assert.equal(await sbx.files.read(`${d}/gz.txt`), text)
    assert.equal(await sbx.files.read(`${d}/gz.txt`, { gzip: true }), text)
    assert.equal((await sbx.files.getInfo(`${d}/gz.txt`)).size, Buffer.byteLength(text))
  })

  test('50 MiB file (multipart upload) reads back with the same sha256', { timeout: T_LONG }, async () => {
    const path = `${freshDir()}/big-multipart.bin`
    const buf = patternBuffer(50 * MiB, 11)
    const want = sha256(buf)
    const started = Date.now()
    await sbx.files.write(path, new Blob([buf]), { requestTimeoutMs: 120_000 })
    assert.equal((await sbx.files.getInfo(path)).size, 50 * MiB)

    // Streamed read, hashed as it arrives.
    const stream = await sbx.files.read(path, { format: 'stream', requestTimeoutMs: 120_000 })
    const h = createHash('sha256')
    let n = 0
    for await (const chunk of stream) {
      h.update(chunk)
      n += chunk.length
    }
    assert.equal(n, 50 * MiB)
    assert.equal(h.digest('hex'), want)

    // The sandbox sees the same bytes.
    const inside = await sbx.commands.run(`sha256sum ${path} | cut -d" " -f1`, { timeoutMs: 60_000 })
    assert.equal(inside.stdout.trim(), want)
    assert.ok(Date.now() - started < 120_000, `took ${Date.now() - started} ms`)
  })

  test('50 MiB file (streamed octet-stream upload) reads back as bytes', { timeout: T_LONG }, async () => {
    const path = `${freshDir()}/big-stream.bin`
    const buf = patternBuffer(50 * MiB, 23)
    const want = sha256(buf)
    const started = Date.now()
    const info = await sbx.files.write(path, bufferToStream(buf), { requestTimeoutMs: 120_000 })
    assert.equal(info.path, path)
    const bytes = await sbx.files.read(path, { format: 'bytes', requestTimeoutMs: 120_000 })
    assert.equal(bytes.length, 50 * MiB)
    assert.equal(sha256(bytes), want)
    assert.ok(Date.now() - started < 120_000, `took ${Date.now() - started} ms`)
  })

  test('list with depth 1 and depth 2', { timeout: T_SHORT }, async () => {
    const d = freshDir()
    await sbx.files.write([
      { path: `${d}/top.txt`, data: 'top' },
      { path: `${d}/a/mid.txt`, data: 'mid' },
      { path: `${d}/a/b/deep.txt`, data: 'deep' },
    ])
    const depth1 = await sbx.files.list(d)
    assert.deepEqual(depth1.map((e) => e.path).sort(), [`${d}/a`, `${d}/top.txt`])
    const top = depth1.find((e) => e.name === 'top.txt')
    assert.equal(top.type, FileType.FILE)
    assert.equal(top.size, 3)
    const a = depth1.find((e) => e.name === 'a')
    assert.equal(a.type, FileType.DIR)

    const depth2 = await sbx.files.list(d, { depth: 2 })
    assert.deepEqual(depth2.map((e) => e.path).sort(), [`${d}/a`, `${d}/a/b`, `${d}/a/mid.txt`, `${d}/top.txt`])
    const mid = depth2.find((e) => e.path === `${d}/a/mid.txt`)
    assert.equal(mid.name, 'mid.txt')

    const depth3 = await sbx.files.list(d, { depth: 3 })
    assert.ok(depth3.some((e) => e.path === `${d}/a/b/deep.txt`))

    await assert.rejects(sbx.files.list(`${d}/nope`), FileNotFoundError)
    await assert.rejects(sbx.files.list(d, { depth: 0 }), InvalidArgumentError) // client-side check
  })

  test('exists', { timeout: T_SHORT }, async () => {
    const d = freshDir()
    await sbx.files.write(`${d}/here.txt`, 'x')
    assert.equal(await sbx.files.exists(`${d}/here.txt`), true)
    assert.equal(await sbx.files.exists(d), true)
    assert.equal(await sbx.files.exists(`${d}/missing.txt`), false)
    assert.equal(await sbx.files.exists(`/nonexistent-${uniqueTag()}/x`), false)
  })

  test('getInfo of a file, a directory and a symlink', { timeout: T_SHORT }, async () => {
    const d = freshDir()
    const path = `${d}/info.txt`
    const before = Date.now()
    await sbx.files.write(path, 'hello world')
    const info = await sbx.files.getInfo(path)
    assert.equal(info.type, FileType.FILE)
    assert.equal(info.size, 11)
    assert.equal(info.name, 'info.txt')
    assert.equal(info.path, path)
    assert.equal(info.owner, 'user')
    assert.equal(info.group, 'user')
    assert.equal(typeof info.mode, 'number')
    assert.match(info.permissions, /^-[rwx-]{9}$/)
    assert.ok(info.modifiedTime instanceof Date)
    assert.ok(Math.abs(info.modifiedTime.getTime() - before) < 60_000, `modifiedTime ${info.modifiedTime.toISOString()}`)

    await sbx.commands.run(`chmod 640 ${path}`)
    const chmodded = await sbx.files.getInfo(path)
    assert.equal(chmodded.mode & 0o777, 0o640)
    assert.equal(chmodded.permissions, '-rw-r-----')

    const dirInfo = await sbx.files.getInfo(d)
    assert.equal(dirInfo.type, FileType.DIR)
    assert.equal(dirInfo.path, d)
    assert.match(dirInfo.permissions, /^d[rwx-]{9}$/)

    await sbx.commands.run(`ln -s ${path} ${d}/link`)
    const link = await sbx.files.getInfo(`${d}/link`)
    assert.equal(link.symlinkTarget, path)
    assert.equal(link.path, `${d}/link`)

    await assert.rejects(sbx.files.getInfo(`${d}/missing`), FileNotFoundError)
  })

  test('read errors: missing file and directory', { timeout: T_SHORT }, async () => {
    const d = freshDir()
    await sbx.files.makeDir(d)
    await assert.rejects(sbx.files.read(`${d}/missing.txt`), FileNotFoundError)
    await assert.rejects(sbx.files.read(d), InvalidArgumentError)
  })

  test('makeDir: true when created, false when it exists', { timeout: T_SHORT }, async () => {
    const d = freshDir()
    assert.equal(await sbx.files.makeDir(`${d}/x/y/z`), true)
    assert.equal((await sbx.files.getInfo(`${d}/x/y/z`)).type, FileType.DIR)
    assert.equal(await sbx.files.makeDir(`${d}/x/y/z`), false)
    assert.equal(await sbx.files.makeDir(`${d}/x`), false)
    await sbx.files.write(`${d}/file`, 'f')
    await assert.rejects(sbx.files.makeDir(`${d}/file`))
  })

  test('rename', { timeout: T_SHORT }, async () => {
    const d = freshDir()
    await sbx.files.write(`${d}/old.txt`, 'content')
    const entry = await sbx.files.rename(`${d}/old.txt`, `${d}/new.txt`)
    assert.equal(entry.path, `${d}/new.txt`)
    assert.equal(entry.name, 'new.txt')
    assert.equal(entry.type, FileType.FILE)
    assert.equal(await sbx.files.exists(`${d}/old.txt`), false)
    assert.equal(await sbx.files.read(`${d}/new.txt`), 'content')

    // Directories move with their contents.
    await sbx.files.write(`${d}/dir1/inner.txt`, 'inner')
    const moved = await sbx.files.rename(`${d}/dir1`, `${d}/dir2`)
    assert.equal(moved.type, FileType.DIR)
    assert.equal(await sbx.files.read(`${d}/dir2/inner.txt`), 'inner')

    await assert.rejects(sbx.files.rename(`${d}/nope`, `${d}/nope2`), FileNotFoundError)
  })

  test('remove a file and a directory tree', { timeout: T_SHORT }, async () => {
    const d = freshDir()
    await sbx.files.write([
      { path: `${d}/gone.txt`, data: 'x' },
      { path: `${d}/tree/a/b.txt`, data: 'y' },
    ])
    await sbx.files.remove(`${d}/gone.txt`)
    assert.equal(await sbx.files.exists(`${d}/gone.txt`), false)
    await sbx.files.remove(`${d}/tree`)
    assert.equal(await sbx.files.exists(`${d}/tree`), false)
    assert.equal(await sbx.files.exists(d), true)
  })

  test('watchDir sees a file created after the watch starts', { timeout: T_SHORT }, async () => {
    const d = freshDir()
    await sbx.files.makeDir(d)
    const events = []
    const handle = await sbx.files.watchDir(d, (ev) => events.push(ev), { timeoutMs: 30_000 })
    try {
      await sbx.files.write(`${d}/new.txt`, 'watched')
      await waitFor(
        () =>
          events.some(
            (e) =>
              e.name === 'new.txt' &&
              (e.type === FilesystemEventType.CREATE || e.type === FilesystemEventType.WRITE),
          ),
        { timeoutMs: 10_000, what: `a create/write event for new.txt; got ${JSON.stringify(events)}` },
      )

      await sbx.commands.run(`rm ${d}/new.txt`)
      await waitFor(() => events.some((e) => e.name === 'new.txt' && e.type === FilesystemEventType.REMOVE), {
        timeoutMs: 10_000,
        what: `a remove event for new.txt; got ${JSON.stringify(events)}`,
      })
    } finally {
      await handle.stop()
    }

    // Nothing arrives after stop().
    const count = events.length
    await sbx.files.write(`${d}/after-stop.txt`, 'x')
    await sleep(1_000)
    assert.equal(events.length, count, 'no events after stop()')
  })

  test('watchDir recursive reports nested paths', { timeout: T_SHORT }, async () => {
    const d = freshDir()
    await sbx.files.makeDir(`${d}/sub`)
    const events = []
    const handle = await sbx.files.watchDir(d, (ev) => events.push(ev), { recursive: true, timeoutMs: 30_000 })
    try {
      await sbx.commands.run(`echo hi > ${d}/sub/nested.txt`)
      await waitFor(() => events.some((e) => e.name === 'sub/nested.txt'), {
        timeoutMs: 10_000,
        what: `an event for sub/nested.txt; got ${JSON.stringify(events)}`,
      })
    } finally {
      await handle.stop()
    }
  })

  test('watchDir includeEntry carries the entry', { timeout: T_SHORT }, async (t) => {
    if (cmpVersion(envdVersion, '0.6.3') < 0) {
      t.skip(`envd ${envdVersion} < 0.6.3`)
      return
    }
    const d = freshDir()
    await sbx.files.makeDir(d)
    const events = []
    const handle = await sbx.files.watchDir(d, (ev) => events.push(ev), { includeEntry: true, timeoutMs: 30_000 })
    try {
      await sbx.files.write(`${d}/entry.txt`, '12345')
      const ev = await waitFor(() => events.find((e) => e.name === 'entry.txt' && e.entry), {
        timeoutMs: 10_000,
        what: `an event with an entry; got ${JSON.stringify(events)}`,
      })
      assert.equal(ev.entry.path, `${d}/entry.txt`)
      assert.equal(ev.entry.type, FileType.FILE)
    } finally {
      await handle.stop()
    }
  })

  test('watchDir on a missing directory fails', { timeout: T_SHORT }, async () => {
    await assert.rejects(
      withTimeout(sbx.files.watchDir(`/tmp/${uniqueTag('nowatch')}`, () => {}), 15_000, 'watchDir'),
      FileNotFoundError,
    )
  })

  describe('signed URLs', () => {
    const post = (url, content, filename = 'upload.bin') => {
      const form = new FormData()
      form.append('file', new Blob([content]), filename)
      return fetch(url, { method: 'POST', body: form })
    }

    test('uploadUrl and downloadUrl work with plain fetch', { timeout: T_SHORT }, async () => {
      const path = `${freshDir()}/signed.txt`
      const up = await sbx.uploadUrl(path)
      const upUrl = new URL(up)
      assert.equal(upUrl.origin, new URL(SANDBOX_URL).origin)
      assert.equal(upUrl.pathname, '/files')
      assert.equal(upUrl.searchParams.get('path'), path)
      assert.match(upUrl.searchParams.get('signature'), /^v1_[A-Za-z0-9+/]+$/)
      assert.equal(upUrl.searchParams.get('signature_expiration'), null)

      const res = await post(up, 'uploaded through a signed URL')
      assert.equal(res.status, 200, await res.clone().text())
      const body = await res.json()
      assert.ok(Array.isArray(body))
      assert.equal(body[0].path, path)
      assert.equal(body[0].name, 'signed.txt')
      assert.equal(body[0].type, 'file')
      assert.equal(await sbx.files.read(path), 'uploaded through a signed URL')

      const down = await sbx.downloadUrl(path)
      const got = await fetch(down)
      assert.equal(got.status, 200)
      assert.equal(await got.text(), 'uploaded through a signed URL')
    })

    test('signed URLs with an expiration in the future work', { timeout: T_SHORT }, async () => {
      const path = `${freshDir()}/signed-exp.bin`
      const payload = patternBuffer(256 * 1024, 5)
      const up = await sbx.uploadUrl(path, { useSignatureExpiration: 120 })
      const exp = Number(new URL(up).searchParams.get('signature_expiration'))
      const now = Math.floor(Date.now() / 1000)
      assert.ok(exp >= now + 110 && exp <= now + 130, `signature_expiration ${exp}, now ${now}`)
      const res = await post(up, payload)
      assert.equal(res.status, 200, await res.clone().text())
      await res.arrayBuffer()

      const down = await sbx.downloadUrl(path, { useSignatureExpiration: 120 })
      const got = await fetch(down)
      assert.equal(got.status, 200)
      assert.equal(sha256(Buffer.from(await got.arrayBuffer())), sha256(payload))
    })

    test('signed URLs for another user carry username', { timeout: T_SHORT }, async () => {
      const path = `${freshDir()}/signed-root.txt`
      const up = await sbx.uploadUrl(path, { user: 'root' })
      assert.equal(new URL(up).searchParams.get('username'), 'root')
      const res = await post(up, 'as root')
      assert.equal(res.status, 200, await res.clone().text())
      await res.arrayBuffer()
      assert.equal((await sbx.files.getInfo(path)).owner, 'root')
      const got = await fetch(await sbx.downloadUrl(path, { user: 'root' }))
      assert.equal(got.status, 200)
      assert.equal(await got.text(), 'as root')
    })

    test('tampered, mismatched and missing signatures get 401', { timeout: T_SHORT }, async () => {
      const path = `${freshDir()}/protected.txt`
      await sbx.files.write(path, 'secret')

      const down = new URL(await sbx.downloadUrl(path))
      const sig = down.searchParams.get('signature')

      // Flip the last character of the signature.
      const tampered = new URL(down)
      const last = sig.at(-1)
      tampered.searchParams.set('signature', sig.slice(0, -1) + (last === 'A' ? 'B' : 'A'))
      const r1 = await fetch(tampered)
      assert.equal(r1.status, 401)
      await r1.arrayBuffer()

      // The signature is bound to the path.
      const otherPath = new URL(down)
      otherPath.searchParams.set('path', `${dir}/other.txt`)
      const r2 = await fetch(otherPath)
      assert.equal(r2.status, 401)
      await r2.arrayBuffer()

      // ... and to the operation: a read signature cannot write.
      const r3 = await post(down, 'overwrite attempt')
      assert.equal(r3.status, 401)
      await r3.arrayBuffer()
      assert.equal(await sbx.files.read(path), 'secret')

      // ... and to the user.
      const asRoot = new URL(down)
      asRoot.searchParams.set('username', 'root')
      const r4 = await fetch(asRoot)
      assert.equal(r4.status, 401)
      await r4.arrayBuffer()

      // No signature at all.
      const bare = new URL(down)
      bare.searchParams.delete('signature')
      const r5 = await fetch(bare)
      assert.equal(r5.status, 401)
      await r5.arrayBuffer()

      // Adding an expiration the signature did not cover.
      const addedExp = new URL(down)
      addedExp.searchParams.set('signature_expiration', String(Math.floor(Date.now() / 1000) + 3600))
      const r6 = await fetch(addedExp)
      assert.equal(r6.status, 401)
      await r6.arrayBuffer()
    })

    test('an expired signature gets 401 "signature is already expired"', { timeout: T_SHORT }, async () => {
      const path = `${freshDir()}/expiring.txt`
      await sbx.files.write(path, 'soon gone')
      const down = await sbx.downloadUrl(path, { useSignatureExpiration: 1 })
      const up = await sbx.uploadUrl(path, { useSignatureExpiration: 1 })
      await sleep(2_500)

      const r1 = await fetch(down)
      assert.equal(r1.status, 401)
      const b1 = await r1.json()
      assert.equal(b1.code, 401)
      assert.equal(b1.message, 'signature is already expired')

      const r2 = await post(up, 'too late')
      assert.equal(r2.status, 401)
      const b2 = await r2.json()
      assert.equal(b2.message, 'signature is already expired')
      assert.equal(await sbx.files.read(path), 'soon gone')
    })

    test('a signature of one sandbox does not open another', { timeout: T_MEDIUM }, async () => {
      const path = `${freshDir()}/cross.txt`
      await sbx.files.write(path, 'mine')
      const other = await createSandbox()
      try {
        await other.files.write(path, 'theirs')
        const mine = await fetch(await sbx.downloadUrl(path))
        assert.equal(await mine.text(), 'mine')
        const theirs = await fetch(await other.downloadUrl(path))
        assert.equal(await theirs.text(), 'theirs')
      } finally {
        await killSandbox(other)
      }
    })
  })

  describe('file metadata', () => {
    test('metadata on write appears in the write result, getInfo and list', { timeout: T_SHORT }, async () => {
      const d = freshDir()
      const path = `${d}/meta.txt`
      const info = await sbx.files.write(path, 'with metadata', { metadata: { Owner: 'alice', 'build-id': '42' } })
      assert.deepEqual(lowerKeys(info.metadata), { owner: 'alice', 'build-id': '42' })

      const stat = await sbx.files.getInfo(path)
      assert.deepEqual(stat.metadata, { owner: 'alice', 'build-id': '42' })

      const listed = (await sbx.files.list(d)).find((e) => e.name === 'meta.txt')
      assert.deepEqual(listed.metadata, { owner: 'alice', 'build-id': '42' })

      // A file written without metadata has none.
      await sbx.files.write(`${d}/plain.txt`, 'plain')
      assert.equal((await sbx.files.getInfo(`${d}/plain.txt`)).metadata, undefined)

      // Re-uploading with metadata replaces the old set.
      await sbx.files.write(path, 'v2', { metadata: { owner: 'bob' } })
      assert.deepEqual((await sbx.files.getInfo(path)).metadata, { owner: 'bob' })

      // Metadata follows the file through a rename.
      const renamed = await sbx.files.rename(path, `${d}/meta-renamed.txt`)
      assert.deepEqual(renamed.metadata, { owner: 'bob' })
    })

    test('metadata on a multi-file write applies to every file', { timeout: T_SHORT }, async () => {
      const d = freshDir()
      const infos = await sbx.files.write(
        [
          { path: `${d}/m1.txt`, data: '1' },
          { path: `${d}/m2.txt`, data: '2' },
        ],
        { metadata: { batch: 'b-7' } },
      )
      assert.equal(infos.length, 2)
      for (const p of [`${d}/m1.txt`, `${d}/m2.txt`]) {
        assert.deepEqual((await sbx.files.getInfo(p)).metadata, { batch: 'b-7' })
      }
    })

    test('metadata on a streamed (octet-stream) upload', { timeout: T_SHORT }, async () => {
      const path = `${freshDir()}/meta-stream.bin`
      await sbx.files.write(path, bufferToStream(Buffer.from('streamed')), { metadata: { kind: 'stream' } })
      assert.deepEqual((await sbx.files.getInfo(path)).metadata, { kind: 'stream' })
    })

    test('invalid metadata is rejected by the SDK before sending', { timeout: T_SHORT }, async () => {
      const path = `${freshDir()}/bad-meta.txt`
      await assert.rejects(sbx.files.write(path, 'x', { metadata: { 'bad key': 'v' } }), InvalidArgumentError)
      await assert.rejects(sbx.files.write(path, 'x', { metadata: { k: 'non-ascii ż' } }), InvalidArgumentError)
      assert.equal(await sbx.files.exists(path), false)
    })
  })
})
