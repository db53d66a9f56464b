#!/usr/bin/env node
// Drives the REAL Connext v1 client (npm `connext@4.1.7`, node_modules/connext/dist) against a
// hub, one command per process, for Spoke's end-to-end tests.
//
// Input: one JSON object, as argv[2] or on stdin:
//   { "hubUrl": "http://127.0.0.1:8000/api/hub",   // required except for generateSecret
//     "ethUrl": "http://127.0.0.1:8545",            // JSON-RPC of the chain (else hubUrl/../eth)
//     "privateKey": "0x..." | "mnemonic": "...",    // the user's key
//     "command": "deposit", "args": {...},
//     "timeoutMs": 120000, "logLevel": 3, "pollMs": 250 }
// Commands and args:
//   probe                       createClient only (GET config); prints the resolved options
//   state | sync                start(), wait for the first sync to settle; prints the channel
//   deposit   {amountWei, amountToken, gasPrice?, wait?=true}   waits for ConfirmPending
//   exchange  {toSell, currency: 'wei'|'token'}
//   withdraw  {amountWei?, amountToken?, recipient?} or full WithdrawalParameters
//             {withdrawalWeiUser, tokensToSell, weiToSell, withdrawalTokenUser, recipient,
//              exchangeRate?}; waits for ConfirmPending unless wait=false
//   buy       {meta?, payments: [{recipient, amountWei?, amountToken?, type?, meta?}]}
//   redeem    {secret}
//   requestCollateral
//   generateSecret              (no hub needed)
// Output: one JSON line on stdout: {"ok": true, "command", "result", "channel", "runtime"};
// on failure {"ok": false, "error": "..."} and exit code 1. The client's own logs go to stderr.
'use strict'

const path = require('path')

// stdout carries exactly one JSON line: the client logs through console.*, send it to stderr.
const toStderr = (...args) => process.stderr.write(args.map(String).join(' ') + '\n')
console.log = toStderr
console.info = toStderr
console.warn = toStderr
console.debug = toStderr
console.error = toStderr

// ethers v4 providers reject detached promises (e.g. net_version while the chain is down); Node 20
// would crash on them. They are reported, and the command's own result decides success.
process.on('unhandledRejection', (err) => toStderr('unhandledRejection:', err && (err.stack || err.message || err)))

// Node >= 18 ships fetch; the client calls the global `fetch`, and passes `mode: 'cors'`, which
// undici accepts. Fail clearly on an older Node instead of with "fetch is not defined".
if (typeof fetch !== 'function') {
  process.stdout.write(JSON.stringify({ ok: false, error: 'this driver needs Node >= 18 (global fetch)' }) + '\n')
  process.exit(1)
}

const connextRoot = path.resolve(__dirname, '..', '..', '..', 'node_modules', 'connext')
const connext = require(connextRoot)
const { ethers } = require(require.resolve('ethers', { paths: [connextRoot] }))

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function readInput () {
  if (process.argv[2]) return JSON.parse(process.argv[2])
  const raw = require('fs').readFileSync(0, 'utf8')
  return JSON.parse(raw || '{}')
}

function hasPendingOps (ch) {
  return [
    'pendingDepositWeiHub', 'pendingDepositWeiUser', 'pendingDepositTokenHub', 'pendingDepositTokenUser',
    'pendingWithdrawalWeiHub', 'pendingWithdrawalWeiUser', 'pendingWithdrawalTokenHub', 'pendingWithdrawalTokenUser',
  ].some((k) => ch[k] && ch[k] !== '0')
}

function snapshot (client) {
  if (!client.store) return { channel: undefined, runtime: undefined }
  const s = client.store.getState()
  return {
    channel: s.persistent.channel,
    runtime: {
      channelStatus: s.runtime.channelStatus,
      syncResultsFromHub: s.runtime.syncResultsFromHub.length,
      updatesToSync: s.persistent.syncControllerState.updatesToSync.length,
      exchangeRate: s.runtime.exchangeRate && s.runtime.exchangeRate.rates,
      custodialBalance: s.persistent.custodialBalance,
      hubAddress: s.persistent.hubAddress,
    },
  }
}

async function waitFor (client, predicate, what, timeoutMs, pollMs) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (predicate(client.store.getState())) return
    await sleep(pollMs)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; channel: ` +
    JSON.stringify(client.store.getState().persistent.channel))
}

// Settled: nothing from the hub left to handle and nothing left to send, twice in a row.
async function settle (client, timeoutMs, pollMs) {
  let quiet = 0
  await waitFor(client, (s) => {
    const idle = s.runtime.syncResultsFromHub.length === 0 &&
      s.persistent.syncControllerState.updatesToSync.length === 0
    quiet = idle ? quiet + 1 : 0
    return quiet >= 3
  }, 'the client to settle', timeoutMs, pollMs)
}

function withTimeout (promise, ms, what) {
  let timer
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms) }),
  ])
}

async function run (input) {
  const command = input.command
  const args = input.args || {}
  const timeoutMs = input.timeoutMs || 120000
  const pollMs = input.pollMs || 250

  if (command === 'generateSecret') {
    // exactly ConnextInternal.generateSecret
    return { result: { secret: ethers.utils.solidityKeccak256(['bytes32'], [ethers.utils.randomBytes(32)]) } }
  }
  if (!input.hubUrl) throw new Error('hubUrl is required')

  const opts = { hubUrl: input.hubUrl.replace(/\/$/, ''), logLevel: input.logLevel === undefined ? 2 : input.logLevel }
  if (input.ethUrl) opts.ethUrl = input.ethUrl
  if (input.privateKey) opts.privateKey = input.privateKey
  else if (input.mnemonic) opts.mnemonic = input.mnemonic
  else throw new Error('privateKey or mnemonic is required')
  if (input.user) opts.user = input.user

  const client = await withTimeout(connext.createClient(opts), timeoutMs, 'createClient (GET config)')
  if (command === 'probe') {
    const o = client.opts
    return {
      result: {
        user: o.user, hubAddress: o.hubAddress, contractAddress: o.contractAddress,
        tokenAddress: o.tokenAddress, ethChainId: o.ethChainId, maxCollateralization: o.maxCollateralization,
        clientClass: client.constructor.name,
      },
    }
  }

  await withTimeout(client.start(), timeoutMs, 'client.start()')
  try {
    const txCount = () => client.store.getState().persistent.channel.txCountGlobal
    // let the first sync round (and any hub proposals in it) finish before acting
    await waitFor(client, (s) => s.runtime.syncResultsFromHub.length === 0, 'the first sync', timeoutMs, pollMs)
    let result = null
    const start = txCount()
    switch (command) {
      case 'state':
      case 'sync':
        await sleep(Math.max(2500, pollMs)) // one SyncController round (2 s)
        await settle(client, timeoutMs, pollMs)
        break
      case 'deposit': {
        const payment = { amountWei: String(args.amountWei || '0'), amountToken: String(args.amountToken || '0') }
        const overrides = args.gasPrice ? { gasPrice: args.gasPrice } : undefined
        // resolves once userAuthorizedUpdate is in the mempool; never resolves if the hub refused
        await withTimeout(client.deposit(payment, overrides), timeoutMs, 'the hub deposit proposal + userAuthorizedUpdate')
        if (args.wait !== false) {
          await waitFor(client, (s) => s.persistent.channel.txCountGlobal >= start + 2 &&
            !hasPendingOps(s.persistent.channel), 'ConfirmPending of the deposit', timeoutMs, pollMs)
        }
        await settle(client, timeoutMs, pollMs)
        break
      }
      case 'exchange':
        await client.exchange(String(args.toSell), args.currency)
        await waitFor(client, (s) => s.persistent.channel.txCountGlobal > start, 'the countersigned exchange', timeoutMs, pollMs)
        await settle(client, timeoutMs, pollMs)
        break
      case 'withdraw': {
        const { wait, ...withdrawal } = args
        await client.withdraw(withdrawal)
        if (wait !== false) {
          await waitFor(client, (s) => s.persistent.channel.txCountGlobal >= start + 2 &&
            !hasPendingOps(s.persistent.channel), 'ConfirmPending of the withdrawal', timeoutMs, pollMs)
        }
        await settle(client, timeoutMs, pollMs)
        break
      }
      case 'buy': {
        const payments = (args.payments || []).map((p) => ({
          ...p,
          amountWei: String(p.amountWei || '0'),
          amountToken: String(p.amountToken || '0'),
          meta: p.meta || {},
        }))
        result = await client.buy({ meta: args.meta || {}, payments })
        await settle(client, timeoutMs, pollMs)
        break
      }
      case 'redeem':
        result = await client.redeem(args.secret)
        await settle(client, timeoutMs, pollMs)
        break
      case 'recipientNeedsCollateral': {
        // reads GET channel/<recipient> as another user (the hub answers a redacted view)
        const message = await client.recipientNeedsCollateral(args.recipient, {
          amountWei: String(args.amountWei || '0'), amountToken: String(args.amountToken || '0'),
        })
        result = { message: message === undefined ? null : message }
        break
      }
      case 'requestCollateral': {
        const before = BigInt(client.store.getState().persistent.channel.balanceTokenHub)
        await client.requestCollateral()
        if (args.wait) {
          // the client countersigns the hub's proposal on sync; the hub then deposits on-chain
          await waitFor(client, (s) => BigInt(s.persistent.channel.balanceTokenHub) > before &&
            !hasPendingOps(s.persistent.channel), 'the hub collateral deposit', timeoutMs, pollMs)
        }
        await settle(client, timeoutMs, pollMs)
        break
      }
      default:
        throw new Error(`unknown command ${JSON.stringify(command)}`)
    }
    return { result, ...snapshot(client) }
  } finally {
    await client.stop()
  }
}

async function main () {
  let input
  try {
    input = readInput()
  } catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, error: `bad input: ${e.message}` }) + '\n')
    process.exit(2)
  }
  try {
    const out = await run(input)
    process.stdout.write(JSON.stringify({ ok: true, command: input.command, ...out }) + '\n')
    process.exit(0) // pollers and sockets would otherwise keep the process alive
  } catch (e) {
    // the client throws plain objects ({status, message, body}) for HTTP errors
    const message = (e && (e.message || (e.status && `HTTP ${e.status}`))) || String(e)
    toStderr('driver error:', (e && e.stack) || JSON.stringify(e))
    process.stdout.write(JSON.stringify({ ok: false, command: input.command, error: message, status: e && e.status }) + '\n')
    process.exit(1)
  }
}

main()
