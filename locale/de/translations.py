# ruff: noqa: RUF001  (German typography: en dashes)
"""German texts of the dashboard, checkout and link pages, keyed by the English msgid.

`python locale/de/translations.py` writes them into locale/de/LC_MESSAGES/django.po (after
`manage.py makemessages -l de`) and compiles django.mo with msgfmt; a test checks the committed
.mo matches the .po. Kept as data so that a re-extraction does not lose them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DE: dict[str, str | tuple[str, str]] = {
    "Choose a date between 2000-01-01 and %(latest)s.": "Wählen Sie ein Datum zwischen 2000-01-01 und %(latest)s.",
    "The start date is after the end date.": "Das Anfangsdatum liegt nach dem Enddatum.",
    "Period": "Zeitraum",
    "Last 7 days": "Letzte 7 Tage",
    "Last 30 days": "Letzte 30 Tage",
    "Last 90 days": "Letzte 90 Tage",
    "Custom": "Eigener Zeitraum",
    "From": "Von",
    "To": "Bis",
    "Give both dates of a custom period.": "Geben Sie beide Daten des Zeitraums an.",
    "Choose dates between 2000-01-01 and %(latest)s.": "Wählen Sie Daten zwischen 2000-01-01 und %(latest)s.",
    "A period is at most %(days)s days.": "Ein Zeitraum umfasst höchstens %(days)s Tage.",
    "Metadata": "Metadaten",
    "key=value for an exact field, or any text in the metadata":
        "schlüssel=wert für ein genaues Feld oder beliebiger Text in den Metadaten",
    "The metadata search holds characters it cannot search for.":
        "Die Metadatensuche enthält Zeichen, nach denen nicht gesucht werden kann.",
    "A metadata key is 1 to 64 letters, digits, “_”, “.” or “-”.":
        "Ein Metadatenschlüssel besteht aus 1 bis 64 Buchstaben, Ziffern, „_“, „.“ oder „-“.",
    "State": "Status",
    "Any state": "Jeder Status",
    "Name": "Name",
    "Kind": "Art",
    "Secret (full access)": "Geheim (voller Zugriff)",
    "Restricted (the permissions below)": "Eingeschränkt (die Berechtigungen unten)",
    "Read-only": "Nur lesen",
    "None": "Keine",
    "Read": "Lesen",
    "Write": "Schreiben",
    "Give a restricted key at least one permission.":
        "Geben Sie einem eingeschränkten Schlüssel mindestens eine Berechtigung.",
    "Time zone": "Zeitzone",
    "An IANA name such as Europe/Berlin; the dashboard shows times and days in it":
        "Ein IANA-Name wie Europe/Berlin; das Dashboard zeigt Zeiten und Tage darin an",
    "Unknown time zone; choose one from the list, e.g. Europe/Berlin or UTC.":
        "Unbekannte Zeitzone; wählen Sie eine aus der Liste, z. B. Europe/Berlin oder UTC.",
    "new": "neu",
    "Set your payout address": "Auszahlungsadresse festlegen",
    "Where settlements pay your balance out on-chain.": "Dorthin zahlen Abrechnungen Ihr Guthaben on-chain aus.",
    "Create an API key": "API-Schlüssel erstellen",
    "Your shop backend uses it to create invoices.": "Ihr Shop-Backend erstellt damit Rechnungen.",
    "Add a webhook endpoint": "Webhook-Endpunkt hinzufügen",
    "Hear about payments as they happen.": "Erfahren Sie von Zahlungen, sobald sie eingehen.",
    "Create a test invoice": "Testrechnung erstellen",
    "See the checkout page your customers will see.": "Sehen Sie die Bezahlseite, die Ihre Kunden sehen.",
    "New payment": "Neue Zahlung",
    "Invoice created": "Rechnung erstellt",
    "Invoice paid": "Rechnung bezahlt",
    "Invoice overpaid": "Rechnung überbezahlt",
    "Invoice partially paid": "Rechnung teilweise bezahlt",
    "Invoice expired": "Rechnung abgelaufen",
    "Invoice paid late": "Rechnung verspätet bezahlt",
    "Invoice voided": "Rechnung storniert",
    "Settlement requested": "Abrechnung angefordert",
    "Settlement paid": "Abrechnung ausgezahlt",
    "Settlement failed": "Abrechnung fehlgeschlagen",
    "Refund started": "Erstattung begonnen",
    "Refund sent": "Erstattung gesendet",
    "Refund failed": "Erstattung fehlgeschlagen",
    "Link created": "Link erstellt",
    "Link redeemed": "Link eingelöst",
    "Link cancelled": "Link storniert",
    "Link expired": "Link abgelaufen",
    "%(days)s days": "%(days)s Tage",
    "The invoice was voided: its checkout page accepts no payment.":
        "Die Rechnung wurde storniert: Ihre Bezahlseite nimmt keine Zahlung mehr an.",
    "Amount": "Betrag",
    "Status": "Status",
    "When": "Wann",
    "Times are now shown in %(zone)s.": "Zeiten werden jetzt in %(zone)s angezeigt.",
    "Waiting for payment": "Warte auf Zahlung",
    "Partially paid": "Teilweise bezahlt",
    "Paid — thank you": "Bezahlt – vielen Dank",
    "Paid (more than the amount)": "Bezahlt (mehr als der Betrag)",
    "Expired": "Abgelaufen",
    "Paid (after expiry)": "Bezahlt (nach Ablauf)",
    "Cancelled by the merchant: do not pay": "Vom Händler storniert: bitte nicht bezahlen",
    "received %(received)s of %(amount)s": "%(received)s von %(amount)s erhalten",
    "%(time)s left": "noch %(time)s",
    "Permissions of a restricted key": "Berechtigungen eines eingeschränkten Schlüssels",
    "Each area: none, read, or write (write includes read). You cannot grant more than your own role holds.":
        "Je Bereich: keine, lesen oder schreiben (schreiben schließt lesen ein). Sie können nicht mehr "
        "vergeben, als Ihre eigene Rolle hat.",
    "Create key": "Schlüssel erstellen",
    "Permissions": "Berechtigungen",
    "all, write": "alle, schreiben",
    "all, read": "alle, lesen",
    "Home": "Übersicht",
    "Fiat at 1 ETH = %(rate)s DAI (%(when)s)": "Fiat zu 1 ETH = %(rate)s DAI (%(when)s)",
    "Get set up": "Einrichtung",
    "%(done)s of %(total)s done.": "%(done)s von %(total)s erledigt.",
    "done": "erledigt",
    "Balances": "Guthaben",
    "Volume": "Umsatz",
    "Custom period": "Eigener Zeitraum",
    "Show": "Anzeigen",
    "Unknown period": "Unbekannter Zeitraum",
    "%(days)s day": ("%(days)s Tag", "%(days)s Tage"),
    "compared with": "verglichen mit",
    "vs %(before)s before": "gegenüber %(before)s zuvor",
    "Payments": "Zahlungen",
    "Daily volume in dollars": "Tagesumsatz in Dollar",
    "One bar a day from %(start)s to %(end)s; the highest day is %(top)s. The same figures are in the table below.":
        "Ein Balken pro Tag vom %(start)s bis %(end)s; der höchste Tag ist %(top)s. Dieselben Zahlen "
        "stehen in der Tabelle darunter.",
    "Daily volume in dollars at the rate of each payment's time.":
        "Tagesumsatz in Dollar zum Kurs des Zeitpunkts jeder Zahlung.",
    "Show the figures as a table": "Zahlen als Tabelle anzeigen",
    "Daily volume": "Tagesumsatz",
    "Day": "Tag",
    "Latest payments": "Neueste Zahlungen",
    "All payments": "Alle Zahlungen",
    "Invoices": "Rechnungen",
    "Received": "Erhalten",
    "Remaining": "Offen",
    "Description": "Beschreibung",
    "Order id": "Bestellnummer",
    "Pay to": "Zahlen an",
    "Checkout page": "Bezahlseite",
    "Checkout link": "Link zur Bezahlseite",
    "Copy link": "Link kopieren",
    "Open the checkout page": "Bezahlseite öffnen",
    "Expires": "Läuft ab",
    "%(expires)s %(tz_name)s (late payments until %(late)s)": "%(expires)s %(tz_name)s (verspätete Zahlungen bis %(late)s)",
    "Paid": "Bezahlt",
    "Payments applied to this invoice": "Auf diese Rechnung angerechnete Zahlungen",
    "Payment": "Zahlung",
    "None yet.": "Noch keine.",
    "This invoice received %(amount)s more than it asked for (or it expired unpaid): the excess can go back to the payers.":
        "Diese Rechnung hat %(amount)s mehr erhalten als verlangt (oder ist unbezahlt abgelaufen): Der "
        "Überschuss kann an die Zahlenden zurückgehen.",
    "Refund %(amount)s to the payers of this invoice? The money leaves your balance.":
        "%(amount)s an die Zahlenden dieser Rechnung erstatten? Das Geld geht von Ihrem Guthaben ab.",
    "Refund excess": "Überschuss erstatten",
    "Refunding the excess: %(count)s refund(s) created; each payer is paid back off-chain, or on chain to its refund address when it paid on chain.":
        "Der Überschuss wird erstattet: %(count)s Erstattung(en) angelegt; jede zahlende Person erhält ihr Geld "
        "off-chain zurück, oder on-chain an ihre Erstattungsadresse, wenn sie on-chain bezahlt hat.",
    "Void this invoice? Its checkout page will accept no payment. This cannot be undone.":
        "Diese Rechnung stornieren? Ihre Bezahlseite nimmt dann keine Zahlung mehr an. Das lässt sich "
        "nicht rückgängig machen.",
    "Void invoice": "Rechnung stornieren",
    "Type": "Art",
    "Filter refunds": "Erstattungen filtern",
    "Apply": "Anwenden",
    "Reset": "Zurücksetzen",
    "Settlements": "Abrechnungen",
    "automatic": "automatisch",
    "Paid out to": "Ausgezahlt an",
    "Transaction": "Transaktion",
    "not broadcast yet": "noch nicht gesendet",
    "On-chain state": "Status on-chain",
    "block %(block)s": "Block %(block)s",
    "Created": "Erstellt",
    "Completed": "Abgeschlossen",
    "Why it failed": "Grund des Fehlschlags",
    "History": "Verlauf",
    "Filter settlements": "Abrechnungen filtern",
    "Settlement": "Abrechnung",
    "auto": "auto",
    "No settlements.": "Keine Abrechnungen.",
    "Save time zone": "Zeitzone speichern",
    "Times are shown in %(tz_name)s.": "Zeiten werden in %(tz_name)s angezeigt.",
    "Language": "Sprache",
    "Change language": "Sprache ändern",
    "Pay %(merchant_name)s – %(amount)s %(symbol)s": "%(merchant_name)s bezahlen – %(amount)s %(symbol)s",
    "Payment QR code": "QR-Code der Zahlung",
    "Invoice <code>%(id)s</code> — include it as <code>invoiceId</code> in the payment's meta.":
        "Rechnung <code>%(id)s</code> – geben Sie sie als <code>invoiceId</code> in den Metadaten der "
        "Zahlung an.",
    "Open in wallet": "In der Wallet öffnen",
    "Links": "Links",
    "Django site admin": "Django-Systemverwaltung",
    "Django administration": "Django-Verwaltung",
    "Payments are paused right now: please do not pay this invoice until they resume. Nothing you sent is lost; try again later.":
        "Zahlungen sind gerade angehalten: Bitte bezahlen Sie diese Rechnung erst, wenn sie wieder möglich sind. "
        "Nichts, was Sie gesendet haben, geht verloren; versuchen Sie es später erneut.",
    "Liquidity": "Liquidität",
    "Refunds": "Erstattungen",
    "Proof of funds": "Nachweis der Mittel",
    "API keys": "API-Schlüssel",
    "Webhooks": "Webhooks",
    "Team": "Team",
    "Export": "Export",
    "Audit log": "Prüfprotokoll",
    # the link page (linkpay)
    "Someone": "Jemand",
    "Ready to claim": "Bereit zum Einlösen",
    "Claimed: the payment is on its way": "Eingelöst: die Zahlung ist unterwegs",
    "Redeemed": "Eingelöst",
    "Cancelled by the sender": "Vom Absender storniert",
    "Expired: returned to the sender": "Abgelaufen: an den Absender zurückgegangen",
    "being sent…": "wird gesendet …",
    "Done: the payment was sent.": "Erledigt: die Zahlung wurde gesendet.",
    "The payment did not go through; you can claim again.":
        "Die Zahlung ist nicht durchgegangen; Sie können erneut einlösen.",
    "the zero address (0x000…000) belongs to nobody": "die Null-Adresse (0x000…000) gehört niemandem",
    "0x…dEaD is a burn address that belongs to nobody": "0x…dEaD ist eine Vernichtungsadresse, die niemandem gehört",
    "That is not an Ethereum address: it starts with 0x and has 40 more letters and digits (0-9, a-f).":
        "Das ist keine Ethereum-Adresse: sie beginnt mit 0x und hat 40 weitere Buchstaben und Ziffern (0-9, a-f).",
    "%(reason)s: anything sent there is lost for good. Enter the address of your own wallet.":
        "%(reason)s: alles, was dorthin gesendet wird, ist endgültig verloren. Geben Sie die Adresse Ihrer "
        "eigenen Wallet ein.",
    "Sending…": "Wird gesendet …",
    "The claim was refused.": "Die Einlösung wurde abgelehnt.",
    "Claimed: the payment is on its way to %(address)s.": "Eingelöst: die Zahlung ist unterwegs an %(address)s.",
    "Network error; try again.": "Netzwerkfehler; bitte erneut versuchen.",
    "Link copied.": "Link kopiert.",
    "Copy the address bar to hand it over.": "Kopieren Sie die Adresszeile, um den Link weiterzugeben.",
    "QR code of this link": "QR-Code dieses Links",
    "%(sender)s sent you %(amount)s": "%(sender)s hat Ihnen %(amount)s gesendet",
    '<span id="sender">%(sender)s</span> sent you <span class="amount" id="amount" title="%(exact)s">%(amount)s</span>':
        '<span id="sender">%(sender)s</span> hat Ihnen <span class="amount" id="amount" title="%(exact)s">%(amount)s'
        "</span> gesendet",
    "Status:": "Status:",
    "This link expired on": "Dieser Link ist abgelaufen am",
    'Claim it within <strong id="expires-in">%(expires_in)s</strong>: unclaimed, it returns to %(sender)s on':
        'Lösen Sie ihn innerhalb von <strong id="expires-in">%(expires_in)s</strong> ein: sonst geht er zurück an '
        "%(sender)s am",
    "This link is missing its secret (the part after “#”). Ask the sender for the full link.":
        "Diesem Link fehlt sein Geheimnis (der Teil nach „#“). Bitten Sie den Absender um den vollständigen Link.",
    "No wallet? Take it into a Spoke Card": "Keine Wallet? Übernehmen Sie das Geld in eine Spoke Card",
    "A Spoke Card is a wallet made in this browser in one tap: the money is in it at once, and you can pay with it, send it on or cash it out to any address later.":
        "Eine Spoke Card ist eine Wallet, die mit einem Tipp in diesem Browser entsteht: Das Geld ist sofort "
        "darin, und Sie können später damit bezahlen, es weitersenden oder an eine beliebige Adresse auszahlen.",
    "Redeem into a Spoke Card": "In eine Spoke Card einlösen",
    "Claim it to your Ethereum address": "An Ihre Ethereum-Adresse einlösen",
    "Your Ethereum address": "Ihre Ethereum-Adresse",
    "42 characters starting with 0x, copied from your wallet app.":
        "42 Zeichen, beginnend mit 0x, aus Ihrer Wallet-App kopiert.",
    "Continue": "Weiter",
    "Check the address: this cannot be undone": "Prüfen Sie die Adresse: das lässt sich nicht rückgängig machen",
    "You are about to send <strong>%(amount)s</strong> on the Ethereum blockchain to":
        "Sie senden gleich <strong>%(amount)s</strong> auf der Ethereum-Blockchain an",
    "Compare it character by character with the address in your wallet app. A payment to a wrong address cannot be reversed by anyone, Spoke included.":
        "Vergleichen Sie sie Zeichen für Zeichen mit der Adresse in Ihrer Wallet-App. Eine Zahlung an eine "
        "falsche Adresse kann niemand rückgängig machen, auch Spoke nicht.",
    "I checked: this is my address": "Geprüft: das ist meine Adresse",
    "Send it to this address": "An diese Adresse senden",
    "Change the address": "Adresse ändern",
    "No wallet yet? How to get an address": "Noch keine Wallet? So bekommen Sie eine Adresse",
    "Install a wallet app for Ethereum on your phone or browser (for example MetaMask, Rainbow or Coinbase Wallet) and create a wallet. Write down its recovery phrase and keep it private.":
        "Installieren Sie eine Wallet-App für Ethereum auf Ihrem Telefon oder im Browser (zum Beispiel "
        "MetaMask, Rainbow oder Coinbase Wallet) und legen Sie eine Wallet an. Schreiben Sie die "
        "Wiederherstellungsphrase auf und halten Sie sie geheim.",
    "In the app, choose “Receive” and copy your address: it starts with <code>0x</code> and has 42 characters.":
        "Wählen Sie in der App „Empfangen“ und kopieren Sie Ihre Adresse: sie beginnt mit <code>0x</code> "
        "und hat 42 Zeichen.",
    "Come back to this page (the link stays valid until the date above), paste the address and claim.":
        "Kommen Sie auf diese Seite zurück (der Link gilt bis zum Datum oben), fügen Sie die Adresse ein und "
        "lösen Sie ein.",
    "Keep this page's full link private until you have claimed: whoever has it can claim the money.":
        "Halten Sie den vollständigen Link dieser Seite geheim, bis Sie eingelöst haben: wer ihn hat, kann "
        "das Geld einlösen.",
    "Have a Connext wallet? Redeem the link there instead:": "Sie haben eine Connext-Wallet? Lösen Sie den Link dort ein:",
    "Open in my wallet": "In meiner Wallet öffnen",
    "Show QR code": "QR-Code anzeigen",
    "Where it went": "Wohin es ging",
    # the hosted checkout page (payments/invoices/views.py, templates/payments/checkout.html)
    "Paid (more than the amount) — thank you": "Bezahlt (mehr als der Betrag) – vielen Dank",
    "Paid (after expiry) — thank you": "Bezahlt (nach Ablauf) – vielen Dank",
    "Void": "Ungültig",
    "%(time)s left to pay": "Noch %(time)s zum Bezahlen",
    "Payment sent — waiting for the network to confirm it.":
        "Zahlung gesendet – warten auf die Bestätigung durch das Netzwerk.",
    "Received %(amount)s": "%(amount)s erhalten",
    "Still to pay": "Noch zu zahlen",
    "Pay %(amount)s with my wallet": "%(amount)s mit meiner Wallet bezahlen",
    "You cancelled in your wallet. Nothing was paid.": "Sie haben in Ihrer Wallet abgebrochen. Es wurde nichts bezahlt.",
    "No browser wallet found. Open this page in your wallet app's browser (scan the QR code), or install a wallet such as MetaMask.":
        "Keine Browser-Wallet gefunden. Öffnen Sie diese Seite im Browser Ihrer Wallet-App (scannen Sie den "
        "QR-Code) oder installieren Sie eine Wallet wie MetaMask.",
    "Connecting to your wallet…": "Verbindung zu Ihrer Wallet wird hergestellt …",
    "The wallet shared no account.": "Die Wallet hat kein Konto freigegeben.",
    "Switching your wallet to the right network…": "Ihre Wallet wird auf das richtige Netzwerk umgestellt …",
    "Preparing the payment…": "Die Zahlung wird vorbereitet …",
    "The payment could not be prepared.": "Die Zahlung konnte nicht vorbereitet werden.",
    "Step 1 of 2: allow the checkout to take exactly this amount (confirm in your wallet)…":
        "Schritt 1 von 2: erlauben Sie der Kasse, genau diesen Betrag abzubuchen (bestätigen Sie in Ihrer Wallet) …",
    "Step 2 of 2: confirm the payment in your wallet…": "Schritt 2 von 2: bestätigen Sie die Zahlung in Ihrer Wallet …",
    "Confirm the payment in your wallet…": "Bestätigen Sie die Zahlung in Ihrer Wallet …",
    "Payment sent (transaction %(tx)s). This page turns to Paid once the network confirms it.":
        "Zahlung gesendet (Transaktion %(tx)s). Diese Seite zeigt „Bezahlt“, sobald das Netzwerk sie bestätigt.",
    "Too many requests; try again in a moment.": "Zu viele Anfragen; versuchen Sie es gleich noch einmal.",
    "Pay %(merchant)s – %(amount)s": "%(merchant)s bezahlen – %(amount)s",
    "Payment to": "Zahlung an",
    "Received so far: <span id=\"received-amount\">%(received)s</span> of %(amount)s.":
        "Bisher erhalten: <span id=\"received-amount\">%(received)s</span> von %(amount)s.",
    "How would you like to pay?": "Wie möchten Sie bezahlen?",
    "Pay with a browser wallet": "Mit einer Browser-Wallet bezahlen",
    "MetaMask or any Ethereum wallet in this browser (or in your wallet app's browser). Your wallet shows the exact amount and the shop's address, fixed by us: you only confirm.":
        "MetaMask oder eine andere Ethereum-Wallet in diesem Browser (oder im Browser Ihrer Wallet-App). Ihre "
        "Wallet zeigt den genauen Betrag und die Adresse des Shops, von uns festgelegt: Sie bestätigen nur.",
    "Pay from a payment channel": "Aus einem Zahlungskanal bezahlen",
    "Instant and without a network fee if you already have a Spoke payment channel: pay this invoice from your channel wallet, or with the SDK:":
        "Sofort und ohne Netzwerkgebühr, wenn Sie bereits einen Spoke-Zahlungskanal haben: bezahlen Sie diese "
        "Rechnung aus Ihrer Kanal-Wallet oder mit dem SDK:",
    "The invoice number <code>%(id)s</code> identifies the payment.":
        "Die Rechnungsnummer <code>%(id)s</code> kennzeichnet die Zahlung.",
    "On your phone": "Auf Ihrem Telefon",
    "Scan this code to open this page on your phone, then pay from your wallet app's browser.":
        "Scannen Sie diesen Code, um diese Seite auf Ihrem Telefon zu öffnen, und bezahlen Sie dann im "
        "Browser Ihrer Wallet-App.",
    "QR code of this checkout page": "QR-Code dieser Bezahlseite",
    "Receipt": "Beleg",
    "Paid to": "Bezahlt an",
    "Paid at": "Bezahlt am",
    "Invoice": "Rechnung",
    "Order": "Bestellung",
    "Keep this page's address as your receipt.": "Bewahren Sie die Adresse dieser Seite als Beleg auf.",
    "This invoice has expired and can no longer be paid. Please return to the shop to start again.":
        "Diese Rechnung ist abgelaufen und kann nicht mehr bezahlt werden. Bitte kehren Sie zum Shop zurück, "
        "um neu zu beginnen.",
    "The shop has cancelled this invoice: it can no longer be paid. Please return to the shop if you still want to buy.":
        "Der Shop hat diese Rechnung storniert: sie kann nicht mehr bezahlt werden. Bitte kehren Sie zum Shop "
        "zurück, wenn Sie noch kaufen möchten.",
    "Return to %(merchant)s": "Zurück zu %(merchant)s",
    # dashboard pages: payment detail, links, webhooks, audit log, two-factor, sign-in
    "Every sensitive action in this account. Entries cannot be edited or deleted.":
        "Jede sensible Aktion in diesem Konto. Einträge können weder bearbeitet noch gelöscht werden.",
    "Action starts with": "Aktion beginnt mit",
    "Filter": "Filtern",
    "Action": "Aktion",
    "By": "Von",
    "Target": "Ziel",
    "Detail": "Details",
    "Nothing yet.": "Noch nichts.",
    "A link holds an amount from your custodial balance until someone opens its URL and claims it.":
        "Ein Link hält einen Betrag aus Ihrem verwahrten Guthaben, bis jemand seine URL öffnet und ihn einlöst.",
    "Create a link": "Einen Link erstellen",
    "Create link": "Link erstellen",
    "All": "Alle",
    "Link": "Link",
    "Note": "Notiz",
    "Actions": "Aktionen",
    "Cancel": "Stornieren",
    "No links.": "Keine Links.",
    "Sign in to your dashboard": "Beim Dashboard anmelden",
    "Set up two-factor sign-in": "Zwei-Faktor-Anmeldung einrichten",
    "Your team requires a second factor. Scan this code with an authenticator app (or type the key), then enter the 6-digit code it shows.":
        "Ihr Team verlangt einen zweiten Faktor. Scannen Sie diesen Code mit einer Authenticator-App (oder "
        "geben Sie den Schlüssel ein) und geben Sie dann den angezeigten 6-stelligen Code ein.",
    "Confirm and sign in": "Bestätigen und anmelden",
    "Two-factor code": "Zwei-Faktor-Code",
    "Enter your code": "Code eingeben",
    "Open your authenticator app and type the 6-digit code for Spoke.":
        "Öffnen Sie Ihre Authenticator-App und geben Sie den 6-stelligen Code für Spoke ein.",
    "Sign in": "Anmelden",
    "Start again": "Neu beginnen",
    "Refunded": "Erstattet",
    "Purchase": "Kauf",
    "Receipt: the signed channel state": "Beleg: der signierte Kanalzustand",
    "Download receipt (JSON)": "Beleg herunterladen (JSON)",
    "This payment was carried by a channel state that the payer signed and the hub countersigned. Either signature is a proof that can be checked by anyone, and the double-signed state can be enforced on-chain in the ChannelManager contract.":
        "Diese Zahlung wurde von einem Kanalzustand getragen, den der Zahler signiert und der Hub "
        "gegengezeichnet hat. Jede der Signaturen ist ein Nachweis, den jeder prüfen kann, und der doppelt "
        "signierte Zustand lässt sich on-chain im ChannelManager-Vertrag durchsetzen.",
    "(failed)": "(fehlgeschlagen)",
    "State fields, hash and signatures": "Zustandsfelder, Hash und Signaturen",
    "How to verify it yourself": "So prüfen Sie es selbst",
    "Refund to the payer": "An den Zahler erstatten",
    "Two-factor sign-in": "Zwei-Faktor-Anmeldung",
    "Your authenticator": "Ihr Authenticator",
    "On": "An",
    "Turn off": "Ausschalten",
    "Your team requires it, so it cannot be turned off.": "Ihr Team verlangt sie, daher kann sie nicht ausgeschaltet werden.",
    "Scan this code with an authenticator app (or type the key), then enter the 6-digit code it shows.":
        "Scannen Sie diesen Code mit einer Authenticator-App (oder geben Sie den Schlüssel ein) und geben Sie "
        "dann den angezeigten 6-stelligen Code ein.",
    "Turn on": "Einschalten",
    "Team policy": "Team-Richtlinie",
    "Make it optional": "Freiwillig machen",
    "Require it for everyone": "Für alle verlangen",
    "Events": "Ereignisse",
    "Enabled": "Aktiv",
    "Signing secret": "Signaturgeheimnis",
    "Reveal": "Anzeigen",
    "Send a test event": "Testereignis senden",
    "Rotate signing secret": "Signaturgeheimnis erneuern",
    "Delete endpoint": "Endpunkt löschen",
    "Edit endpoint": "Endpunkt bearbeiten",
    "Save": "Speichern",
    "Delivery log": "Zustellprotokoll",
    "Add an endpoint": "Einen Endpunkt hinzufügen",
    "Add endpoint": "Endpunkt hinzufügen",
    "Endpoints": "Endpunkte",
    "Endpoint": "Endpunkt",
    "No endpoints.": "Keine Endpunkte.",
    "Recent deliveries": "Letzte Zustellungen",
    "Itemised report (CSV): the payments, refunds and fees this settlement covers":
        "Aufstellung (CSV): die Zahlungen, Erstattungen und Gebühren, die diese Abrechnung umfasst",
    "Expires (%(tz_name)s)": "Läuft ab (%(tz_name)s)",
    "When (%(tz_name)s)": "Wann (%(tz_name)s)",
    "You sign in with your password and a code from your authenticator app.":
        "Sie melden sich mit Ihrem Passwort und einem Code aus Ihrer Authenticator-App an.",
    "Key:": "Schlüssel:",
    "Every member of %(merchant)s must use two-factor sign-in; members without an authenticator set one up at their next sign-in.":
        "Jedes Mitglied von %(merchant)s muss die Zwei-Faktor-Anmeldung nutzen; Mitglieder ohne Authenticator "
        "richten ihn bei der nächsten Anmeldung ein.",
    "Two-factor sign-in is optional for members of %(merchant)s.":
        "Die Zwei-Faktor-Anmeldung ist für Mitglieder von %(merchant)s freiwillig.",
    "Signed POSTs to your server for each event (HMAC-SHA256 over <code>timestamp.body</code>), retried for 3 days.":
        "Signierte POSTs an Ihren Server für jedes Ereignis (HMAC-SHA256 über <code>timestamp.body</code>), "
        "3 Tage lang wiederholt.",
    "Dashboard": "Dashboard",
    "Skip to content": "Zum Inhalt springen",
    "Menu": "Menü",
    "Merchant": "Händler",
    "Switch": "Wechseln",
    "Connecting…": "Verbinde …",
    "Sign out": "Abmelden",
    "Payments are paused by the Spoke operator: new payments to you are refused until they are turned back on. Your balances, settlements and refunds are not affected.":
        "Zahlungen sind vom Spoke-Betreiber angehalten: neue Zahlungen an Sie werden abgelehnt, bis sie wieder "
        "eingeschaltet sind. Ihre Guthaben, Abrechnungen und Erstattungen sind nicht betroffen.",
}

HERE = Path(__file__).resolve().parent
PO = HERE / "LC_MESSAGES" / "django.po"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _unquote(lines: list[str]) -> str:
    return "".join(re.fullmatch(r'"(.*)"', line.strip()).group(1)  # type: ignore[union-attr]
                   for line in lines).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def _unfuzzy(lines: list[str]) -> list[str]:
    """A block's lines without the fuzzy flag (alone or beside others, e.g. "#, fuzzy, python-format")
    and without the previous msgid makemessages guessed it from ("#| ..."): the text is ours."""
    out = []
    for line in lines:
        if line.startswith("#|"):
            continue
        if line.startswith("#,"):
            flags = [f.strip() for f in line[2:].split(",") if f.strip() != "fuzzy"]
            if not flags:
                continue
            line = "#, " + ", ".join(flags)
        out.append(line)
    return out


def fill(po_text: str) -> tuple[str, list[str]]:
    """The .po with every known msgstr filled (and the header's charset set); the msgids left
    without a German text."""
    out, missing = [], []
    for block in po_text.split("\n\n"):
        lines = block.split("\n")
        starts = {name: i for i, line in enumerate(lines) for name in ("msgid ", "msgid_plural ", "msgstr ", "msgstr[0] ")
                  if line.startswith(name)}
        if "msgid " not in starts:
            out.append(block)
            continue
        i = starts["msgid "]
        end = min(v for k, v in starts.items() if k != "msgid ")
        msgid = _unquote([lines[i][len("msgid "):], *lines[i + 1:end]])
        if msgid == "":
            out.append(block.replace("charset=CHARSET", "charset=UTF-8").replace("#, fuzzy\n", "")
                       .replace("PACKAGE VERSION", "Spoke").replace('"Language: \\n"', '"Language: de\\n"')
                       .replace("YEAR-MO-DA HO:MI+ZONE", "2026-12-06 00:00+0000")
                       .replace("FULL NAME <EMAIL@ADDRESS>", "Spoke <maintainers@example.com>")
                       .replace("LANGUAGE <LL@li.org>", "German")
                       .replace('"Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;\\n"',
                                '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"'))
            continue
        text = DE.get(msgid)
        if text is None:
            missing.append(msgid)
            out.append(block)
            continue
        if isinstance(text, tuple):
            head = _unfuzzy(lines[:starts["msgstr[0] "]])
            out.append("\n".join(head) + f"\nmsgstr[0] {_quote(text[0])}\nmsgstr[1] {_quote(text[1])}")
        else:
            head = _unfuzzy(lines[:end])
            out.append("\n".join(head) + f"\nmsgstr {_quote(text)}")
    return "\n\n".join(out), missing


def main() -> int:
    text, missing = fill(PO.read_text())
    PO.write_text(text if text.endswith("\n") else text + "\n")
    subprocess.run(["msgfmt", "--check", "-o", str(PO.with_suffix(".mo")), str(PO)], check=True)  # noqa: S603, S607
    for msgid in missing:
        print("no German text:", msgid[:80], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
