// Golden vectors from the published Connext client (connext@4.1.7), for tests/hub/core.
// Reads a JSON batch on stdin, writes the client's answers as JSON on stdout.
'use strict'
const path = require('path')
const dist = path.join(process.cwd(), 'node_modules', 'connext', 'dist')
const { Utils } = require(path.join(dist, 'Utils'))
const { StateGenerator } = require(path.join(dist, 'StateGenerator'))
const types = require(path.join(dist, 'types'))
const lib = require(path.join(dist, 'lib'))
const { ethers } = require('ethers')

const utils = new Utils()
const sg = new StateGenerator()

const bnArgs = {
  Payment: (a) => types.convertPayment('bn', a),
  Exchange: (a) => types.convertExchange('bn', a),
  ProposePendingDeposit: (a) => types.convertDeposit('bn', a),
  ProposePendingWithdrawal: (a) => types.convertWithdrawal('bn', a),
  ConfirmPending: (a) => a,
  Invalidation: (a) => (a.withdrawal ? { ...a, withdrawal: a.withdrawal } : a),
}

async function main() {
  const chunks = []
  for await (const c of process.stdin) chunks.push(c)
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const out = {}
  out.channelHashes = (req.channels || []).map((s) => utils.createChannelStateHash(s))
  out.threadHashes = (req.threads || []).map((t) => utils.createThreadStateHash(t))
  out.threadRoots = (req.threadSets || []).map((set) => utils.generateThreadRootHash(set))
  out.merkleRoots = (req.leafSets || []).map((set) => new lib.MerkleTree(set).root)
  out.merkleProofs = (req.proofs || []).map(({ leaves, leaf, check }) => {
    const tree = new lib.MerkleTree(leaves)
    let proof = null
    try { proof = tree.proof(leaf) } catch (e) { proof = { error: String(e.message) } }
    return { proof, verified: (check || []).map((p) => tree.verify(p)) }
  })
  out.depositHashes = (req.deposits || []).map((d) => utils.createDepositRequestProposalHash(d))
  out.signatures = []
  for (const { key, hash } of req.sign || []) {
    out.signatures.push(await new ethers.Wallet(key).signMessage(ethers.utils.arrayify(hash)))
  }
  out.conversions = (req.conversions || []).map(({ amount, rate }) => ({
    tokenToWei: lib.tokenToWei(lib.toBN(amount), rate).toString(),
    weiToToken: lib.weiToToken(lib.toBN(amount), rate).toString(),
  }))
  out.generated = (req.generate || []).map(({ reason, prev, args }) => {
    try {
      const prevBN = types.convertChannelState('bn', prev)
      const argsBN = bnArgs[reason](args)
      const handler = {
        Payment: () => sg.channelPayment(prevBN, argsBN),
        Exchange: () => sg.exchange(prevBN, argsBN),
        ProposePendingDeposit: () => sg.proposePendingDeposit(prevBN, argsBN),
        ProposePendingWithdrawal: () => sg.proposePendingWithdrawal(prevBN, argsBN),
        ConfirmPending: () => sg.confirmPending(prevBN),
        Invalidation: () => sg.invalidation(prevBN, argsBN.withdrawal
          ? { ...argsBN, withdrawal: argsBN.withdrawal } : argsBN),
      }[reason]
      return { state: types.convertChannelState('str-unsigned', handler()) }
    } catch (e) {
      return { error: String(e && e.message || e) }
    }
  })
  process.stdout.write(JSON.stringify(out))
}

main().catch((e) => { console.error(e); process.exit(1) })
