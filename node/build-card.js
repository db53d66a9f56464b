// Builds the Card's vendored scripts (static/card/vendor/) from the packages package.json pins:
// ethers (keys, recovery phrases, keccak, signatures, transactions), qrcode-generator (QR codes)
// and jsqr (reading a QR code from a camera frame or a picture). No CDN: Django serves these
// files. Run `node node/build-card.js` after changing a version; tests/card/test_card_assets.py
// fails while the committed files differ from what this script builds.
'use strict'
const fs = require('fs')
const path = require('path')

const ROOT = path.resolve(__dirname, '..')
const OUT = path.join(ROOT, 'static', 'card', 'vendor')
const FILES = [
  // [package, file inside it, output name, how the page reaches it]
  ['ethers', 'dist/ethers.min.js', 'ethers.min.js', 'window.ethers'],
  ['qrcode-generator', 'dist/qrcode.js', 'qrcode.js', 'window.qrcode'],
  ['jsqr', 'dist/jsQR.js', 'jsQR.js', 'window.jsQR'],
]

function build() {
  const out = {}
  for (const [pkg, file, name, global] of FILES) {
    const dir = path.join(ROOT, 'node_modules', pkg)
    const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version
    const licence = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).license
    let body = fs.readFileSync(path.join(dir, file), 'utf8')
    // qrcode-generator declares a top-level `var qrcode` (a global in a classic script) and
    // ends with an AMD/CommonJS export that finds neither; nothing to change.
    const header = `/*! ${pkg}@${version} (${licence}) ${file}, built by node/build-card.js; exposes ${global} */\n`
    out[name] = header + body + (body.endsWith('\n') ? '' : '\n')
  }
  return out
}

if (require.main === module) {
  fs.mkdirSync(OUT, { recursive: true })
  const built = build()
  for (const [name, text] of Object.entries(built)) fs.writeFileSync(path.join(OUT, name), text)
  if (process.argv.includes('--print-names')) console.log(Object.keys(built).join('\n'))
}

module.exports = { build, OUT }
