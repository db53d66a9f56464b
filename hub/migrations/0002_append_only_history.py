"""Database-enforced rules the application must never be able to break:

- a signed state (`hub_channelupdate`) is immutable, except that the user's signature may be added
  once (NULL → value) and the row may be marked invalid once (NULL → value); rows are never
  deleted;
- ledger entries (`hub_ledgerentry`) are append-only: no UPDATE, no DELETE.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION spoke_channelupdate_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'signed channel states are never deleted' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF (to_jsonb(NEW) - ARRAY['sig_user','user_signed_at','invalid','invalidated_at','chain_transaction_id'])
     IS DISTINCT FROM
     (to_jsonb(OLD) - ARRAY['sig_user','user_signed_at','invalid','invalidated_at','chain_transaction_id']) THEN
    RAISE EXCEPTION 'signed channel state % is immutable', OLD.id USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF OLD.sig_user IS NOT NULL AND NEW.sig_user IS DISTINCT FROM OLD.sig_user THEN
    RAISE EXCEPTION 'the user signature of state % cannot be changed', OLD.id USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF OLD.invalid IS NOT NULL AND NEW.invalid IS DISTINCT FROM OLD.invalid THEN
    RAISE EXCEPTION 'state % is already invalid', OLD.id USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF OLD.chain_transaction_id IS NOT NULL AND NEW.chain_transaction_id IS DISTINCT FROM OLD.chain_transaction_id THEN
    RAISE EXCEPTION 'the transaction of state % cannot be changed', OLD.id USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER spoke_channelupdate_guard
  BEFORE UPDATE OR DELETE ON hub_channelupdate
  FOR EACH ROW EXECUTE FUNCTION spoke_channelupdate_guard();

CREATE OR REPLACE FUNCTION spoke_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER spoke_ledgerentry_append_only
  BEFORE UPDATE OR DELETE ON hub_ledgerentry
  FOR EACH ROW EXECUTE FUNCTION spoke_append_only();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS spoke_ledgerentry_append_only ON hub_ledgerentry;
DROP TRIGGER IF EXISTS spoke_channelupdate_guard ON hub_channelupdate;
DROP FUNCTION IF EXISTS spoke_append_only();
DROP FUNCTION IF EXISTS spoke_channelupdate_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("hub", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
