"""The Spoke Card (`/card/`): a wallet page whose key lives in the browser. The server serves the
page and relays a fixed set of JSON-RPC calls to the chain node (the page's CSP allows fetches to
our own origin only); it never sees the key: transactions arrive signed."""
