"""Admin registrations live beside their models, in sub-packages; imported here for Django."""

from __future__ import annotations

import hub.chain.admin
import hub.channels.admin
import hub.collateral.admin
import hub.disputes.admin
import hub.liabilities.admin
import hub.rates.admin  # noqa: F401
