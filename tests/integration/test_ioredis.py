"""keel-server driven by ioredis (Node.js), installed once from the npm
registry into the build directory and reused after that. Skipped (77) when
node or npm is not there, or ioredis cannot be installed."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from keelserver import KeelServer, main, skip_script

IOREDIS = "ioredis@5"
NODE_DIR = os.environ.get("KEEL_NODE_DIR") or os.path.join(tempfile.gettempdir(), "keel-it-node")

SCRIPT = r"""
const assert = require('assert');
const Redis = require('ioredis');
const port = Number(process.argv[2]);
const opts = {host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0,
              retryStrategy: () => null, connectTimeout: 5000};
const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
let checks = 0;
function eq(a, b, what) { assert.deepStrictEqual(a, b, what); checks++; }

(async () => {
  const r = new Redis(opts);
  await r.connect();                      // ioredis's ready check runs INFO
  eq(r.status, 'ready', 'status');
  eq(await r.ping(), 'PONG', 'ping');
  eq(await r.set('io:k', 'v'), 'OK', 'set');
  eq(await r.get('io:k'), 'v', 'get');
  eq(await r.get('io:nokey'), null, 'get missing');

  // Pipeline: one round trip, [err, result] per command.
  const p = await r.pipeline()
    .set('io:a', 1).incr('io:a').get('io:a')
    .hset('io:h', 'f1', 'v1', 'f2', 'v2').hgetall('io:h')
    .incrbyfloat('io:f', '1.5')
    .exec();
  eq(p, [[null, 'OK'], [null, 2], [null, '2'], [null, 2], [null, {f1: 'v1', f2: 'v2'}],
         [null, '1.5']], 'pipeline');
  const many = r.pipeline();
  for (let i = 0; i < 1000; i++) many.set('io:p:' + i, i);
  many.dbsize();
  const mres = await many.exec();
  eq(mres.length, 1001, 'big pipeline length');
  eq(mres.slice(0, 1000).every(([e, v]) => e === null && v === 'OK'), true, 'big pipeline replies');

  // MULTI/EXEC.
  const m = await r.multi().incr('io:a').incrby('io:a', 10).get('io:a').exec();
  eq(m, [[null, 3], [null, 13], [null, '13']], 'multi/exec');

  // Errors: a rejected promise with Redis's text, as a ReplyError.
  await r.hset('io:wt', 'f', 'v');
  let err = null;
  try { await r.incr('io:wt'); } catch (e) { err = e; }
  assert(err instanceof Redis.ReplyError, 'ReplyError expected, got ' + err);
  eq(err.message, WRONGTYPE, 'error text');
  err = null;
  try { await r.call('NOSUCHCMD', 'x'); } catch (e) { err = e; }
  eq(err && err.message, "ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' ", 'unknown');
  const pe = await r.pipeline().incr('io:wt').get('io:k').exec();
  eq(pe[0][0] instanceof Redis.ReplyError, true, 'pipeline error');
  eq(pe[0][0].message, WRONGTYPE, 'pipeline error text');
  eq(pe[1], [null, 'v'], 'pipeline after error');
  const me = await r.multi().incr('io:wt').incr('io:a').exec();
  eq(me[0][0] && me[0][0].message, WRONGTYPE, 'error inside exec');
  eq(me[1], [null, 14], 'exec goes on after an error');

  // WATCH conflict: EXEC returns null.
  const other = new Redis(opts);
  await other.connect();
  await r.watch('io:w');
  await other.set('io:w', 'theirs');
  eq(await r.multi().set('io:w', 'mine').exec(), null, 'watch conflict');
  eq(await r.get('io:w'), 'theirs', 'watched key kept');
  other.disconnect();

  eq(await r.quit(), 'OK', 'quit');
  console.log(JSON.stringify({ok: true, checks}));
})().catch((e) => { console.error('FAILED:', e && e.stack || e); process.exit(1); });
"""


def ensure_ioredis():
    """Installs ioredis into NODE_DIR unless it is there; returns None or
    why it cannot be had."""
    if shutil.which("node") is None:
        return "node is not installed"
    if os.path.exists(os.path.join(NODE_DIR, "node_modules", "ioredis", "package.json")):
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed"
    os.makedirs(NODE_DIR, exist_ok=True)
    try:
        p = subprocess.run([npm, "install", "--prefix", NODE_DIR, "--no-audit", "--no-fund",
                            "--no-save", "--loglevel=error", IOREDIS],
                           capture_output=True, timeout=240)
    except subprocess.TimeoutExpired:
        return "npm install %s timed out" % IOREDIS
    if p.returncode != 0 or not os.path.exists(os.path.join(NODE_DIR, "node_modules", "ioredis")):
        return "npm install %s failed: %s" % (IOREDIS, (p.stdout + p.stderr).decode(errors="replace")[-800:])
    return None


class IoredisTest(unittest.TestCase):
    def test_ioredis_client(self):
        with KeelServer() as server:
            with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False) as f:
                f.write(SCRIPT)
                script = f.name
            try:
                env = dict(os.environ, NODE_PATH=os.path.join(NODE_DIR, "node_modules"))
                p = subprocess.run(["node", script, str(server.port)], capture_output=True,
                                   timeout=60, env=env)
            finally:
                os.unlink(script)
            out, errs = p.stdout.decode(), p.stderr.decode()
            self.assertEqual(p.returncode, 0, "node: %s\n%s" % (out, errs))
            res = json.loads(out.strip().splitlines()[-1])
            self.assertTrue(res["ok"])
            self.assertEqual(res["checks"], 19)
            self.assertTrue(server.alive())
        self.assertEqual(server.returncode, 0)


if __name__ == "__main__":
    why = ensure_ioredis()
    if why:
        skip_script("ioredis unavailable: " + why)
    main()
