/**
 * The path rules of the token file's crash-safe writes (src/internal/atomicFile.ts): where the directory
 * that is fsynced and searched for stale temp files is, where a symlink points, which names are temp
 * files. The writes themselves are tested through the file store (token-store.test.ts).
 */
import { assert, describe, it } from "@effect/vitest"
import { dirname, isTempOf, resolveSibling } from "../src/internal/atomicFile.js"

describe("atomicFile paths", () => {
  it("dirname: POSIX and Windows paths, the root, a bare file name", () => {
    assert.strictEqual(dirname("/var/lib/bot/tokens.json"), "/var/lib/bot")
    assert.strictEqual(dirname("/tokens.json"), "/")
    assert.strictEqual(dirname("tokens.json"), ".")
    assert.strictEqual(dirname("data/tokens.json"), "data")
    assert.strictEqual(dirname("C:\\bot\\tokens.json"), "C:\\bot")
    assert.strictEqual(dirname("C:\\bot/data\\tokens.json"), "C:\\bot/data")
    assert.strictEqual(dirname("\\tokens.json"), "\\")
    assert.strictEqual(dirname("C:\\tokens.json"), "C:\\")
    assert.strictEqual(dirname("C:/tokens.json"), "C:/")
    assert.strictEqual(dirname("ab\\tokens.json"), "ab")
  })

  it("resolveSibling: a relative symlink target is beside the link; an absolute one is kept", () => {
    assert.strictEqual(resolveSibling("/srv/bot/tokens.json", "data/t.json"), "/srv/bot/data/t.json")
    assert.strictEqual(resolveSibling("tokens.json", "t.json"), "./t.json")
    assert.strictEqual(resolveSibling("/srv/bot/tokens.json", "/etc/bot/t.json"), "/etc/bot/t.json")
    assert.strictEqual(resolveSibling("C:\\bot\\tokens.json", "D:\\data\\t.json"), "D:\\data\\t.json")
    assert.strictEqual(resolveSibling("C:\\bot\\tokens.json", "d:/data/t.json"), "d:/data/t.json")
    assert.strictEqual(resolveSibling("/srv/bot/tokens.json", "data/C:/t.json"), "/srv/bot/data/C:/t.json")
    assert.strictEqual(resolveSibling("/srv/bot/tokens.json", "C:t.json"), "/srv/bot/C:t.json")
  })

  it("isTempOf: only the writer's temp names of that very file", () => {
    const path = "/srv/bot/tokens.json"
    for (const name of ["tokens.json.k3j4h5g6.tmp", "tokens.json.0.tmp", "tokens.json.z9.tmp"]) {
      assert.isTrue(isTempOf(path, name), name)
    }
    for (
      const name of [
        "tokens.json",
        "tokens.json..tmp",
        "tokens.json.K3J4.tmp",
        "tokens.json.my-notes.tmp",
        "tokens.json.a.b.tmp",
        "tokens.json.k3j4h5g6.tmp.bak",
        "tokens.json.k3j4h5g6.tmpx",
        "tokens.json.k3j4h5g6",
        "backup.json.k3j4h5g6.tmp",
        "xtokens.json.k3j4h5g6.tmp",
        "tokens.jsonx.k3j4h5g6.tmp"
      ]
    ) {
      assert.isFalse(isTempOf(path, name), name)
    }
    assert.isTrue(isTempOf("C:\\bot\\tokens.json", "tokens.json.k3j4.tmp"))
  })
})
