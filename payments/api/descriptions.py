"""What each operation of /api/v1/ does, for the OpenAPI document (an operation may also set its
own `description` in its @extend_schema, which wins)."""

from __future__ import annotations

OPERATIONS = {
    "api_keys_list": "The merchant's API keys (never their secrets), newest first.",
    "api_keys_create": "Create a key. `secret` keys may do everything; `restricted` keys only "
                       "what `permissions` grants; `read_only` keys read everything. The "
                       "plaintext is in this answer only.",
    "api_keys_retrieve": "One API key (without its secret).",
    "api_keys_revoke": "Revoke a key: requests with it fail at once with `401 api_key_invalid`.",
    "api_keys_roll": "Replace a key: a new key with the same grants; the old one keeps working "
                     "for `expires_in_seconds` (default 24 h), then stops.",
    "balance_retrieve": "The custodial balance per asset: what the merchant has received and not "
                        "yet settled or refunded, and what is available to settle.",
    "events_list": "The merchant's events of the last 30 days, newest first, in the webhook "
                   "envelope. Filter with `type`.",
    "events_retrieve": "One event, exactly as it was delivered to webhook endpoints.",
    "invoices_list": "Invoices, newest first.",
    "invoices_create": "Create an invoice for an amount in one asset, or for a `price` in a fiat "
                       "`currency` (converted at the current rate, locked on the invoice); send the "
                       "customer to its `checkout_url`. Payments that name the invoice count towards it "
                       "until `late_payment_until`; `invoice.paid` (or `partially_paid`, `overpaid`, "
                       "`paid_late`, `expired`) follows. Late and over-payments are credited and flagged "
                       "(`amount_overpaid`, `amount_excess`, `paid_late`, `invoice.payment_flagged`); "
                       "`POST /invoices/{id}/refund_excess` gives the excess back.",
    "invoices_retrieve": "One invoice, with the payments that count towards it (`payments`).",
    "links_list": "Link payments the merchant created, newest first.",
    "links_create": "Fund a link payment from the custodial balance. The answer carries the link "
                    "`url` with its secret once; whoever opens it can claim the amount.",
    "links_retrieve": "One link payment (never its secret).",
    "links_cancel": "Cancel an unclaimed link: its amount returns to the custodial balance.",
    "payments_list": "Payments received at the merchant's receiving addresses, newest first. "
                     "Filter by `type`, `sender`, `purchase` or creation time.",
    "payments_retrieve": "One payment received, with the invoice it counts towards.",
    "refunds_list": "Refunds, newest first. Filter by `status` or `payment` (pay_…).",
    "refunds_create": "Refund a payment (what is left of it by default) to its payer from the "
                      "custodial balance. Paid back at once into the payer's channel (`method: "
                      "channel`), or as a link payment when the channel cannot receive it "
                      "(`method: link`: the link's `url` and `secret` are in this answer only).",
    "refunds_retrieve": "One refund (the same fields as the answer that created it, without a "
                        "link's url and secret).",
    "settlements_list": "Settlements (payouts to the payout address), newest first.",
    "settlements_create": "Pay the custodial balance of one asset (or `amount` of it) out "
                          "on-chain to the payout address (set with `POST /payout_settings`). "
                          "`settlement.paid` follows when the transaction is confirmed.",
    "settlements_retrieve": "One settlement, with its on-chain transaction.",
    "webhook_deliveries_list": "Webhook deliveries with every attempt, newest first. Filter by "
                               "`endpoint` or `status`.",
    "webhook_deliveries_retrieve": "One delivery with its attempts (request body, response "
                                   "status and its first 64 characters, duration, error).",
    "webhook_deliveries_redeliver": "Send the delivery's event to its endpoint again, as a new "
                                    "delivery with a fresh retry window. `409 "
                                    "delivery_not_redeliverable` when the endpoint is disabled.",
    "webhook_endpoints_list": "The merchant's webhook endpoints (never their secrets).",
    "webhook_endpoints_create": "Add an endpoint for the event types of `enabled_events` (GET "
                                "/event_types), or `[\"*\"]` for all. The signing secret "
                                "(`whsec_…`) is in this answer.",
    "webhook_endpoints_rotate_secret": "A new signing secret; the previous one keeps signing "
                                       "(a second `v1` in `Spoke-Signature`) for "
                                       "`expires_in_seconds` (default 24 h).",
}
