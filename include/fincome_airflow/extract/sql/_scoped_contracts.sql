-- The contracts of one load (a common table expression, included by subscriptions.sql,
-- plans.sql and products.sql): those referenced by the load's invoices (see invoices.sql: the
-- credited ones too), every contract updated since the watermark, and the contracts still
-- pending from earlier runs.
-- (Scopes are joined, not tested with IN (subquery) inside an OR: that plans as a nested loop.)
--
-- Parameters: month_start, month_end, watermark, pending_subscription_ids (contract numbers),
-- pending_invoice_ids (invoice numbers), pending_credit_note_ids (credit note numbers).
scoped_contracts AS (
  SELECT c0.contract_no
  FROM contracts AS c0
  WHERE c0.updated_at > :watermark
     OR c0.contract_no IN :pending_subscription_ids
  UNION
  SELECT i.contract_no
  FROM invoices AS i
  WHERE (i.invoice_date >= :month_start AND i.invoice_date < :month_end)
     OR i.updated_at > :watermark
     OR i.invoice_no IN :pending_invoice_ids
  UNION
  SELECT ci.contract_no
  FROM invoices AS ci
  JOIN (
    SELECT cn.invoice_no
    FROM credit_notes AS cn
    WHERE (cn.issue_date >= :month_start AND cn.issue_date < :month_end)
       OR cn.updated_at > :watermark
       OR cn.credit_note_no IN :pending_credit_note_ids
  ) AS credited ON credited.invoice_no = ci.invoice_no
)
