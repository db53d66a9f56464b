#!/usr/bin/env node
// Deterministic build of Spoke's contracts with the npm solc (wasm) compiler.
//
//   node contracts/build.js                      compile and write contracts/build/<Name>.json
//   node contracts/build.js --check              exit 1 if the committed artifacts are stale
//   node contracts/build.js --standard-json-input FILE
//                                                write the full standard-JSON input (all sources
//                                                inlined, OpenZeppelin included) for Slither
//
// Sources are every .sol file under contracts/ (not build/, tools/), in sorted order; imports of
// @openzeppelin/... resolve to this checkout's node_modules. Settings are fixed below.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const CONTRACTS_DIR = __dirname;
const REPO_ROOT = path.resolve(CONTRACTS_DIR, '..');
const NODE_MODULES = path.join(REPO_ROOT, 'node_modules');
const BUILD_DIR = path.join(CONTRACTS_DIR, 'build');
const SKIP_DIRS = new Set(['build', 'tools', 'node_modules']);

const solc = require(path.join(NODE_MODULES, 'solc'));

// Pinned: solc 0.8.37 defaults to osaka; anvil and mainnet run cancun bytecode.
const SETTINGS = {
  evmVersion: 'cancun',
  optimizer: { enabled: true, runs: 200 },
  viaIR: true,
  metadata: { bytecodeHash: 'ipfs' },
  outputSelection: {
    '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] },
  },
};

function projectSources() {
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) walk(path.join(dir, entry.name));
      } else if (entry.name.endsWith('.sol')) {
        found.push(path.join(dir, entry.name));
      }
    }
  };
  walk(CONTRACTS_DIR);
  // Source unit names are repo-relative ("contracts/ChannelManager.sol").
  return found.map((p) => path.relative(REPO_ROOT, p).split(path.sep).join('/')).sort();
}

// Resolve an import to a file: package imports from node_modules, others from the repo root.
function resolveImport(unitName) {
  if (unitName.startsWith('@openzeppelin/')) {
    return path.join(NODE_MODULES, unitName);
  }
  const candidate = path.join(REPO_ROOT, unitName);
  if (!candidate.startsWith(REPO_ROOT + path.sep)) {
    throw new Error(`import outside the repository: ${unitName}`);
  }
  return candidate;
}

function compile(sources) {
  const imported = {};
  const findImports = (unitName) => {
    try {
      const contents = fs.readFileSync(resolveImport(unitName), 'utf8');
      imported[unitName] = contents;
      return { contents };
    } catch (err) {
      return { error: `not found: ${unitName}` };
    }
  };
  const input = { language: 'Solidity', sources, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  for (const e of output.errors || []) {
    if (e.severity !== 'error') process.stderr.write(`${e.formattedMessage}\n`);
  }
  if (errors.length) {
    for (const e of errors) process.stderr.write(`${e.formattedMessage}\n`);
    throw new Error(`solc reported ${errors.length} error(s)`);
  }
  return { output, imported };
}

function sortedObject(obj) {
  const out = {};
  for (const key of Object.keys(obj).sort()) out[key] = obj[key];
  return out;
}

function build() {
  const units = projectSources();
  const sources = {};
  for (const unit of units) {
    sources[unit] = { content: fs.readFileSync(path.join(REPO_ROOT, unit), 'utf8') };
  }
  const { output, imported } = compile(sources);

  const allSources = sortedObject({
    ...Object.fromEntries(Object.entries(imported).map(([k, v]) => [k, v])),
    ...Object.fromEntries(units.map((u) => [u, sources[u].content])),
  });
  const hash = crypto.createHash('sha256');
  for (const [unit, content] of Object.entries(allSources)) {
    hash.update(unit);
    hash.update('\0');
    hash.update(content);
    hash.update('\0');
  }
  const sourceHash = hash.digest('hex');

  const artifacts = {};
  for (const unit of units) {
    const contracts = output.contracts[unit] || {};
    for (const name of Object.keys(contracts).sort()) {
      const c = contracts[name];
      if (artifacts[name]) throw new Error(`duplicate contract name ${name}`);
      // Abstract contracts and interfaces have no bytecode and are not deployable.
      if (!c.evm.bytecode.object) continue;
      artifacts[name] = {
        contractName: name,
        sourceName: unit,
        abi: c.abi,
        bytecode: '0x' + c.evm.bytecode.object,
        deployedBytecode: '0x' + c.evm.deployedBytecode.object,
        compiler: solc.version(),
        settings: SETTINGS,
        sourceHash,
      };
    }
  }
  return { artifacts, allSources };
}

function serialize(artifact) {
  return JSON.stringify(artifact, null, 2) + '\n';
}

function main(argv) {
  const { artifacts, allSources } = build();

  const jsonIdx = argv.indexOf('--standard-json-input');
  if (jsonIdx !== -1) {
    const target = argv[jsonIdx + 1];
    if (!target) throw new Error('--standard-json-input needs a file name');
    const input = {
      language: 'Solidity',
      sources: Object.fromEntries(Object.entries(allSources).map(([k, v]) => [k, { content: v }])),
      // Slither needs the AST and the usual outputs besides what the artifacts keep.
      settings: {
        ...SETTINGS,
        outputSelection: {
          '*': {
            '*': ['abi', 'metadata', 'devdoc', 'userdoc', 'evm.bytecode', 'evm.deployedBytecode'],
            '': ['ast'],
          },
        },
      },
    };
    fs.writeFileSync(path.resolve(target), JSON.stringify(input, null, 2) + '\n');
    return 0;
  }

  const expected = new Map(Object.entries(artifacts).map(([n, a]) => [`${n}.json`, serialize(a)]));
  const present = fs.existsSync(BUILD_DIR)
    ? fs.readdirSync(BUILD_DIR).filter((f) => f.endsWith('.json') && f !== 'slither-input.json')
    : [];

  if (argv.includes('--check')) {
    const stale = [];
    for (const [file, text] of expected) {
      const p = path.join(BUILD_DIR, file);
      if (!fs.existsSync(p) || fs.readFileSync(p, 'utf8') !== text) stale.push(file);
    }
    for (const file of present) if (!expected.has(file)) stale.push(`${file} (no longer built)`);
    if (stale.length) {
      process.stderr.write(`stale contract artifacts: ${stale.join(', ')}\nrun: node contracts/build.js\n`);
      return 1;
    }
    process.stdout.write(`artifacts up to date (${expected.size} contracts)\n`);
    return 0;
  }

  fs.mkdirSync(BUILD_DIR, { recursive: true });
  for (const file of present) if (!expected.has(file)) fs.unlinkSync(path.join(BUILD_DIR, file));
  for (const [file, text] of expected) fs.writeFileSync(path.join(BUILD_DIR, file), text);
  process.stdout.write(`wrote ${expected.size} artifacts to ${path.relative(process.cwd(), BUILD_DIR) || '.'}\n`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${err.message}\n`);
  process.exitCode = 2;
}
