'use strict';
// A conforming App ID signer behind the appauth-conformance runner protocol (v1).
//
// Copy this file, replace stringToSign() and sign() with calls to YOUR signer (drop
// string_to_sign from the response if your signer does not expose it), and plug it in:
//
//     pytest --lang=mine --runner "mine=node signer.js"
//     appauth-conformance run --lang mine --runner "mine=node signer.js"
//
// or declare it once in your pyproject.toml:
//
//     [tool.appauth-conformance.runners.mine]
//     command = ["node", "signer.js"]
//
// Node.js 18+, built-in modules only (no npm install). Protocol: `appauth-conformance docs runner-protocol`;
// this file is walked through in `appauth-conformance docs writing-a-runner`.

const crypto = require('crypto');

const CARRIES = { single: ['user_id'], sp_user: ['corp_id', 'user_id'], sp_corp_admin: ['corp_id'], sp_admin: [] };

// AppID:[CorpID:]UserID:ExpireTime:Nonce; a field the mode leaves empty keeps its colons.
// expireTime is a decimal string (see parse() below), never a Number.
function stringToSign(mode, appId, corpId, userId, expireTime, nonce) {
  if (!Object.hasOwn(CARRIES, mode)) throw new TypeError(`unknown mode ${JSON.stringify(mode)}`);
  if (!CARRIES[mode].includes('corp_id')) corpId = ''; // an id the mode does not sign is ignored
  if (!CARRIES[mode].includes('user_id')) userId = '';
  if (mode === 'single') return `${appId}:${userId}:${expireTime}:${nonce}`;
  return `${appId}:${corpId}:${userId}:${expireTime}:${nonce}`; // sp_*: five slots
}

// A JS string is UTF-16 and may hold an unpaired surrogate, which has no UTF-8 form.
// Node's crypto (like Buffer.from and TextEncoder) would silently sign U+FFFD in its
// place, so check first and refuse. With the u flag, \p{Surrogate} matches only
// unpaired surrogates (a proper pair is one code point).
const LONE_SURROGATE = /\p{Surrogate}/u;

// The signer under test: lowercase hex HMAC-SHA256 of the UTF-8 text. Throws to refuse.
function sign(data, appKey) {
  for (const [name, text] of [['string_to_sign', data], ['app_key', appKey]]) {
    const m = LONE_SURROGATE.exec(text);
    if (m) {
      const unit = m[0].charCodeAt(0).toString(16).toUpperCase();
      throw new RangeError(`${name}: unpaired surrogate U+${unit} at ${m.index} has no UTF-8 form`);
    }
  }
  return crypto.createHmac('sha256', Buffer.from(appKey, 'utf8')).update(data, 'utf8').digest('hex');
}

const HELLO = {
  op: 'hello', protocol: 1, name: 'node-example', language: 'js', runtime: process.version,
  library: 'node:crypto (OpenSSL)', library_version: process.versions.openssl,
};

// JSON.parse turns numbers into doubles, which round above 2^53 (9223372036854775807
// would become 9223372036854776000). Quote every bare number first so it is parsed as
// its exact decimal text. The regex matches whole string tokens before it can see a
// digit inside one, so only numbers outside strings are quoted.
function parse(line) {
  return JSON.parse(line.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g,
    (t) => (t[0] === '"' ? t : `"${t}"`)));
}

function handle(line) {
  const req = parse(line); // a line that is not a request throws: a runner fault, with the stack on stderr
  if (req.op === 'hello') return HELLO;
  const seq = Number(req.seq);
  try {
    for (const k of ['mode', 'app_id', 'corp_id', 'user_id', 'nonce', 'app_key']) {
      if (typeof req[k] !== 'string') throw new TypeError(`${k} must be a string`);
    }
    if (!/^(0|[1-9]\d*)$/.test(req.expire_time)) {
      throw new RangeError(`expire_time must be a non-negative integer, got ${req.expire_time}`);
    }
    const data = stringToSign(req.mode, req.app_id, req.corp_id, req.user_id, req.expire_time, req.nonce);
    return { seq, string_to_sign: data, signature: sign(data, req.app_key) };
  } catch (e) { // a typed refusal: the error's name and message
    return { seq, error: { type: e.name, message: e.message } };
  }
}

// Answer every complete line of a chunk with one write. On Linux, writes to a pipe are
// synchronous in Node, so the answers are out before we wait for the next chunk.
// JSON.stringify writes a lone surrogate as a \u escape, as the protocol requires.
let tail = '';
process.stdin.setEncoding('utf8'); // decodes UTF-8 split across chunks correctly
process.stdin.on('data', (chunk) => {
  const lines = (tail + chunk).split('\n');
  tail = lines.pop();
  const out = lines.filter((l) => l.trim()).map((l) => JSON.stringify(handle(l)) + '\n').join('');
  if (out) process.stdout.write(out);
});
process.stdin.on('end', () => { // EOF: answer a last unterminated line, then exit 0
  const out = tail.trim() ? JSON.stringify(handle(tail)) + '\n' : '';
  process.stdout.write(out, () => process.exit(0));
});
