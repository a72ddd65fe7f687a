'use strict';
// JS reference runner: the vendor's CryptoJS snippet behind the runner protocol (v1).
// JSON Lines on stdin/stdout (docs/runner-protocol.md); stderr is for humans.
// Works unchanged with crypto-js 3.1.9-1 (pinned) and 4.x.

// The modules the snippet uses: core (WordArray, Utf8, Hex) and sha256, which puts HmacSHA256 on the
// core object (hmac comes with it). require('crypto-js') signs the same bytes, but its index also loads
// lib-typedarrays, which wraps every WordArray construction in a typed-array check the snippet never
// needs (about 5% of the runner's time).
const CryptoJS = require('crypto-js/core');
require('crypto-js/hmac-sha256');

const HELLO = {
  op: 'hello',
  protocol: 1,
  name: 'js-reference',
  language: 'js',
  runtime: process.version,
  library: 'crypto-js',
  library_version: require('crypto-js/package.json').version,
};

// The vendor's documented JS snippet, unchanged. Preserved behaviour: CryptoJS
// turns strings into UTF-8 with unescape(encodeURIComponent(s)), which throws
// URIError on an unpaired surrogate (the key is converted first); NUL and an
// empty key are signed like any other bytes.
function vendorSign(data, appKey) {
  return CryptoJS.HmacSHA256(data, appKey).toString();
}

class ProtocolError extends Error {}
ProtocolError.prototype.name = 'ProtocolError';

// Join the fields for the mode; colons stay where a field is left empty.
function stringToSign(req) {
  for (const k of ['app_id', 'corp_id', 'user_id', 'nonce', 'app_key']) {
    if (typeof req[k] !== 'string') throw new ProtocolError(`${k} must be a string`);
  }
  if (!Number.isInteger(req.expire_time) || req.expire_time < 0) {
    throw new ProtocolError('expire_time must be a non-negative integer');
  }
  // Faithful JavaScript: JSON.parse made expire_time a double, so integers above
  // 2^53 are rounded and 9223372036854775807 prints as 9223372036854776000.
  // That is what a JS signer sends; keep it.
  const exp = String(req.expire_time);
  const { app_id, corp_id, user_id, nonce } = req;
  switch (req.mode) {
    case 'single': return `${app_id}:${user_id}:${exp}:${nonce}`;
    case 'sp_user': return `${app_id}:${corp_id}:${user_id}:${exp}:${nonce}`;
    case 'sp_corp_admin': return `${app_id}:${corp_id}::${exp}:${nonce}`;
    case 'sp_admin': return `${app_id}:::${exp}:${nonce}`;
    default: throw new ProtocolError(`unknown mode ${JSON.stringify(req.mode)}`);
  }
}

function handle(req) {
  if (req.op === 'hello') return HELLO;
  if (req.op !== 'sign') throw new ProtocolError(`unknown op ${JSON.stringify(req.op)}`);
  if (!Number.isInteger(req.seq) || req.seq < 0) throw new ProtocolError('seq must be a non-negative integer');
  const data = stringToSign(req);
  try {
    return { seq: req.seq, string_to_sign: data, signature: vendorSign(data, req.app_key) };
  } catch (e) { // the snippet's own refusal (URIError) is the result, not a fault
    return { seq: req.seq, string_to_sign: data, error: { type: e.name, message: e.message } };
  }
}

// One request line to one response line, or null when no seq can be read.
// JSON.stringify writes a lone surrogate as a \u escape, as the protocol requires.
function respond(line) {
  let req;
  try {
    req = JSON.parse(line);
    if (req === null || typeof req !== 'object' || Array.isArray(req)) {
      throw new ProtocolError('a request must be a JSON object');
    }
    return JSON.stringify(handle(req));
  } catch (e) { // one bad request must not end the session
    process.stderr.write(`js-reference: bad request (${e.name}: ${e.message}): ${line.slice(0, 200)}\n`);
    let seq = req && req.seq;
    if (!Number.isInteger(seq) || seq < 0) {
      const m = /"seq"\s*:\s*(\d+)/.exec(line);
      seq = m ? Number(m[1]) : null;
    }
    if (seq === null) return null;
    return JSON.stringify({ seq, error: { type: 'ProtocolError', message: `${e.name}: ${e.message}` } });
  }
}

function answer(lines) {
  const out = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    const r = respond(line);
    if (r !== null) out.push(r);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

// Answer every complete line of a chunk with a single write; Node writes (and on
// Linux flushes) before it waits for the next chunk, so the harness never waits on us.
let tail = '';
process.stdin.setEncoding('utf8'); // decodes UTF-8 split across chunks correctly
process.stdin.on('data', (chunk) => {
  const lines = (tail + chunk).split('\n');
  tail = lines.pop();
  const out = answer(lines);
  if (out) process.stdout.write(out);
});
process.stdin.on('end', () => {
  // A last line without its newline, then exit 0 once stdout has taken everything.
  process.stdout.write(answer([tail]), () => process.exit(0));
});
