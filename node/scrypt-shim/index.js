'use strict';
// The connext@4.1.7 dependency tree (web3 1.0.0-beta.33 -> eth-lib/keystore) requires the native
// `scrypt` module, which does not build on Node 20. Only hashSync is used; map it to Node's own scrypt.
const crypto = require('crypto');

function toBuffer(v) {
  return Buffer.isBuffer(v) ? v : Buffer.from(v);
}

function hashSync(key, params, dklen, salt) {
  const N = params.N, r = params.r, p = params.p;
  const maxmem = 256 * N * r + 1024 * 1024;
  return crypto.scryptSync(toBuffer(key), toBuffer(salt), dklen, { N, r, p, maxmem });
}

function hash(key, params, dklen, salt, cb) {
  try {
    const out = hashSync(key, params, dklen, salt);
    if (cb) return cb(null, out);
    return Promise.resolve(out);
  } catch (err) {
    if (cb) return cb(err);
    return Promise.reject(err);
  }
}

module.exports = { hashSync, hash };
