// The Card's protocol module (static/card/protocol.js) answers the same batches as
// tests/hub/core/vectors.js, so tests/card/test_card_protocol.py can hold it to hub/core's results.
'use strict'
const path = require('path')
const { ethers } = require('ethers')
const P = require(path.join(process.cwd(), 'static', 'card', 'protocol.js'))

async function main() {
  const chunks = []
  for await (const c of process.stdin) chunks.push(c)
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const out = {}
  out.channelHashes = (req.channels || []).map((s) => P.stateHash(s))
  out.depositHashes = (req.deposits || []).map((d) => P.depositRequestHash(d.amountToken, d.amountWei))
  out.signatures = []
  for (const { key, hash } of req.sign || []) {
    out.signatures.push(await P.signHash(new ethers.Wallet(key), hash))
  }
  out.recovered = (req.recover || []).map(({ hash, sig }) => P.recoverHash(hash, sig))
  out.nonceSignatures = []
  for (const { key, nonce } of req.nonces || []) {
    out.nonceSignatures.push(await P.signNonce(new ethers.Wallet(key), nonce))
  }
  out.conversions = (req.conversions || []).map(({ amount, rate }) => ({
    tokenToWei: P.tokenToWei(amount, rate).toString(),
    weiToToken: P.weiToToken(amount, rate).toString(),
  }))
  out.generated = (req.generate || []).map(({ reason, prev, args }) => {
    try {
      const s = P.generate(prev, reason, args)
      delete s.sigHub
      delete s.sigUser
      return { state: s }
    } catch (e) {
      return { error: String(e && e.message || e) }
    }
  })
  out.mnemonics = (req.mnemonics || []).map((phrase) => {
    const w = ethers.Wallet.fromMnemonic(phrase)
    return { address: w.address.toLowerCase(), privateKey: w.privateKey }
  })
  process.stdout.write(JSON.stringify(out))
}

main().catch((e) => { console.error(e); process.exit(1) })
