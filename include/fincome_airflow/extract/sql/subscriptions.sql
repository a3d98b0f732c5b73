-- Subscriptions (the ERP's contracts) of one load, ordered by contract number.
-- (Scopes are joined, not tested with IN (subquery) inside an OR: that plans as a nested loop.)
--
-- Scope: the contracts referenced by the load's invoices (see invoices.sql: the credited ones
-- too), every contract updated since the watermark, and the contracts still pending from
-- earlier runs.
-- ref_cust_no resolves the contract's customer in the ERP, ref_plan_code its plan (null when
-- not found).
--
-- Parameters: month_start, month_end, watermark, pending_ids (contract numbers),
-- pending_invoice_ids (invoice numbers), pending_credit_note_ids (credit note numbers).
WITH scope AS (
  SELECT c0.contract_no
  FROM contracts AS c0
  WHERE c0.updated_at > :watermark
     OR c0.contract_no IN :pending_ids
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
SELECT
  c.contract_no,
  c.cust_no,
  c.plan_code,
  c.status,
  c.start_date,
  c.end_date,
  c.terminated_on,
  c.currency,
  c.monthly_fee,
  c.updated_at,
  cu.cust_no AS ref_cust_no,
  pl.plan_code AS ref_plan_code
FROM contracts AS c
JOIN scope AS s ON s.contract_no = c.contract_no
LEFT JOIN customers AS cu ON cu.cust_no = c.cust_no
LEFT JOIN plans AS pl ON pl.plan_code = c.plan_code
ORDER BY c.contract_no
