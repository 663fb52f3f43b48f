"""A wheel's METADATA read in JavaScript, for the chain (:mod:`micropkg.runtime.chain`).

A release whose metadata has no file of its own -- an index without PEP 658,
or a wheel whose ``.metadata`` answers 404 (pydantic's on PyPI, as seen from
this machine, 2026-12-05) -- left the chain nothing to follow until the
resolver had imported and read the wheel itself: ~100 ms of pydantic's
install. The chain fetches the likely pick's wheel anyway; :data:`WHEEL_METADATA`
reads its ``*.dist-info/METADATA`` out of the bytes (the zip's central
directory, then that one entry, stored or deflated), so the dependencies'
pages go out as the wheel lands. A guess only: anything unexpected is null,
and the resolver still reads the wheel with :mod:`micropkg.model.zip_directory`
and checks it. ``tests/host/test_wheel_metadata.py`` compares the two.
"""

from __future__ import annotations

__all__ = ["WHEEL_METADATA"]

# (bytes: Uint8Array) => Promise<string | null>. Deflated entries inflate through Node's zlib,
# or a browser's DecompressionStream.
WHEEL_METADATA = r"""(() => {
  const inflateRaw = async (data) => {
    const zlib = typeof process === "object" && typeof process.getBuiltinModule === "function"
      ? process.getBuiltinModule("node:zlib") : null;
    if (zlib) return zlib.inflateRawSync(data);
    const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  };
  return async (bytes) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let end = -1;  // the end of central directory record, within the last 64 KB (its comment)
    for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535) && end < 0; i--) {
      if (view.getUint32(i, true) === 0x06054b50) end = i;
    }
    if (end < 0) return null;
    const decoder = new TextDecoder();
    for (let at = view.getUint32(end + 16, true), n = view.getUint16(end + 10, true); n > 0; n--) {
      if (at + 46 > bytes.length || view.getUint32(at, true) !== 0x02014b50) return null;
      const method = view.getUint16(at + 10, true), size = view.getUint32(at + 20, true);
      const nameLength = view.getUint16(at + 28, true), local = view.getUint32(at + 42, true);
      const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength));
      at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
      if (!/^[^/]+\.dist-info\/METADATA$/.test(name)) continue;
      if (local + 30 > bytes.length || view.getUint32(local, true) !== 0x04034b50) return null;
      const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
      if (start + size > bytes.length || (method !== 0 && method !== 8)) return null;
      const data = bytes.subarray(start, start + size);
      return decoder.decode(method === 0 ? data : await inflateRaw(data));
    }
    return null;
  };
})()"""
